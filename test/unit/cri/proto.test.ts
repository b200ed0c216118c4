import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition as GenericMessageTypeDefinition, MethodDefinition } from '@grpc/proto-loader';
import {
  CRI_LOADER_OPTIONS,
  ImageService,
  RuntimeService,
  createCriClients,
  criPackageDefinition,
  criProtoPath,
  findCriProtoPath,
  runtimeV1,
  type CreateContainerRequest,
  type CreateContainerRequest__Output,
  type CriClients,
  type RuntimeServiceHandlers,
  type VersionResponse__Output,
} from '../../../src/cri/proto';
import { isBerthError } from '../../../src/util/errors';

type MessageTypeDefinition = GenericMessageTypeDefinition<object, object>;

const repoRoot = path.resolve(__dirname, '..', '..', '..');

// Method lists and field numbers as read from kubernetes/cri-api v0.36.3
// pkg/apis/runtime/v1/api.proto.
const RUNTIME_METHODS = [
  'Version', 'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus', 'ListPodSandbox',
  'StreamPodSandboxes', 'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'ListContainers',
  'StreamContainers', 'ContainerStatus', 'UpdateContainerResources', 'ReopenContainerLog', 'ExecSync', 'Exec',
  'Attach', 'PortForward', 'ContainerStats', 'ListContainerStats', 'StreamContainerStats', 'PodSandboxStats',
  'ListPodSandboxStats', 'StreamPodSandboxStats', 'UpdateRuntimeConfig', 'Status', 'CheckpointContainer',
  'GetContainerEvents', 'ListMetricDescriptors', 'ListPodSandboxMetrics', 'StreamPodSandboxMetrics',
  'RuntimeConfig', 'UpdatePodSandboxResources',
];
const IMAGE_METHODS = ['ListImages', 'StreamImages', 'ImageStatus', 'PullImage', 'RemoveImage', 'ImageFsInfo'];
const SERVER_STREAMING = new Set([
  'StreamPodSandboxes', 'StreamContainers', 'StreamContainerStats', 'StreamPodSandboxStats',
  'GetContainerEvents', 'StreamPodSandboxMetrics', 'StreamImages',
]);

// Field names are camelCase because the loader runs with keepCase: false.
const FIELD_NUMBERS: Record<string, Record<string, number>> = {
  PodSandboxConfig: {
    metadata: 1, hostname: 2, logDirectory: 3, dnsConfig: 4, portMappings: 5,
    labels: 6, annotations: 7, linux: 8, windows: 9,
  },
  ContainerConfig: {
    metadata: 1, image: 2, command: 3, args: 4, workingDir: 5, envs: 6, mounts: 7, devices: 8,
    labels: 9, annotations: 10, logPath: 11, stdin: 12, stdinOnce: 13, tty: 14, linux: 15,
    windows: 16, CDIDevices: 17, stopSignal: 18,
  },
  PullImageRequest: { image: 1, auth: 2, sandboxConfig: 3 },
  ImageSpec: { image: 1, annotations: 2, userSpecifiedImage: 18, runtimeHandler: 19, imageRef: 20 },
  PodSandboxMetadata: { name: 1, uid: 2, namespace: 3, attempt: 4 },
};

interface FieldDescriptor { name: string; number: number; label: string; type: string; typeName: string }
interface DescriptorProto { name: string; field: FieldDescriptor[]; nestedType: DescriptorProto[]; options: { mapEntry?: boolean } | null }

function messageDescriptor(name: string): DescriptorProto {
  const def = criPackageDefinition[`runtime.v1.${name}`] as MessageTypeDefinition | undefined;
  assert.ok(def, `message runtime.v1.${name} is defined`);
  return def.type as unknown as DescriptorProto;
}

function runtimeMethod(name: string): MethodDefinition<object, object> {
  return (RuntimeService as unknown as Record<string, MethodDefinition<object, object>>)[name];
}

