// Original file: proto/berth/v1/berth.proto


export interface ProcessOverrides {
  'user'?: (string);
  'workdir'?: (string);
  'env'?: (string)[];
}

export interface ProcessOverrides__Output {
  'user': (string);
  'workdir': (string);
  'env': (string)[];
}
