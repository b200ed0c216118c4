// Original file: proto/berth/v1/berth.proto

import type { ProcessOverrides as _berth_v1_ProcessOverrides, ProcessOverrides__Output as _berth_v1_ProcessOverrides__Output } from '../../berth/v1/ProcessOverrides';
import type { Long } from '@grpc/proto-loader';

export interface ExecSyncRequest {
  'containerId'?: (string);
  'cmd'?: (string)[];
  'timeout'?: (number | string | Long);
  'process'?: (_berth_v1_ProcessOverrides | null);
}

export interface ExecSyncRequest__Output {
  'containerId': (string);
  'cmd': (string)[];
  'timeout': (string);
  'process': (_berth_v1_ProcessOverrides__Output | null);
}