describe('CRI v1 definitions', () => {
  it('loads the proto from the repository', () => {
    assert.equal(criProtoPath, path.join(repoRoot, 'proto', 'runtime', 'v1', 'api.proto'));
  });

  it('RuntimeService has exactly the upstream methods with the right streaming flags', () => {
    assert.deepEqual(Object.keys(RuntimeService), RUNTIME_METHODS);
    for (const name of RUNTIME_METHODS) {
      const m = runtimeMethod(name);
      assert.equal(m.path, `/runtime.v1.RuntimeService/${name}`);
      assert.equal(m.requestStream, false, `${name} request stream`);
      assert.equal(m.responseStream, SERVER_STREAMING.has(name), `${name} response stream`);
    }
  });

  it('ImageService has exactly the upstream methods', () => {
    assert.deepEqual(Object.keys(ImageService), IMAGE_METHODS);
    assert.equal(ImageService.PullImage.path, '/runtime.v1.ImageService/PullImage');
    assert.equal(ImageService.StreamImages.responseStream, true);
    assert.equal(ImageService.PullImage.responseStream, false);
  });

  it('request/response types match the method names', () => {
    const typeName = (t: unknown) => ((t as MessageTypeDefinition).type as unknown as DescriptorProto).name;
    const d = RuntimeService.GetContainerEvents;
    assert.equal(typeName(d.requestType), 'GetEventsRequest');
    assert.equal(typeName(d.responseType), 'ContainerEventResponse');
    assert.equal(typeName(ImageService.PullImage.requestType), 'PullImageRequest');
  });

  for (const [message, expected] of Object.entries(FIELD_NUMBERS)) {
    it(`${message} field numbers match upstream`, () => {
      const desc = messageDescriptor(message);
      const actual = Object.fromEntries(desc.field.map((f) => [f.name, f.number]));
      assert.deepEqual(actual, expected);
    });
  }

  it('labels and annotations are string maps, port mappings repeated', () => {
    const desc = messageDescriptor('PodSandboxConfig');
    for (const name of ['labels', 'annotations']) {
      const field = desc.field.find((f) => f.name === name);
      assert.ok(field);
      const entry = desc.nestedType.find((n) => n.name === field.typeName);
      assert.ok(entry?.options?.mapEntry, `${name} is a map`);
      assert.deepEqual(entry.field.map((f) => [f.name, f.type]), [['key', 'TYPE_STRING'], ['value', 'TYPE_STRING']]);
    }
    const ports = desc.field.find((f) => f.name === 'portMappings');
    assert.equal(ports?.label, 'LABEL_REPEATED');
    assert.equal(ports?.typeName, 'PortMapping');
  });

  it('has the upstream enum values', () => {
    const values = (name: string) =>
      ((criPackageDefinition[`runtime.v1.${name}`] as MessageTypeDefinition).type as unknown as {
        value: { name: string; number: number }[];
      }).value.map((v) => [v.name, v.number]);
    assert.deepEqual(values('ContainerState'), [
      ['CONTAINER_CREATED', 0], ['CONTAINER_RUNNING', 1], ['CONTAINER_EXITED', 2], ['CONTAINER_UNKNOWN', 3],
    ]);
    assert.deepEqual(values('Protocol'), [['TCP', 0], ['UDP', 1], ['SCTP', 2]]);
  });

  it('uses the loader options the types were generated for', () => {
    assert.equal(CRI_LOADER_OPTIONS.keepCase, false);
    assert.equal(CRI_LOADER_OPTIONS.longs, String);
    assert.equal(CRI_LOADER_OPTIONS.enums, String);
    assert.equal(CRI_LOADER_OPTIONS.defaults, true);
    assert.equal(CRI_LOADER_OPTIONS.oneofs, true);
  });
});

