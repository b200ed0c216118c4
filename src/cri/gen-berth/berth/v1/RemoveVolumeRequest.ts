// Original file: proto/berth/v1/berth.proto


export interface RemoveVolumeRequest {
  'name'?: (string);
  'force'?: (boolean);
}

export interface RemoveVolumeRequest__Output {
  'name': (string);
  'force': (boolean);
}
