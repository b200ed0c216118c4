// Original file: proto/berth/v1/berth.proto


export interface UntagImageRequest {
  'reference'?: (string);
}

export interface UntagImageRequest__Output {
  'reference': (string);
}
