// Original file: proto/berth/v1/berth.proto


export interface LoadedImage {
  'id'?: (string);
  'tags'?: (string)[];
}

export interface LoadedImage__Output {
  'id': (string);
  'tags': (string)[];
}
