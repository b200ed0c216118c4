// Original file: proto/berth/v1/berth.proto

import type { EventType as _berth_v1_EventType, EventType__Output as _berth_v1_EventType__Output } from '../../berth/v1/EventType';
import type { Long } from '@grpc/proto-loader';

export interface Event {
  'time'?: (number | string | Long);
  'type'?: (_berth_v1_EventType);
  'action'?: (string);
  'id'?: (string);
  'attributes'?: ({[key: string]: string});
}

export interface Event__Output {
  'time': (string);
  'type': (_berth_v1_EventType__Output);
  'action': (string);
  'id': (string);
  'attributes': ({[key: string]: string});
}
