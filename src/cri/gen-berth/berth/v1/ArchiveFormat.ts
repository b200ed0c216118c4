// Original file: proto/berth/v1/berth.proto

export const ArchiveFormat = {
  DOCKER_ARCHIVE: 'DOCKER_ARCHIVE',
  OCI_ARCHIVE: 'OCI_ARCHIVE',
} as const;

export type ArchiveFormat =
  | 'DOCKER_ARCHIVE'
  | 0
  | 'OCI_ARCHIVE'
  | 1

export type ArchiveFormat__Output = typeof ArchiveFormat[keyof typeof ArchiveFormat]
