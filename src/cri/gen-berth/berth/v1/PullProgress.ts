// Original file: proto/berth/v1/berth.proto

import type { Long } from '@grpc/proto-loader';

export interface PullProgress {
  'digest'?: (string);
  'total'?: (number | string | Long);
  'current'?: (number | string | Long);
  'status'?: (string);
  'done'?: (boolean);
  'imageId'?: (string);
  'reference'?: (string);
}

export interface PullProgress__Output {
  'digest': (string);
  'total': (string);
  'current': (string);
  'status': (string);
  'done': (boolean);
  'imageId': (string);
  'reference': (string);
}
