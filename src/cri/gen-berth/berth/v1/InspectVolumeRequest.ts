// Original file: proto/berth/v1/berth.proto


export interface InspectVolumeRequest {
  'name'?: (string);
}

export interface InspectVolumeRequest__Output {
  'name': (string);
}
