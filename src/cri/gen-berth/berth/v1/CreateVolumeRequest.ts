// Original file: proto/berth/v1/berth.proto


export interface CreateVolumeRequest {
  'name'?: (string);
  'labels'?: ({[key: string]: string});
}

export interface CreateVolumeRequest__Output {
  'name': (string);
  'labels': ({[key: string]: string});
}
