// Original file: proto/berth/v1/berth.proto


export interface TagImageRequest {
  'source'?: (string);
  'target'?: (string);
}

export interface TagImageRequest__Output {
  'source': (string);
  'target': (string);
}
