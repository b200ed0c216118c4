// Original file: proto/berth/v1/berth.proto

import type { Long } from '@grpc/proto-loader';

export interface HistoryEntry {
  'layer'?: (string);
  'created'?: (string);
  'createdBy'?: (string);
  'author'?: (string);
  'comment'?: (string);
  'emptyLayer'?: (boolean);
  'size'?: (number | string | Long);
}

export interface HistoryEntry__Output {
  'layer': (string);
  'created': (string);
  'createdBy': (string);
  'author': (string);
  'comment': (string);
  'emptyLayer': (boolean);
  'size': (string);
}
