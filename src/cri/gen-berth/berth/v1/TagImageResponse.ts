// Original file: proto/berth/v1/berth.proto


export interface TagImageResponse {
  'imageId'?: (string);
  'target'?: (string);
}

export interface TagImageResponse__Output {
  'imageId': (string);
  'target': (string);
}
