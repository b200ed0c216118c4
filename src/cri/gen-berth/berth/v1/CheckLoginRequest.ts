// Original file: proto/berth/v1/berth.proto

import type { AuthConfig as _berth_v1_AuthConfig, AuthConfig__Output as _berth_v1_AuthConfig__Output } from '../../berth/v1/AuthConfig';

export interface CheckLoginRequest {
  'registry'?: (string);
  'auth'?: (_berth_v1_AuthConfig | null);
}

export interface CheckLoginRequest__Output {
  'registry': (string);
  'auth': (_berth_v1_AuthConfig__Output | null);
}
