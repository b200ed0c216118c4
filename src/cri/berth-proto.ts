// Runtime loading of berth's own API (proto/berth/v1/berth.proto) plus its generated TypeScript
// types: the service beside CRI on the same socket (tag, push, save/load, history, events, prune,
// pull with progress). Only src/cri/ and the CLI's connection code should import this module.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CRI_LOADER_OPTIONS, findCriProtoPath, unixTarget } from './proto';
import type { ProtoGrpcType } from './gen-berth/berth';
import type { BerthServiceClient, BerthServiceDefinition } from './gen-berth/berth/v1/BerthService';

// Every message and enum type (e.g. PullProgress__Output, EventType), BerthServiceHandlers and
// BerthServiceClient. Names such as AuthConfig clash with CRI's: import them from here, not both.
export * from './gen-berth/index';

/** proto/berth/v1/berth.proto, found beside the CRI proto (same walk-up, so tsx and dist/ both work). */
export const berthProtoPath: string = path.join(path.dirname(path.dirname(path.dirname(findCriProtoPath()))), 'berth', 'v1', 'berth.proto');

/** The same loader options as CRI (and scripts/gen-berth-types.sh): int64 as strings, enums as names. */
export const berthPackageDefinition: protoLoader.PackageDefinition = protoLoader.loadSync(berthProtoPath, { ...CRI_LOADER_OPTIONS });

export const berthProto = grpc.loadPackageDefinition(berthPackageDefinition) as unknown as ProtoGrpcType;

/** Service definition for `server.addService(BerthService, handlers)`. */
export const BerthService: BerthServiceDefinition = berthProto.berth.v1.BerthService.service;

/**
 * A typed client of berth's service on the unix socket at `socketPath` (lazy: connects on the
 * first call). Close it with `client.close()`.
 */
export function createBerthClient(socketPath: string, options: grpc.ChannelOptions = {}): BerthServiceClient {
  return new berthProto.berth.v1.BerthService(unixTarget(socketPath), grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
    ...options,
  });
}
