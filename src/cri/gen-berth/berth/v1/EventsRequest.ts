// Original file: proto/berth/v1/berth.proto

import type { EventType as _berth_v1_EventType, EventType__Output as _berth_v1_EventType__Output } from '../../berth/v1/EventType';

export interface EventsRequest {
  'types'?: (_berth_v1_EventType)[];
  'actions'?: (string)[];
  'ids'?: (string)[];
}

export interface EventsRequest__Output {
  'types': (_berth_v1_EventType__Output)[];
  'actions': (string)[];
  'ids': (string)[];
}
