// Original file: proto/berth/v1/berth.proto


export interface UntagImageResponse {
  'imageId'?: (string);
  'imageRemoved'?: (boolean);
}

export interface UntagImageResponse__Output {
  'imageId': (string);
  'imageRemoved': (boolean);
}
