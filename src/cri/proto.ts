// Runtime loading of the CRI v1 API (proto/runtime/v1/api.proto) plus its
// generated TypeScript types. Only src/cri/ should import this module.
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { internal } from '../util/errors';
import type { ProtoGrpcType } from './gen/api';
import type { ImageServiceClient, ImageServiceDefinition } from './gen/runtime/v1/ImageService';
import type { RuntimeServiceClient, RuntimeServiceDefinition } from './gen/runtime/v1/RuntimeService';

// Every message and enum type (e.g. RunPodSandboxRequest__Output, Protocol),
// plus RuntimeServiceHandlers/ImageServiceHandlers and the client interfaces.
export * from './gen/index';
export type { ProtoGrpcType } from './gen/api';

/** Location of the proto file relative to the repository root. */
export const CRI_PROTO_RELATIVE_PATH = path.join('proto', 'runtime', 'v1', 'api.proto');

/**
 * Loader options. They must match the flags in scripts/gen-cri-types.sh,
 * otherwise the generated types lie about the runtime shapes.
 */
export const CRI_LOADER_OPTIONS: Readonly<protoLoader.Options> = Object.freeze({
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

/**
 * Finds proto/runtime/v1/api.proto by walking up from `startDir`. Walking up
 * (instead of a fixed '../..') lets the same code run from src/ under tsx and
 * from dist/src/ after tsc.
 */
export function findCriProtoPath(startDir: string = __dirname): string {
  let dir = path.resolve(startDir);
  for (;;) {
    const candidate = path.join(dir, CRI_PROTO_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw internal('CRI proto file not found in any parent directory', {
        startDir,
        looking_for: CRI_PROTO_RELATIVE_PATH,
      });
    }
    dir = parent;
  }
}

/** Absolute path of the proto file this process loaded. */
export const criProtoPath: string = findCriProtoPath();

/** proto-loader's package definition (message descriptors, method (de)serializers). */
export const criPackageDefinition: protoLoader.PackageDefinition = protoLoader.loadSync(criProtoPath, {
  ...CRI_LOADER_OPTIONS,
});

/** The whole typed gRPC object tree; `criProto.runtime.v1` is the CRI package. */
export const criProto = grpc.loadPackageDefinition(criPackageDefinition) as unknown as ProtoGrpcType;

/** The `runtime.v1` package: client constructors and message/enum definitions. */
export const runtimeV1: ProtoGrpcType['runtime']['v1'] = criProto.runtime.v1;

/** Service definition for `server.addService(RuntimeService, handlers)`. */
export const RuntimeService: RuntimeServiceDefinition = runtimeV1.RuntimeService.service;

/** Service definition for `server.addService(ImageService, handlers)`. */
export const ImageService: ImageServiceDefinition = runtimeV1.ImageService.service;

export interface CriClients {
  runtime: RuntimeServiceClient;
  image: ImageServiceClient;
  /** Closes both clients' channels. */
  close(): void;
}

/** gRPC target for a unix socket path (relative paths are resolved against cwd). */
export function unixTarget(socketPath: string): string {
  return `unix://${path.resolve(socketPath)}`;
}

/**
 * Typed CRI clients connected to the unix socket at `socketPath`, for tests
 * and the CLI. Connection is lazy: nothing happens until the first call.
 */
export function createCriClients(socketPath: string, options: grpc.ChannelOptions = {}): CriClients {
  const target = unixTarget(socketPath);
  const credentials = grpc.credentials.createInsecure();
  const runtime = new runtimeV1.RuntimeService(target, credentials, options);
  const image = new runtimeV1.ImageService(target, credentials, options);
  return {
    runtime,
    image,
    close(): void {
      runtime.close();
      image.close();
    },
  };
}