describe('wire encoding', () => {
  it('encodes field numbers on the wire as upstream does', () => {
    const serialize = runtimeMethod('Version').requestSerialize;
    // field 1, wire type 2 (length-delimited) => tag 0x0a
    assert.deepEqual([...serialize({ version: '0.1.0' })], [0x0a, 5, ...Buffer.from('0.1.0')]);
    const pullSerialize = ImageService.PullImage.requestSerialize;
    // PullImageRequest.image (1) { ImageSpec.user_specified_image (18) = "a" }:
    // tag for 18/len-delimited is varint 146 = 0x92 0x01.
    assert.deepEqual([...pullSerialize({ image: { userSpecifiedImage: 'a' } })], [0x0a, 4, 0x92, 0x01, 1, 0x61]);
  });

  it('round-trips a nested CreateContainerRequest (maps, repeated, int64, enums)', () => {
    const method = runtimeMethod('CreateContainer') as unknown as MethodDefinition<
      CreateContainerRequest,
      object,
      CreateContainerRequest__Output
    >;
    const request: CreateContainerRequest = {
      podSandboxId: 'sb-1',
      config: {
        metadata: { name: 'web', attempt: 3 },
        image: { image: 'docker.io/library/busybox:latest', annotations: { 'a.b/c': 'd' } },
        command: ['/bin/sh', '-c'],
        args: ['echo hi'],
        envs: [{ key: 'PATH', value: Buffer.from('/bin') }, { key: 'EMPTY', value: Buffer.alloc(0) }],
        mounts: [{ containerPath: '/data', hostPath: '/tmp/x', readonly: true, propagation: 'PROPAGATION_BIDIRECTIONAL' }],
        labels: { app: 'web', tier: 'front' },
        linux: {
          resources: { memoryLimitInBytes: '9223372036854775807', oomScoreAdj: '-999', cpuShares: '512' },
          securityContext: {
            runAsUser: { value: '0' },
            seccomp: { profileType: 'Localhost', localhostRef: '/profiles/x.json' },
          },
        },
        stopSignal: 'SIGKILL',
      },
      sandboxConfig: {
        metadata: { name: 'pod', uid: 'u-1', namespace: 'default', attempt: 0 },
        portMappings: [{ protocol: 1, containerPort: 53, hostPort: 5353, hostIp: '127.0.0.1' }],
        dnsConfig: { servers: ['10.0.0.10'], searches: [], options: ['ndots:5'] },
      },
    };
    const bytes = method.requestSerialize(request);
    const decoded = method.requestDeserialize(bytes);

    assert.equal(decoded.podSandboxId, 'sb-1');
    const config = decoded.config;
    assert.ok(config);
    assert.deepEqual(config.metadata, { name: 'web', attempt: 3 });
    assert.deepEqual(config.image?.annotations, { 'a.b/c': 'd' });
    assert.equal(config.image?.image, 'docker.io/library/busybox:latest');
    assert.deepEqual(config.command, ['/bin/sh', '-c']);
    // KeyValue.value is `bytes` upstream (since v0.36), so env values are Buffers.
    assert.deepEqual(
      config.envs.map((e) => [e.key, Buffer.isBuffer(e.value), e.value.toString('utf8')]),
      [['PATH', true, '/bin'], ['EMPTY', true, '']],
    );
    assert.equal(config.mounts[0]?.propagation, 'PROPAGATION_BIDIRECTIONAL');
    assert.equal(config.mounts[0]?.readonly, true);
    assert.deepEqual(config.labels, { app: 'web', tier: 'front' });
    // int64 beyond 2^53 survives only because longs are strings.
    const memory: string | undefined = config.linux?.resources?.memoryLimitInBytes;
    assert.equal(memory, '9223372036854775807');
    assert.equal(config.linux?.resources?.oomScoreAdj, '-999');
    assert.equal(config.linux?.securityContext?.runAsUser?.value, '0');
    assert.equal(config.linux?.securityContext?.seccomp?.profileType, 'Localhost');
    assert.equal(config.stopSignal, 'SIGKILL');
    // defaults: true fills scalars/repeated/maps, leaves absent messages null.
    assert.equal(config.workingDir, '');
    assert.equal(config.tty, false);
    assert.deepEqual(config.devices, []);
    assert.deepEqual(config.annotations, {});
    assert.equal(config.windows, null);
    assert.equal(config.linux?.resources?.cpuQuota, '0');

    const sandbox = decoded.sandboxConfig;
    assert.ok(sandbox);
    // numeric enum input decodes to its name
    assert.equal(sandbox.portMappings[0]?.protocol, 'UDP');
    assert.equal(sandbox.portMappings[0]?.hostPort, 5353);
    assert.deepEqual(sandbox.dnsConfig?.options, ['ndots:5']);
    assert.equal(sandbox.metadata?.namespace, 'default');

    // The decoded (defaults-filled) form is a fixpoint of encode/decode. Bytes
    // may differ from the first encoding: protobufjs writes explicit defaults.
    const again = method.requestDeserialize(method.requestSerialize(decoded as unknown as CreateContainerRequest));
    assert.deepEqual(again, decoded);
  });
});

