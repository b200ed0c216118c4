// Original file: proto/berth/v1/berth.proto


export interface CheckLoginResponse {
  'endpoint'?: (string);
}

export interface CheckLoginResponse__Output {
  'endpoint': (string);
}
