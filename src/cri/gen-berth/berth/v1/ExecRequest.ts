// Original file: proto/berth/v1/berth.proto

import type { ProcessOverrides as _berth_v1_ProcessOverrides, ProcessOverrides__Output as _berth_v1_ProcessOverrides__Output } from '../../berth/v1/ProcessOverrides';

export interface ExecRequest {
  'containerId'?: (string);
  'cmd'?: (string)[];
  'tty'?: (boolean);
  'stdin'?: (boolean);
  'stdout'?: (boolean);
  'stderr'?: (boolean);
  'process'?: (_berth_v1_ProcessOverrides | null);
}

export interface ExecRequest__Output {
  'containerId': (string);
  'cmd': (string)[];
  'tty': (boolean);
  'stdin': (boolean);
  'stdout': (boolean);
  'stderr': (boolean);
  'process': (_berth_v1_ProcessOverrides__Output | null);
}
