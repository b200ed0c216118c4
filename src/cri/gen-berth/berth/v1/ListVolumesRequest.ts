// Original file: proto/berth/v1/berth.proto


export interface ListVolumesRequest {
}

export interface ListVolumesRequest__Output {
}
