// Original file: proto/berth/v1/berth.proto


export interface Volume {
  'name'?: (string);
  'mountpoint'?: (string);
  'createdAt'?: (string);
  'labels'?: ({[key: string]: string});
  'usedBy'?: (string)[];
}

export interface Volume__Output {
  'name': (string);
  'mountpoint': (string);
  'createdAt': (string);
  'labels': ({[key: string]: string});
  'usedBy': (string)[];
}
