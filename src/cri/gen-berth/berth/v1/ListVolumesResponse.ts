// Original file: proto/berth/v1/berth.proto

import type { Volume as _berth_v1_Volume, Volume__Output as _berth_v1_Volume__Output } from '../../berth/v1/Volume';

export interface ListVolumesResponse {
  'volumes'?: (_berth_v1_Volume)[];
}

export interface ListVolumesResponse__Output {
  'volumes': (_berth_v1_Volume__Output)[];
}
