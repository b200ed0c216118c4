// Original file: proto/berth/v1/berth.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Chunk as _berth_v1_Chunk, Chunk__Output as _berth_v1_Chunk__Output } from '../../berth/v1/Chunk';
import type { Event as _berth_v1_Event, Event__Output as _berth_v1_Event__Output } from '../../berth/v1/Event';
import type { EventsRequest as _berth_v1_EventsRequest, EventsRequest__Output as _berth_v1_EventsRequest__Output } from '../../berth/v1/EventsRequest';
import type { ImageHistoryRequest as _berth_v1_ImageHistoryRequest, ImageHistoryRequest__Output as _berth_v1_ImageHistoryRequest__Output } from '../../berth/v1/ImageHistoryRequest';
import type { ImageHistoryResponse as _berth_v1_ImageHistoryResponse, ImageHistoryResponse__Output as _berth_v1_ImageHistoryResponse__Output } from '../../berth/v1/ImageHistoryResponse';
import type { LoadResponse as _berth_v1_LoadResponse, LoadResponse__Output as _berth_v1_LoadResponse__Output } from '../../berth/v1/LoadResponse';
import type { PruneReport as _berth_v1_PruneReport, PruneReport__Output as _berth_v1_PruneReport__Output } from '../../berth/v1/PruneReport';
import type { PruneRequest as _berth_v1_PruneRequest, PruneRequest__Output as _berth_v1_PruneRequest__Output } from '../../berth/v1/PruneRequest';
import type { PullImageRequest as _berth_v1_PullImageRequest, PullImageRequest__Output as _berth_v1_PullImageRequest__Output } from '../../berth/v1/PullImageRequest';
import type { PullProgress as _berth_v1_PullProgress, PullProgress__Output as _berth_v1_PullProgress__Output } from '../../berth/v1/PullProgress';
import type { PushImageRequest as _berth_v1_PushImageRequest, PushImageRequest__Output as _berth_v1_PushImageRequest__Output } from '../../berth/v1/PushImageRequest';
import type { PushProgress as _berth_v1_PushProgress, PushProgress__Output as _berth_v1_PushProgress__Output } from '../../berth/v1/PushProgress';
import type { SaveImageRequest as _berth_v1_SaveImageRequest, SaveImageRequest__Output as _berth_v1_SaveImageRequest__Output } from '../../berth/v1/SaveImageRequest';
import type { TagImageRequest as _berth_v1_TagImageRequest, TagImageRequest__Output as _berth_v1_TagImageRequest__Output } from '../../berth/v1/TagImageRequest';
import type { TagImageResponse as _berth_v1_TagImageResponse, TagImageResponse__Output as _berth_v1_TagImageResponse__Output } from '../../berth/v1/TagImageResponse';
import type { UntagImageRequest as _berth_v1_UntagImageRequest, UntagImageRequest__Output as _berth_v1_UntagImageRequest__Output } from '../../berth/v1/UntagImageRequest';
import type { UntagImageResponse as _berth_v1_UntagImageResponse, UntagImageResponse__Output as _berth_v1_UntagImageResponse__Output } from '../../berth/v1/UntagImageResponse';

export interface BerthServiceClient extends grpc.Client {
  Events(argument: _berth_v1_EventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  Events(argument: _berth_v1_EventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  events(argument: _berth_v1_EventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  events(argument: _berth_v1_EventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  
  ImageHistory(argument: _berth_v1_ImageHistoryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  ImageHistory(argument: _berth_v1_ImageHistoryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  ImageHistory(argument: _berth_v1_ImageHistoryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  ImageHistory(argument: _berth_v1_ImageHistoryRequest, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  imageHistory(argument: _berth_v1_ImageHistoryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  imageHistory(argument: _berth_v1_ImageHistoryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  imageHistory(argument: _berth_v1_ImageHistoryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  imageHistory(argument: _berth_v1_ImageHistoryRequest, callback: grpc.requestCallback<_berth_v1_ImageHistoryResponse__Output>): grpc.ClientUnaryCall;
  
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
  Events: grpc.handleServerStreamingCall<_berth_v1_EventsRequest__Output, _berth_v1_Event>;
  
  ImageHistory: grpc.handleUnaryCall<_berth_v1_ImageHistoryRequest__Output, _berth_v1_ImageHistoryResponse>;
  
  LoadImage: grpc.handleClientStreamingCall<_berth_v1_Chunk__Output, _berth_v1_LoadResponse>;
  
  Prune: grpc.handleUnaryCall<_berth_v1_PruneRequest__Output, _berth_v1_PruneReport>;
  
  PullImage: grpc.handleServerStreamingCall<_berth_v1_PullImageRequest__Output, _berth_v1_PullProgress>;
  
  PushImage: grpc.handleServerStreamingCall<_berth_v1_PushImageRequest__Output, _berth_v1_PushProgress>;
  
  SaveImage: grpc.handleServerStreamingCall<_berth_v1_SaveImageRequest__Output, _berth_v1_Chunk>;
  
  TagImage: grpc.handleUnaryCall<_berth_v1_TagImageRequest__Output, _berth_v1_TagImageResponse>;
  
  UntagImage: grpc.handleUnaryCall<_berth_v1_UntagImageRequest__Output, _berth_v1_UntagImageResponse>;
  
}

export interface BerthServiceDefinition extends grpc.ServiceDefinition {
  Events: MethodDefinition<_berth_v1_EventsRequest, _berth_v1_Event, _berth_v1_EventsRequest__Output, _berth_v1_Event__Output>
  ImageHistory: MethodDefinition<_berth_v1_ImageHistoryRequest, _berth_v1_ImageHistoryResponse, _berth_v1_ImageHistoryRequest__Output, _berth_v1_ImageHistoryResponse__Output>
  LoadImage: MethodDefinition<_berth_v1_Chunk, _berth_v1_LoadResponse, _berth_v1_Chunk__Output, _berth_v1_LoadResponse__Output>
  Prune: MethodDefinition<_berth_v1_PruneRequest, _berth_v1_PruneReport, _berth_v1_PruneRequest__Output, _berth_v1_PruneReport__Output>
  PullImage: MethodDefinition<_berth_v1_PullImageRequest, _berth_v1_PullProgress, _berth_v1_PullImageRequest__Output, _berth_v1_PullProgress__Output>
  PushImage: MethodDefinition<_berth_v1_PushImageRequest, _berth_v1_PushProgress, _berth_v1_PushImageRequest__Output, _berth_v1_PushProgress__Output>
  SaveImage: MethodDefinition<_berth_v1_SaveImageRequest, _berth_v1_Chunk, _berth_v1_SaveImageRequest__Output, _berth_v1_Chunk__Output>
  TagImage: MethodDefinition<_berth_v1_TagImageRequest, _berth_v1_TagImageResponse, _berth_v1_TagImageRequest__Output, _berth_v1_TagImageResponse__Output>
  UntagImage: MethodDefinition<_berth_v1_UntagImageRequest, _berth_v1_UntagImageResponse, _berth_v1_UntagImageRequest__Output, _berth_v1_UntagImageResponse__Output>
}
