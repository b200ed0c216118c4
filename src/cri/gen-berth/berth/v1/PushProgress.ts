// Original file: proto/berth/v1/berth.proto

import type { Long } from '@grpc/proto-loader';

export interface PushProgress {
  'digest'?: (string);
  'kind'?: (string);
  'total'?: (number | string | Long);
  'current'?: (number | string | Long);
  'status'?: (string);
  'done'?: (boolean);
  'manifestDigest'?: (string);
  'reference'?: (string);
}

export interface PushProgress__Output {
  'digest': (string);
  'kind': (string);
  'total': (string);
  'current': (string);
  'status': (string);
  'done': (boolean);
  'manifestDigest': (string);
  'reference': (string);
}
