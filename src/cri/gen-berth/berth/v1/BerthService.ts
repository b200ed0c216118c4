// Original file: proto/berth/v1/berth.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CheckLoginRequest as _berth_v1_CheckLoginRequest, CheckLoginRequest__Output as _berth_v1_CheckLoginRequest__Output } from '../../berth/v1/CheckLoginRequest';
import type { CheckLoginResponse as _berth_v1_CheckLoginResponse, CheckLoginResponse__Output as _berth_v1_CheckLoginResponse__Output } from '../../berth/v1/CheckLoginResponse';
import type { Chunk as _berth_v1_Chunk, Chunk__Output as _berth_v1_Chunk__Output } from '../../berth/v1/Chunk';
import type { CreateVolumeRequest as _berth_v1_CreateVolumeRequest, CreateVolumeRequest__Output as _berth_v1_CreateVolumeRequest__Output } from '../../berth/v1/CreateVolumeRequest';
import type { Event as _berth_v1_Event, Event__Output as _berth_v1_Event__Output } from '../../berth/v1/Event';
import type { EventsRequest as _berth_v1_EventsRequest, EventsRequest__Output as _berth_v1_EventsRequest__Output } from '../../berth/v1/EventsRequest';
import type { ExecRequest as _berth_v1_ExecRequest, ExecRequest__Output as _berth_v1_ExecRequest__Output } from '../../berth/v1/ExecRequest';
import type { ExecResponse as _berth_v1_ExecResponse, ExecResponse__Output as _berth_v1_ExecResponse__Output } from '../../berth/v1/ExecResponse';
import type { ExecSyncRequest as _berth_v1_ExecSyncRequest, ExecSyncRequest__Output as _berth_v1_ExecSyncRequest__Output } from '../../berth/v1/ExecSyncRequest';
import type { ExecSyncResponse as _berth_v1_ExecSyncResponse, ExecSyncResponse__Output as _berth_v1_ExecSyncResponse__Output } from '../../berth/v1/ExecSyncResponse';
import type { ImageHistoryRequest as _berth_v1_ImageHistoryRequest, ImageHistoryRequest__Output as _berth_v1_ImageHistoryRequest__Output } from '../../berth/v1/ImageHistoryRequest';
import type { ImageHistoryResponse as _berth_v1_ImageHistoryResponse, ImageHistoryResponse__Output as _berth_v1_ImageHistoryResponse__Output } from '../../berth/v1/ImageHistoryResponse';
import type { InspectVolumeRequest as _berth_v1_InspectVolumeRequest, InspectVolumeRequest__Output as _berth_v1_InspectVolumeRequest__Output } from '../../berth/v1/InspectVolumeRequest';
import type { ListVolumesRequest as _berth_v1_ListVolumesRequest, ListVolumesRequest__Output as _berth_v1_ListVolumesRequest__Output } from '../../berth/v1/ListVolumesRequest';
import type { ListVolumesResponse as _berth_v1_ListVolumesResponse, ListVolumesResponse__Output as _berth_v1_ListVolumesResponse__Output } from '../../berth/v1/ListVolumesResponse';
import type { LoadResponse as _berth_v1_LoadResponse, LoadResponse__Output as _berth_v1_LoadResponse__Output } from '../../berth/v1/LoadResponse';
import type { PruneReport as _berth_v1_PruneReport, PruneReport__Output as _berth_v1_PruneReport__Output } from '../../berth/v1/PruneReport';
import type { PruneRequest as _berth_v1_PruneRequest, PruneRequest__Output as _berth_v1_PruneRequest__Output } from '../../berth/v1/PruneRequest';
import type { PullImageRequest as _berth_v1_PullImageRequest, PullImageRequest__Output as _berth_v1_PullImageRequest__Output } from '../../berth/v1/PullImageRequest';
import type { PullProgress as _berth_v1_PullProgress, PullProgress__Output as _berth_v1_PullProgress__Output } from '../../berth/v1/PullProgress';
import type { PushImageRequest as _berth_v1_PushImageRequest, PushImageRequest__Output as _berth_v1_PushImageRequest__Output } from '../../berth/v1/PushImageRequest';
import type { PushProgress as _berth_v1_PushProgress, PushProgress__Output as _berth_v1_PushProgress__Output } from '../../berth/v1/PushProgress';
import type { RemoveVolumeRequest as _berth_v1_RemoveVolumeRequest, RemoveVolumeRequest__Output as _berth_v1_RemoveVolumeRequest__Output } from '../../berth/v1/RemoveVolumeRequest';
import type { RemoveVolumeResponse as _berth_v1_RemoveVolumeResponse, RemoveVolumeResponse__Output as _berth_v1_RemoveVolumeResponse__Output } from '../../berth/v1/RemoveVolumeResponse';
import type { SaveImageRequest as _berth_v1_SaveImageRequest, SaveImageRequest__Output as _berth_v1_SaveImageRequest__Output } from '../../berth/v1/SaveImageRequest';
import type { TagImageRequest as _berth_v1_TagImageRequest, TagImageRequest__Output as _berth_v1_TagImageRequest__Output } from '../../berth/v1/TagImageRequest';
import type { TagImageResponse as _berth_v1_TagImageResponse, TagImageResponse__Output as _berth_v1_TagImageResponse__Output } from '../../berth/v1/TagImageResponse';
import type { UntagImageRequest as _berth_v1_UntagImageRequest, UntagImageRequest__Output as _berth_v1_UntagImageRequest__Output } from '../../berth/v1/UntagImageRequest';
import type { UntagImageResponse as _berth_v1_UntagImageResponse, UntagImageResponse__Output as _berth_v1_UntagImageResponse__Output } from '../../berth/v1/UntagImageResponse';
import type { Volume as _berth_v1_Volume, Volume__Output as _berth_v1_Volume__Output } from '../../berth/v1/Volume';

