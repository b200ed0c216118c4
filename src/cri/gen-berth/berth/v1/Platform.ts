// Original file: proto/berth/v1/berth.proto


export interface Platform {
  'os'?: (string);
  'architecture'?: (string);
  'variant'?: (string);
}

export interface Platform__Output {
  'os': (string);
  'architecture': (string);
  'variant': (string);
}
