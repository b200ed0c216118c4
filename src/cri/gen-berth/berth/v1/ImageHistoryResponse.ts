// Original file: proto/berth/v1/berth.proto

import type { HistoryEntry as _berth_v1_HistoryEntry, HistoryEntry__Output as _berth_v1_HistoryEntry__Output } from '../../berth/v1/HistoryEntry';

export interface ImageHistoryResponse {
  'imageId'?: (string);
  'entries'?: (_berth_v1_HistoryEntry)[];
}

export interface ImageHistoryResponse__Output {
  'imageId': (string);
  'entries': (_berth_v1_HistoryEntry__Output)[];
}
