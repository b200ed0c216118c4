// Original file: proto/berth/v1/berth.proto


export interface AuthConfig {
  'username'?: (string);
  'password'?: (string);
  'identityToken'?: (string);
  'registryToken'?: (string);
}

export interface AuthConfig__Output {
  'username': (string);
  'password': (string);
  'identityToken': (string);
  'registryToken': (string);
}
