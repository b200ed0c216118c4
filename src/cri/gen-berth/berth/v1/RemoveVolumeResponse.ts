// Original file: proto/berth/v1/berth.proto


export interface RemoveVolumeResponse {
  'removed'?: (boolean);
}

export interface RemoveVolumeResponse__Output {
  'removed': (boolean);
}
