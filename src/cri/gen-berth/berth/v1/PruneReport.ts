// Original file: proto/berth/v1/berth.proto

import type { Long } from '@grpc/proto-loader';

export interface PruneReport {
  'removedImages'?: (string)[];
  'removedContainers'?: (string)[];
  'removedPods'?: (string)[];
  'reclaimedBytes'?: (number | string | Long);
  'removedVolumes'?: (string)[];
}

export interface PruneReport__Output {
  'removedImages': (string)[];
  'removedContainers': (string)[];
  'removedPods': (string)[];
  'reclaimedBytes': (string);
  'removedVolumes': (string)[];
}