describe('findCriProtoPath', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-proto-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('finds the proto from a compiled dist/src/cri layout', () => {
    const proto = path.join(tmp, 'proto', 'runtime', 'v1', 'api.proto');
    mkdirSync(path.dirname(proto), { recursive: true });
    writeFileSync(proto, 'syntax = "proto3";\n');
    const distDir = path.join(tmp, 'dist', 'src', 'cri');
    mkdirSync(distDir, { recursive: true });
    assert.equal(findCriProtoPath(distDir), proto);
  });

  it('throws an internal BerthError when there is no proto above', () => {
    const lonely = mkdtempSync(path.join(os.tmpdir(), 'berth-noproto-'));
    try {
      // Precondition: nothing above the temp dir holds a proto tree.
      for (let d = lonely; d !== path.dirname(d); d = path.dirname(d)) {
        assert.equal(existsSync(path.join(d, 'proto', 'runtime', 'v1', 'api.proto')), false, d);
      }
      assert.throws(() => findCriProtoPath(lonely), (e: unknown) => isBerthError(e, 'internal'));
    } finally {
      rmSync(lonely, { recursive: true, force: true });
    }
  });
});

describe('generated code', () => {
  it('src/cri/gen is up to date with the proto', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'berth-gen-'));
    try {
      execFileSync(path.join(repoRoot, 'scripts', 'gen-cri-types.sh'), [out], { stdio: 'pipe' });
      const list = (dir: string): string[] =>
        readdirSync(dir, { recursive: true, encoding: 'utf8' })
          .filter((f) => statSync(path.join(dir, f)).isFile())
          .sort();
      const committedDir = path.join(repoRoot, 'src', 'cri', 'gen');
      const files = list(out);
      assert.deepEqual(list(committedDir), files);
      for (const f of files) {
        assert.equal(
          readFileSync(path.join(committedDir, f), 'utf8'),
          readFileSync(path.join(out, f), 'utf8'),
          `src/cri/gen/${f} is stale; run scripts/gen-cri-types.sh`,
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('gRPC round trip over a unix socket', () => {
  let tmp: string;
  let server: grpc.Server;
  let clients: CriClients;
  let seenVersion: string | undefined;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-grpc-'));
    const socket = path.join(tmp, 'cri.sock');
    const handlers: Pick<RuntimeServiceHandlers, 'Version'> = {
      Version(call, callback) {
        seenVersion = call.request.version;
        callback(null, {
          version: '0.1.0',
          runtimeName: 'berth',
          runtimeVersion: '0.1.0-test',
          runtimeApiVersion: 'v1',
        });
      },
    };
    server = new grpc.Server();
    server.addService(RuntimeService, handlers);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    clients = createCriClients(socket);
  });

  after(async () => {
    clients?.close();
    if (server) await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('Version returns the server response through the typed client', async () => {
    const res = await new Promise<VersionResponse__Output>((resolve, reject) =>
      clients.runtime.Version({ version: 'v1' }, (err, value) => (err || !value ? reject(err) : resolve(value))),
    );
    assert.deepEqual(res, { version: '0.1.0', runtimeName: 'berth', runtimeVersion: '0.1.0-test', runtimeApiVersion: 'v1' });
    assert.equal(seenVersion, 'v1');
  });

  it('an RPC without a handler fails with UNIMPLEMENTED', async () => {
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      clients.runtime.Status({ verbose: false }, (e) => resolve(e)),
    );
    assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
  });

  it('a service that is not registered fails with UNIMPLEMENTED', async () => {
    const err = await new Promise<grpc.ServiceError | null>((resolve) => clients.image.ListImages({}, (e) => resolve(e)));
    assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
  });

  it('the package object builds clients too', () => {
    const client = new runtimeV1.RuntimeService('unix:///nonexistent.sock', grpc.credentials.createInsecure());
    try {
      assert.equal(typeof client.Version, 'function');
      assert.equal(typeof client.runPodSandbox, 'function');
    } finally {
      client.close();
    }
  });
});