export interface BerthServiceClient extends grpc.Client {
  CheckLogin(argument: _berth_v1_CheckLoginRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CheckLoginResponse__Output>): grpc.ClientUnaryCall;
  CheckLogin(argument: _berth_v1_CheckLoginRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_CheckLoginResponse__Output>): grpc.ClientUnaryCall;
  CheckLogin(argument: _berth_v1_CheckLoginRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CheckLoginResponse__Output>): grpc.ClientUnaryCall;
  CheckLogin(argument: _berth_v1_CheckLoginRequest, callback: grpc.requestCallback<_berth_v1_CheckLoginResponse__Output>): grpc.ClientUnaryCall;
  checkLogin(argument: _berth_v1_CheckLoginRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CheckLoginResponse__Output>): grpc.ClientUnaryCall;
  checkLogin(argument: _berth_v1_CheckLoginRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_CheckLoginResponse__Output>): grpc.ClientUnaryCall;
  checkLogin(argument: _berth_v1_CheckLoginRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CheckLoginResponse__Output>): grpc.ClientUnaryCall;
  checkLogin(argument: _berth_v1_CheckLoginRequest, callback: grpc.requestCallback<_berth_v1_CheckLoginResponse__Output>): grpc.ClientUnaryCall;
  
  CreateVolume(argument: _berth_v1_CreateVolumeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  CreateVolume(argument: _berth_v1_CreateVolumeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  CreateVolume(argument: _berth_v1_CreateVolumeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  CreateVolume(argument: _berth_v1_CreateVolumeRequest, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  createVolume(argument: _berth_v1_CreateVolumeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  createVolume(argument: _berth_v1_CreateVolumeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  createVolume(argument: _berth_v1_CreateVolumeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  createVolume(argument: _berth_v1_CreateVolumeRequest, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  
  Events(argument: _berth_v1_EventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  Events(argument: _berth_v1_EventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  events(argument: _berth_v1_EventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  events(argument: _berth_v1_EventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  
  Exec(argument: _berth_v1_ExecRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ExecResponse__Output>): grpc.ClientUnaryCall;
  Exec(argument: _berth_v1_ExecRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ExecResponse__Output>): grpc.ClientUnaryCall;
  Exec(argument: _berth_v1_ExecRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ExecResponse__Output>): grpc.ClientUnaryCall;
  Exec(argument: _berth_v1_ExecRequest, callback: grpc.requestCallback<_berth_v1_ExecResponse__Output>): grpc.ClientUnaryCall;
  exec(argument: _berth_v1_ExecRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ExecResponse__Output>): grpc.ClientUnaryCall;
  exec(argument: _berth_v1_ExecRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ExecResponse__Output>): grpc.ClientUnaryCall;
  exec(argument: _berth_v1_ExecRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ExecResponse__Output>): grpc.ClientUnaryCall;
  exec(argument: _berth_v1_ExecRequest, callback: grpc.requestCallback<_berth_v1_ExecResponse__Output>): grpc.ClientUnaryCall;
  
  ExecSync(argument: _berth_v1_ExecSyncRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ExecSyncResponse__Output>): grpc.ClientUnaryCall;
  ExecSync(argument: _berth_v1_ExecSyncRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ExecSyncResponse__Output>): grpc.ClientUnaryCall;
  ExecSync(argument: _berth_v1_ExecSyncRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ExecSyncResponse__Output>): grpc.ClientUnaryCall;
  ExecSync(argument: _berth_v1_ExecSyncRequest, callback: grpc.requestCallback<_berth_v1_ExecSyncResponse__Output>): grpc.ClientUnaryCall;
  execSync(argument: _berth_v1_ExecSyncRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ExecSyncResponse__Output>): grpc.ClientUnaryCall;
  execSync(argument: _berth_v1_ExecSyncRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ExecSyncResponse__Output>): grpc.ClientUnaryCall;
  execSync(argument: _berth_v1_ExecSyncRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ExecSyncResponse__Output>): grpc.ClientUnaryCall;
  execSync(argument: _berth_v1_ExecSyncRequest, callback: grpc.requestCallback<_berth_v1_ExecSyncResponse__Output>): grpc.ClientUnaryCall;
  
  ImageHistory(argument: _berth_v1_ImageHistoryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  ImageHistory(argument: _berth_v1_ImageHistoryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  ImageHistory(argument: _berth_v1_ImageHistoryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  ImageHistory(argument: _berth_v1_ImageHistoryRequest, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  imageHistory(argument: _berth_v1_ImageHistoryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  imageHistory(argument: _berth_v1_ImageHistoryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  imageHistory(argument: _berth_v1_ImageHistoryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  imageHistory(argument: _berth_v1_ImageHistoryRequest, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  
  InspectVolume(argument: _berth_v1_InspectVolumeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  InspectVolume(argument: _berth_v1_InspectVolumeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  InspectVolume(argument: _berth_v1_InspectVolumeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  InspectVolume(argument: _berth_v1_InspectVolumeRequest, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  inspectVolume(argument: _berth_v1_InspectVolumeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  inspectVolume(argument: _berth_v1_InspectVolumeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  inspectVolume(argument: _berth_v1_InspectVolumeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  inspectVolume(argument: _berth_v1_InspectVolumeRequest, callback: grpc.requestCallback<_berth_v1_Volume__Output>): grpc.ClientUnaryCall;
  
  ListVolumes(argument: _berth_v1_ListVolumesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListVolumesResponse__Output>): grpc.ClientUnaryCall;
  ListVolumes(argument: _berth_v1_ListVolumesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListVolumesResponse__Output>): grpc.ClientUnaryCall;
  ListVolumes(argument: _berth_v1_ListVolumesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListVolumesResponse__Output>): grpc.ClientUnaryCall;
  ListVolumes(argument: _berth_v1_ListVolumesRequest, callback: grpc.requestCallback<_berth_v1_ListVolumesResponse__Output>): grpc.ClientUnaryCall;
  listVolumes(argument: _berth_v1_ListVolumesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListVolumesResponse__Output>): grpc.ClientUnaryCall;
  listVolumes(argument: _berth_v1_ListVolumesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListVolumesResponse__Output>): grpc.ClientUnaryCall;
  listVolumes(argument: _berth_v1_ListVolumesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListVolumesResponse__Output>): grpc.ClientUnaryCall;
  listVolumes(argument: _berth_v1_ListVolumesRequest, callback: grpc.requestCallback<_berth_v1_ListVolumesResponse__Output>): grpc.ClientUnaryCall;
  
  LoadImage(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_LoadResponse__Output>): grpc.ClientWritableStream<_berth_v1_Chunk>;
  LoadImage(metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_LoadResponse__Output>): grpc.ClientWritableStream<_berth_v1_Chunk>;
  LoadImage(options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_LoadResponse__Output>): grpc.ClientWritableStream<_berth_v1_Chunk>;
  LoadImage(callback: grpc.requestCallback<_berth_v1_LoadResponse__Output>): grpc.ClientWritableStream<_berth_v1_Chunk>;
  loadImage(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_LoadResponse__Output>): grpc.ClientWritableStream<_berth_v1_Chunk>;
  loadImage(metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_LoadResponse__Output>): grpc.ClientWritableStream<_berth_v1_Chunk>;
  loadImage(options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_LoadResponse__Output>): grpc.ClientWritableStream<_berth_v1_Chunk>;
  loadImage(callback: grpc.requestCallback<_berth_v1_LoadResponse__Output>): grpc.ClientWritableStream<_berth_v1_Chunk>;
  
  Prune(argument: _berth_v1_PruneRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  Prune(argument: _berth_v1_PruneRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  Prune(argument: _berth_v1_PruneRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  Prune(argument: _berth_v1_PruneRequest, callback: grpc.requestCallback<_berth_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  prune(argument: _berth_v1_PruneRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  prune(argument: _berth_v1_PruneRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  prune(argument: _berth_v1_PruneRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  prune(argument: _berth_v1_PruneRequest, callback: grpc.requestCallback<_berth_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  
  PullImage(argument: _berth_v1_PullImageRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_PullProgress__Output>;
  PullImage(argument: _berth_v1_PullImageRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_PullProgress__Output>;
  pullImage(argument: _berth_v1_PullImageRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_PullProgress__Output>;
  pullImage(argument: _berth_v1_PullImageRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_PullProgress__Output>;
  
  PushImage(argument: _berth_v1_PushImageRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_PushProgress__Output>;
  PushImage(argument: _berth_v1_PushImageRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_PushProgress__Output>;
  pushImage(argument: _berth_v1_PushImageRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_PushProgress__Output>;
  pushImage(argument: _berth_v1_PushImageRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_PushProgress__Output>;
  
  RemoveVolume(argument: _berth_v1_RemoveVolumeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RemoveVolumeResponse__Output>): grpc.ClientUnaryCall;
  RemoveVolume(argument: _berth_v1_RemoveVolumeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_RemoveVolumeResponse__Output>): grpc.ClientUnaryCall;
  RemoveVolume(argument: _berth_v1_RemoveVolumeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RemoveVolumeResponse__Output>): grpc.ClientUnaryCall;
  RemoveVolume(argument: _berth_v1_RemoveVolumeRequest, callback: grpc.requestCallback<_berth_v1_RemoveVolumeResponse__Output>): grpc.ClientUnaryCall;
  removeVolume(argument: _berth_v1_RemoveVolumeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RemoveVolumeResponse__Output>): grpc.ClientUnaryCall;
  removeVolume(argument: _berth_v1_RemoveVolumeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_RemoveVolumeResponse__Output>): grpc.ClientUnaryCall;
  removeVolume(argument: _berth_v1_RemoveVolumeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RemoveVolumeResponse__Output>): grpc.ClientUnaryCall;
  removeVolume(argument: _berth_v1_RemoveVolumeRequest, callback: grpc.requestCallback<_berth_v1_RemoveVolumeResponse__Output>): grpc.ClientUnaryCall;
  
  SaveImage(argument: _berth_v1_SaveImageRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Chunk__Output>;
  SaveImage(argument: _berth_v1_SaveImageRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Chunk__Output>;
  saveImage(argument: _berth_v1_SaveImageRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Chunk__Output>;
  saveImage(argument: _berth_v1_SaveImageRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Chunk__Output>;
  
  TagImage(argument: _berth_v1_TagImageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_TagImageResponse__Output>): grpc.ClientUnaryCall;
  TagImage(argument: _berth_v1_TagImageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_TagImageResponse__Output>): grpc.ClientUnaryCall;
  TagImage(argument: _berth_v1_TagImageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_TagImageResponse__Output>): grpc.ClientUnaryCall;
  TagImage(argument: _berth_v1_TagImageRequest, callback: grpc.requestCallback<_berth_v1_TagImageResponse__Output>): grpc.ClientUnaryCall;
  tagImage(argument: _berth_v1_TagImageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_TagImageResponse__Output>): grpc.ClientUnaryCall;
  tagImage(argument: _berth_v1_TagImageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_TagImageResponse__Output>): grpc.ClientUnaryCall;
  tagImage(argument: _berth_v1_TagImageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_TagImageResponse__Output>): grpc.ClientUnaryCall;
  tagImage(argument: _berth_v1_TagImageRequest, callback: grpc.requestCallback<_berth_v1_TagImageResponse__Output>): grpc.ClientUnaryCall;
  
  UntagImage(argument: _berth_v1_UntagImageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_UntagImageResponse__Output>): grpc.ClientUnaryCall;
  UntagImage(argument: _berth_v1_UntagImageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_UntagImageResponse__Output>): grpc.ClientUnaryCall;
  UntagImage(argument: _berth_v1_UntagImageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_UntagImageResponse__Output>): grpc.ClientUnaryCall;
  UntagImage(argument: _berth_v1_UntagImageRequest, callback: grpc.requestCallback<_berth_v1_UntagImageResponse__Output>): grpc.ClientUnaryCall;
  untagImage(argument: _berth_v1_UntagImageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_UntagImageResponse__Output>): grpc.ClientUnaryCall;
  untagImage(argument: _berth_v1_UntagImageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_UntagImageResponse__Output>): grpc.ClientUnaryCall;
  untagImage(argument: _berth_v1_UntagImageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_UntagImageResponse__Output>): grpc.ClientUnaryCall;
  untagImage(argument: _berth_v1_UntagImageRequest, callback: grpc.requestCallback<_berth_v1_UntagImageResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface BerthServiceHandlers extends grpc.UntypedServiceImplementation {
  CheckLogin: grpc.handleUnaryCall<_berth_v1_CheckLoginRequest__Output, _berth_v1_CheckLoginResponse>;
  
  CreateVolume: grpc.handleUnaryCall<_berth_v1_CreateVolumeRequest__Output, _berth_v1_Volume>;
  
  Events: grpc.handleServerStreamingCall<_berth_v1_EventsRequest__Output, _berth_v1_Event>;
  
  Exec: grpc.handleUnaryCall<_berth_v1_ExecRequest__Output, _berth_v1_ExecResponse>;
  
  ExecSync: grpc.handleUnaryCall<_berth_v1_ExecSyncRequest__Output, _berth_v1_ExecSyncResponse>;
  
  ImageHistory: grpc.handleUnaryCall<_berth_v1_ImageHistoryRequest__Output, _berth_v1_ImageHistoryResponse>;
  
  InspectVolume: grpc.handleUnaryCall<_berth_v1_InspectVolumeRequest__Output, _berth_v1_Volume>;
  
  ListVolumes: grpc.handleUnaryCall<_berth_v1_ListVolumesRequest__Output, _berth_v1_ListVolumesResponse>;
  
  LoadImage: grpc.handleClientStreamingCall<_berth_v1_Chunk__Output, _berth_v1_LoadResponse>;
  
  Prune: grpc.handleUnaryCall<_berth_v1_PruneRequest__Output, _berth_v1_PruneReport>;
  
  PullImage: grpc.handleServerStreamingCall<_berth_v1_PullImageRequest__Output, _berth_v1_PullProgress>;
  
  PushImage: grpc.handleServerStreamingCall<_berth_v1_PushImageRequest__Output, _berth_v1_PushProgress>;
  
  RemoveVolume: grpc.handleUnaryCall<_berth_v1_RemoveVolumeRequest__Output, _berth_v1_RemoveVolumeResponse>;
  
  SaveImage: grpc.handleServerStreamingCall<_berth_v1_SaveImageRequest__Output, _berth_v1_Chunk>;
  
  TagImage: grpc.handleUnaryCall<_berth_v1_TagImageRequest__Output, _berth_v1_TagImageResponse>;
  
  UntagImage: grpc.handleUnaryCall<_berth_v1_UntagImageRequest__Output, _berth_v1_UntagImageResponse>;
  
}

export interface BerthServiceDefinition extends grpc.ServiceDefinition {
  CheckLogin: MethodDefinition<_berth_v1_CheckLoginRequest, _berth_v1_CheckLoginResponse, _berth_v1_CheckLoginRequest__Output, _berth_v1_CheckLoginResponse__Output>
  CreateVolume: MethodDefinition<_berth_v1_CreateVolumeRequest, _berth_v1_Volume, _berth_v1_CreateVolumeRequest__Output, _berth_v1_Volume__Output>
  Events: MethodDefinition<_berth_v1_EventsRequest, _berth_v1_Event, _berth_v1_EventsRequest__Output, _berth_v1_Event__Output>
  Exec: MethodDefinition<_berth_v1_ExecRequest, _berth_v1_ExecResponse, _berth_v1_ExecRequest__Output, _berth_v1_ExecResponse__Output>
  ExecSync: MethodDefinition<_berth_v1_ExecSyncRequest, _berth_v1_ExecSyncResponse, _berth_v1_ExecSyncRequest__Output, _berth_v1_ExecSyncResponse__Output>
  ImageHistory: MethodDefinition<_berth_v1_ImageHistoryRequest, _berth_v1_ImageHistoryResponse, _berth_v1_ImageHistoryRequest__Output, _berth_v1_ImageHistoryResponse__Output>
  InspectVolume: MethodDefinition<_berth_v1_InspectVolumeRequest, _berth_v1_Volume, _berth_v1_InspectVolumeRequest__Output, _berth_v1_Volume__Output>
  ListVolumes: MethodDefinition<_berth_v1_ListVolumesRequest, _berth_v1_ListVolumesResponse, _berth_v1_ListVolumesRequest__Output, _berth_v1_ListVolumesResponse__Output>
  LoadImage: MethodDefinition<_berth_v1_Chunk, _berth_v1_LoadResponse, _berth_v1_Chunk__Output, _berth_v1_LoadResponse__Output>
  Prune: MethodDefinition<_berth_v1_PruneRequest, _berth_v1_PruneReport, _berth_v1_PruneRequest__Output, _berth_v1_PruneReport__Output>
  PullImage: MethodDefinition<_berth_v1_PullImageRequest, _berth_v1_PullProgress, _berth_v1_PullImageRequest__Output, _berth_v1_PullProgress__Output>
  PushImage: MethodDefinition<_berth_v1_PushImageRequest, _berth_v1_PushProgress, _berth_v1_PushImageRequest__Output, _berth_v1_PushProgress__Output>
  RemoveVolume: MethodDefinition<_berth_v1_RemoveVolumeRequest, _berth_v1_RemoveVolumeResponse, _berth_v1_RemoveVolumeRequest__Output, _berth_v1_RemoveVolumeResponse__Output>
  SaveImage: MethodDefinition<_berth_v1_SaveImageRequest, _berth_v1_Chunk, _berth_v1_SaveImageRequest__Output, _berth_v1_Chunk__Output>
  TagImage: MethodDefinition<_berth_v1_TagImageRequest, _berth_v1_TagImageResponse, _berth_v1_TagImageRequest__Output, _berth_v1_TagImageResponse__Output>
  UntagImage: MethodDefinition<_berth_v1_UntagImageRequest, _berth_v1_UntagImageResponse, _berth_v1_UntagImageRequest__Output, _berth_v1_UntagImageResponse__Output>
}
