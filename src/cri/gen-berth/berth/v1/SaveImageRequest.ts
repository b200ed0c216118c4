// Original file: proto/berth/v1/berth.proto

import type { ArchiveFormat as _berth_v1_ArchiveFormat, ArchiveFormat__Output as _berth_v1_ArchiveFormat__Output } from '../../berth/v1/ArchiveFormat';

export interface SaveImageRequest {
  'images'?: (string)[];
  'format'?: (_berth_v1_ArchiveFormat);
}

export interface SaveImageRequest__Output {
  'images': (string)[];
  'format': (_berth_v1_ArchiveFormat__Output);
}
