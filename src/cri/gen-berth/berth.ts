import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AuthConfig as _berth_v1_AuthConfig, AuthConfig__Output as _berth_v1_AuthConfig__Output } from './berth/v1/AuthConfig';
import type { BerthServiceClient as _berth_v1_BerthServiceClient, BerthServiceDefinition as _berth_v1_BerthServiceDefinition } from './berth/v1/BerthService';
import type { CheckLoginRequest as _berth_v1_CheckLoginRequest, CheckLoginRequest__Output as _berth_v1_CheckLoginRequest__Output } from './berth/v1/CheckLoginRequest';
import type { CheckLoginResponse as _berth_v1_CheckLoginResponse, CheckLoginResponse__Output as _berth_v1_CheckLoginResponse__Output } from './berth/v1/CheckLoginResponse';
import type { Chunk as _berth_v1_Chunk, Chunk__Output as _berth_v1_Chunk__Output } from './berth/v1/Chunk';
import type { CreateVolumeRequest as _berth_v1_CreateVolumeRequest, CreateVolumeRequest__Output as _berth_v1_CreateVolumeRequest__Output } from './berth/v1/CreateVolumeRequest';
import type { Event as _berth_v1_Event, Event__Output as _berth_v1_Event__Output } from './berth/v1/Event';
import type { EventsRequest as _berth_v1_EventsRequest, EventsRequest__Output as _berth_v1_EventsRequest__Output } from './berth/v1/EventsRequest';
import type { ExecRequest as _berth_v1_ExecRequest, ExecRequest__Output as _berth_v1_ExecRequest__Output } from './berth/v1/ExecRequest';
import type { ExecResponse as _berth_v1_ExecResponse, ExecResponse__Output as _berth_v1_ExecResponse__Output } from './berth/v1/ExecResponse';
import type { ExecSyncRequest as _berth_v1_ExecSyncRequest, ExecSyncRequest__Output as _berth_v1_ExecSyncRequest__Output } from './berth/v1/ExecSyncRequest';
import type { ExecSyncResponse as _berth_v1_ExecSyncResponse, ExecSyncResponse__Output as _berth_v1_ExecSyncResponse__Output } from './berth/v1/ExecSyncResponse';
import type { HistoryEntry as _berth_v1_HistoryEntry, HistoryEntry__Output as _berth_v1_HistoryEntry__Output } from './berth/v1/HistoryEntry';
import type { ImageHistoryRequest as _berth_v1_ImageHistoryRequest, ImageHistoryRequest__Output as _berth_v1_ImageHistoryRequest__Output } from './berth/v1/ImageHistoryRequest';
import type { ImageHistoryResponse as _berth_v1_ImageHistoryResponse, ImageHistoryResponse__Output as _berth_v1_ImageHistoryResponse__Output } from './berth/v1/ImageHistoryResponse';
import type { InspectVolumeRequest as _berth_v1_InspectVolumeRequest, InspectVolumeRequest__Output as _berth_v1_InspectVolumeRequest__Output } from './berth/v1/InspectVolumeRequest';
import type { ListVolumesRequest as _berth_v1_ListVolumesRequest, ListVolumesRequest__Output as _berth_v1_ListVolumesRequest__Output } from './berth/v1/ListVolumesRequest';
import type { ListVolumesResponse as _berth_v1_ListVolumesResponse, ListVolumesResponse__Output as _berth_v1_ListVolumesResponse__Output } from './berth/v1/ListVolumesResponse';
import type { LoadResponse as _berth_v1_LoadResponse, LoadResponse__Output as _berth_v1_LoadResponse__Output } from './berth/v1/LoadResponse';
import type { LoadedImage as _berth_v1_LoadedImage, LoadedImage__Output as _berth_v1_LoadedImage__Output } from './berth/v1/LoadedImage';
import type { Platform as _berth_v1_Platform, Platform__Output as _berth_v1_Platform__Output } from './berth/v1/Platform';
import type { ProcessOverrides as _berth_v1_ProcessOverrides, ProcessOverrides__Output as _berth_v1_ProcessOverrides__Output } from './berth/v1/ProcessOverrides';
import type { PruneReport as _berth_v1_PruneReport, PruneReport__Output as _berth_v1_PruneReport__Output } from './berth/v1/PruneReport';
import type { PruneRequest as _berth_v1_PruneRequest, PruneRequest__Output as _berth_v1_PruneRequest__Output } from './berth/v1/PruneRequest';
import type { PullImageRequest as _berth_v1_PullImageRequest, PullImageRequest__Output as _berth_v1_PullImageRequest__Output } from './berth/v1/PullImageRequest';
import type { PullProgress as _berth_v1_PullProgress, PullProgress__Output as _berth_v1_PullProgress__Output } from './berth/v1/PullProgress';
import type { PushImageRequest as _berth_v1_PushImageRequest, PushImageRequest__Output as _berth_v1_PushImageRequest__Output } from './berth/v1/PushImageRequest';
import type { PushProgress as _berth_v1_PushProgress, PushProgress__Output as _berth_v1_PushProgress__Output } from './berth/v1/PushProgress';
import type { RemoveVolumeRequest as _berth_v1_RemoveVolumeRequest, RemoveVolumeRequest__Output as _berth_v1_RemoveVolumeRequest__Output } from './berth/v1/RemoveVolumeRequest';
import type { RemoveVolumeResponse as _berth_v1_RemoveVolumeResponse, RemoveVolumeResponse__Output as _berth_v1_RemoveVolumeResponse__Output } from './berth/v1/RemoveVolumeResponse';
import type { SaveImageRequest as _berth_v1_SaveImageRequest, SaveImageRequest__Output as _berth_v1_SaveImageRequest__Output } from './berth/v1/SaveImageRequest';
import type { TagImageRequest as _berth_v1_TagImageRequest, TagImageRequest__Output as _berth_v1_TagImageRequest__Output } from './berth/v1/TagImageRequest';
import type { TagImageResponse as _berth_v1_TagImageResponse, TagImageResponse__Output as _berth_v1_TagImageResponse__Output } from './berth/v1/TagImageResponse';
import type { UntagImageRequest as _berth_v1_UntagImageRequest, UntagImageRequest__Output as _berth_v1_UntagImageRequest__Output } from './berth/v1/UntagImageRequest';
import type { UntagImageResponse as _berth_v1_UntagImageResponse, UntagImageResponse__Output as _berth_v1_UntagImageResponse__Output } from './berth/v1/UntagImageResponse';
import type { Volume as _berth_v1_Volume, Volume__Output as _berth_v1_Volume__Output } from './berth/v1/Volume';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  berth: {
    v1: {
      ArchiveFormat: EnumTypeDefinition
      AuthConfig: MessageTypeDefinition<_berth_v1_AuthConfig, _berth_v1_AuthConfig__Output>
      BerthService: SubtypeConstructor<typeof grpc.Client, _berth_v1_BerthServiceClient> & { service: _berth_v1_BerthServiceDefinition }
      CheckLoginRequest: MessageTypeDefinition<_berth_v1_CheckLoginRequest, _berth_v1_CheckLoginRequest__Output>
      CheckLoginResponse: MessageTypeDefinition<_berth_v1_CheckLoginResponse, _berth_v1_CheckLoginResponse__Output>
      Chunk: MessageTypeDefinition<_berth_v1_Chunk, _berth_v1_Chunk__Output>
      CreateVolumeRequest: MessageTypeDefinition<_berth_v1_CreateVolumeRequest, _berth_v1_CreateVolumeRequest__Output>
      Event: MessageTypeDefinition<_berth_v1_Event, _berth_v1_Event__Output>
      EventType: EnumTypeDefinition
      EventsRequest: MessageTypeDefinition<_berth_v1_EventsRequest, _berth_v1_EventsRequest__Output>
      ExecRequest: MessageTypeDefinition<_berth_v1_ExecRequest, _berth_v1_ExecRequest__Output>
      ExecResponse: MessageTypeDefinition<_berth_v1_ExecResponse, _berth_v1_ExecResponse__Output>
      ExecSyncRequest: MessageTypeDefinition<_berth_v1_ExecSyncRequest, _berth_v1_ExecSyncRequest__Output>
      ExecSyncResponse: MessageTypeDefinition<_berth_v1_ExecSyncResponse, _berth_v1_ExecSyncResponse__Output>
      HistoryEntry: MessageTypeDefinition<_berth_v1_HistoryEntry, _berth_v1_HistoryEntry__Output>
      ImageHistoryRequest: MessageTypeDefinition<_berth_v1_ImageHistoryRequest, _berth_v1_ImageHistoryRequest__Output>
      ImageHistoryResponse: MessageTypeDefinition<_berth_v1_ImageHistoryResponse, _berth_v1_ImageHistoryResponse__Output>
      InspectVolumeRequest: MessageTypeDefinition<_berth_v1_InspectVolumeRequest, _berth_v1_InspectVolumeRequest__Output>
      ListVolumesRequest: MessageTypeDefinition<_berth_v1_ListVolumesRequest, _berth_v1_ListVolumesRequest__Output>
      ListVolumesResponse: MessageTypeDefinition<_berth_v1_ListVolumesResponse, _berth_v1_ListVolumesResponse__Output>
      LoadResponse: MessageTypeDefinition<_berth_v1_LoadResponse, _berth_v1_LoadResponse__Output>
      LoadedImage: MessageTypeDefinition<_berth_v1_LoadedImage, _berth_v1_LoadedImage__Output>
      Platform: MessageTypeDefinition<_berth_v1_Platform, _berth_v1_Platform__Output>
      ProcessOverrides: MessageTypeDefinition<_berth_v1_ProcessOverrides, _berth_v1_ProcessOverrides__Output>
      PruneReport: MessageTypeDefinition<_berth_v1_PruneReport, _berth_v1_PruneReport__Output>
      PruneRequest: MessageTypeDefinition<_berth_v1_PruneRequest, _berth_v1_PruneRequest__Output>
      PullImageRequest: MessageTypeDefinition<_berth_v1_PullImageRequest, _berth_v1_PullImageRequest__Output>
      PullProgress: MessageTypeDefinition<_berth_v1_PullProgress, _berth_v1_PullProgress__Output>
      PushImageRequest: MessageTypeDefinition<_berth_v1_PushImageRequest, _berth_v1_PushImageRequest__Output>
      PushProgress: MessageTypeDefinition<_berth_v1_PushProgress, _berth_v1_PushProgress__Output>
      RemoveVolumeRequest: MessageTypeDefinition<_berth_v1_RemoveVolumeRequest, _berth_v1_RemoveVolumeRequest__Output>
      RemoveVolumeResponse: MessageTypeDefinition<_berth_v1_RemoveVolumeResponse, _berth_v1_RemoveVolumeResponse__Output>
      SaveImageRequest: MessageTypeDefinition<_berth_v1_SaveImageRequest, _berth_v1_SaveImageRequest__Output>
      TagImageRequest: MessageTypeDefinition<_berth_v1_TagImageRequest, _berth_v1_TagImageRequest__Output>
      TagImageResponse: MessageTypeDefinition<_berth_v1_TagImageResponse, _berth_v1_TagImageResponse__Output>
      UntagImageRequest: MessageTypeDefinition<_berth_v1_UntagImageRequest, _berth_v1_UntagImageRequest__Output>
      UntagImageResponse: MessageTypeDefinition<_berth_v1_UntagImageResponse, _berth_v1_UntagImageResponse__Output>
      Volume: MessageTypeDefinition<_berth_v1_Volume, _berth_v1_Volume__Output>
    }
  }
}

