// The CRI gRPC server on a unix socket.
import { Server, ServerCredentials, type ServerWritableStream, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type Socket } from 'node:net';
import { authorityFixingStream } from './authority-front';
import { dirname } from 'node:path';
import { logger } from '../util/log';
import { ImageService, RuntimeService, type ImageServiceHandlers, type RuntimeServiceHandlers } from './proto';
import { handlersFor, type UnaryImpl } from './rpc';

const log = logger('cri');

/** The kubelet sends up to 16 MiB; match it. */
const MAX_MESSAGE = 16 * 1024 * 1024;

/** A further gRPC service served on the same socket (berth's own API). */
export interface ExtraService {
  definition: ServiceDefinition;
  handlers: UntypedServiceImplementation;
}

export interface CriServer {
  close(): Promise<void>;
}

export async function startCriServer(
  socketPath: string,
  runtime: Record<string, UnaryImpl<any, any>>,
  image: Record<string, UnaryImpl<any, any>>,
  runtimeStreams: Partial<Record<string, (call: ServerWritableStream<any, any>) => void>> = {},
  extraServices: readonly ExtraService[] = [],
): Promise<CriServer> {
  const server = new Server({ 'grpc.max_receive_message_length': MAX_MESSAGE, 'grpc.max_send_message_length': MAX_MESSAGE });
  server.addService(RuntimeService, handlersFor<RuntimeServiceHandlers>(RuntimeService, runtime, runtimeStreams));
  server.addService(ImageService, handlersFor<ImageServiceHandlers>(ImageService, image));
  for (const svc of extraServices) server.addService(svc.definition, svc.handlers);
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o711 });
  // A socket file left by a previous (killed) daemon would make bind fail.
  rmSync(socketPath, { force: true });
  // The socket is ours, not grpc-js's: each connection passes the authority front first.
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const sockets = new Set<Socket>();
  const listener = createNetServer((sock) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    injector.injectConnection(authorityFixingStream(sock));
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o660);
  log.info({ socket: socketPath }, 'CRI server listening');
  return {
    close: () =>
      new Promise<void>((resolve) => {
        listener.close();
        const t = setTimeout(() => {
          server.forceShutdown();
          for (const s of sockets) s.destroy();
        }, 5000);
        server.tryShutdown(() => {
          clearTimeout(t);
          for (const s of sockets) s.destroy();
          rmSync(socketPath, { force: true });
          resolve();
        });
      }),
  };
}
