// Original file: proto/berth/v1/berth.proto


export interface ImageHistoryRequest {
  'image'?: (string);
}

export interface ImageHistoryRequest__Output {
  'image': (string);
}
