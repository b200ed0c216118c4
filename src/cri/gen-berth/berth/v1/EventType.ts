// Original file: proto/berth/v1/berth.proto

export const EventType = {
  EVENT_TYPE_UNSPECIFIED: 'EVENT_TYPE_UNSPECIFIED',
  CONTAINER: 'CONTAINER',
  POD: 'POD',
  IMAGE: 'IMAGE',
} as const;

export type EventType =
  | 'EVENT_TYPE_UNSPECIFIED'
  | 0
  | 'CONTAINER'
  | 1
  | 'POD'
  | 2
  | 'IMAGE'
  | 3

export type EventType__Output = typeof EventType[keyof typeof EventType]
