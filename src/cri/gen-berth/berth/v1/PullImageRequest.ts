// Original file: proto/berth/v1/berth.proto

import type { AuthConfig as _berth_v1_AuthConfig, AuthConfig__Output as _berth_v1_AuthConfig__Output } from '../../berth/v1/AuthConfig';
import type { Platform as _berth_v1_Platform, Platform__Output as _berth_v1_Platform__Output } from '../../berth/v1/Platform';

export interface PullImageRequest {
  'image'?: (string);
  'auth'?: (_berth_v1_AuthConfig | null);
  'platform'?: (_berth_v1_Platform | null);
}

export interface PullImageRequest__Output {
  'image': (string);
  'auth': (_berth_v1_AuthConfig__Output | null);
  'platform': (_berth_v1_Platform__Output | null);
}
