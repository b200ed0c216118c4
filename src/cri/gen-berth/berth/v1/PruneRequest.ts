// Original file: proto/berth/v1/berth.proto


// Original file: proto/berth/v1/berth.proto

export const _berth_v1_PruneRequest_ImagePrune = {
  IMAGES_NONE: 'IMAGES_NONE',
  DANGLING: 'DANGLING',
  ALL_UNUSED: 'ALL_UNUSED',
} as const;

export type _berth_v1_PruneRequest_ImagePrune =
  | 'IMAGES_NONE'
  | 0
  | 'DANGLING'
  | 1
  | 'ALL_UNUSED'
  | 2

export type _berth_v1_PruneRequest_ImagePrune__Output = typeof _berth_v1_PruneRequest_ImagePrune[keyof typeof _berth_v1_PruneRequest_ImagePrune]

export interface PruneRequest {
  'images'?: (_berth_v1_PruneRequest_ImagePrune);
  'containers'?: (boolean);
  'pods'?: (boolean);
  'volumes'?: (boolean);
}

export interface PruneRequest__Output {
  'images': (_berth_v1_PruneRequest_ImagePrune__Output);
  'containers': (boolean);
  'pods': (boolean);
  'volumes': (boolean);
}
