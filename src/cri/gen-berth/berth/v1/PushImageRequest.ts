// Original file: proto/berth/v1/berth.proto

import type { AuthConfig as _berth_v1_AuthConfig, AuthConfig__Output as _berth_v1_AuthConfig__Output } from '../../berth/v1/AuthConfig';

export interface PushImageRequest {
  'image'?: (string);
  'target'?: (string);
  'auth'?: (_berth_v1_AuthConfig | null);
}

export interface PushImageRequest__Output {
  'image': (string);
  'target': (string);
  'auth': (_berth_v1_AuthConfig__Output | null);
}
