// Original file: proto/berth/v1/berth.proto

import type { LoadedImage as _berth_v1_LoadedImage, LoadedImage__Output as _berth_v1_LoadedImage__Output } from '../../berth/v1/LoadedImage';

export interface LoadResponse {
  'images'?: (_berth_v1_LoadedImage)[];
}

export interface LoadResponse__Output {
  'images': (_berth_v1_LoadedImage__Output)[];
}
