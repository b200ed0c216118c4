// The filesystem side of spec building: resolves what buildContainerSpec() needs from the host
// and the image (user, device nodes, seccomp files, mount sources, host facts), then builds.
import { promises as fsp, statfs as statfsCb } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage, invalidArgument } from '../util/errors';
import { capabilitiesFromMask } from './capabilities';
import type { OciSeccomp, OciSpec } from './runtime-spec';
import {
  buildContainerSpec,
  type ContainerSpecInput,
  type CriDevice,
  type CriMount,
  type ResolvedDevice,
} from './spec-builder';
import { resolveUser } from './user';

const statfs = promisify(statfsCb);
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** A ContainerSpecInput minus the fields this module resolves. */
export type ContainerSpecRequest = Omit<ContainerSpecInput, 'user' | 'devices' | 'hostDevices' | 'localhostSeccomp'>;

/** Resolves user, devices, seccomp and mount sources, then builds the spec. */
export async function prepareContainerSpec(req: ContainerSpecRequest): Promise<OciSpec> {
  const sc = req.config.linux?.securityContext ?? {};
  const user = await resolveUser(req.rootfs, {
    runAsUser: sc.runAsUser,
    runAsUsername: sc.runAsUsername,
    runAsGroup: sc.runAsGroup,
    imageUser: req.image.config?.User,
    supplementalGroups: sc.supplementalGroups,
  });
  const devices = await Promise.all((req.config.devices ?? []).map(resolveDevice));
  const hostDevices = sc.privileged ? await listHostDevices() : undefined;
  const localhostSeccomp =
    !sc.privileged && sc.seccomp?.profileType === 'Localhost' ? await loadSeccompProfile(sc.seccomp.localhostRef ?? '') : undefined;
  const mounts = await ensureMountSources(req.config.mounts ?? []);
  return buildContainerSpec({ ...req, config: { ...req.config, mounts }, user, devices, hostDevices, localhostSeccomp });
}

/** Linux dev_t split, as glibc's major()/minor(). */
export function splitDevT(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n));
  return { major, minor };
}

export async function resolveDevice(d: CriDevice): Promise<ResolvedDevice> {
  let st;
  try {
    st = await fsp.stat(d.hostPath, { bigint: true });
  } catch (e) {
    throw invalidArgument(`device ${d.hostPath}: ${errorMessage(e)}`, { device: d.hostPath });
  }
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) throw invalidArgument(`${d.hostPath} is not a device node`, { device: d.hostPath });
  return {
    containerPath: d.containerPath || d.hostPath,
    hostPath: d.hostPath,
    type,
    ...splitDevT(st.rdev),
    fileMode: Number(st.mode & 0o777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    permissions: d.permissions || 'rwm',
  };
}

// Directories under /dev that hold mounts or runtime state rather than device nodes.
const SKIP_DEV_DIRS = new Set(['pts', 'shm', 'mqueue', 'fd', '.lxc', '.lxd-mounts', '.udev']);

/** All device nodes under `dir` (for privileged containers); symlinks are not followed. */
export async function listHostDevices(dir = '/dev'): Promise<ResolvedDevice[]> {
  const out: ResolvedDevice[] = [];
  const walk = async (d: string, top: boolean): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (!(top && SKIP_DEV_DIRS.has(e.name))) await walk(p, false);
      } else if (e.isCharacterDevice() || e.isBlockDevice()) {
        if (p === '/dev/console') continue; // runc sets up the container's own console
        try {
          out.push(await resolveDevice({ containerPath: p, hostPath: p, permissions: 'rwm' }));
        } catch {
          // vanished while walking
        }
      }
    }
  };
  await walk(dir, true);
  return out;
}

/** Loads a Localhost seccomp profile (an OCI linux.seccomp JSON object). */
export async function loadSeccompProfile(path: string): Promise<OciSeccomp> {
  if (!path.startsWith('/')) throw invalidArgument(`seccomp profile path "${path}" is not absolute`, { profile: path });
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    throw invalidArgument(`cannot read seccomp profile ${path}: ${errorMessage(e)}`, { profile: path });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`seccomp profile ${path} is not valid JSON: ${errorMessage(e)}`, { profile: path });
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as OciSeccomp).defaultAction !== 'string') {
    throw invalidArgument(`seccomp profile ${path} has no defaultAction`, { profile: path });
  }
  return parsed as OciSeccomp;
}

/**
 * Like containerd: a missing host path is created as a directory (0755), and symlinks in the
 * host path are resolved so the bind source is what the kubelet meant at this moment.
 */
export async function ensureMountSources(mounts: CriMount[]): Promise<CriMount[]> {
  const out: CriMount[] = [];
  for (const m of mounts) {
    if (!m.hostPath.startsWith('/')) throw invalidArgument(`mount host path "${m.hostPath}" is not absolute`, { mount: m.containerPath });
    try {
      await fsp.stat(m.hostPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw invalidArgument(`mount source ${m.hostPath}: ${errorMessage(e)}`, { mount: m.containerPath });
      }
      await fsp.mkdir(m.hostPath, { recursive: true, mode: 0o755 });
    }
    out.push({ ...m, hostPath: await fsp.realpath(m.hostPath) });
  }
  return out;
}

// ---- host facts ----

export async function readOwnOomScoreAdj(): Promise<number> {
  return Number((await fsp.readFile('/proc/self/oom_score_adj', 'utf8')).trim());
}

/** berthd's capability bounding set: the most any container can get. */
export async function readBoundingCapabilities(): Promise<string[]> {
  const status = await fsp.readFile('/proc/self/status', 'utf8');
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  return m ? capabilitiesFromMask(m[1]) : [];
}

export interface HostFacts {
  cgroupV2: boolean;
  swapControllerAvailable: boolean;
  apparmorEnabled: boolean;
  oomScoreAdjFloor: number;
  hostCapabilities: string[];
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(
    () => true,
    () => false,
  );
}

export async function detectHostFacts(): Promise<HostFacts> {
  const cgroupV2 = (await statfs('/sys/fs/cgroup')).type === CGROUP2_SUPER_MAGIC;
  let swapControllerAvailable: boolean;
  if (cgroupV2) {
    const self = (await fsp.readFile('/proc/self/cgroup', 'utf8')).match(/^0::(.*)$/m)?.[1] ?? '/';
    swapControllerAvailable = await exists(join('/sys/fs/cgroup', self, 'memory.swap.max'));
  } else {
    swapControllerAvailable = await exists('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
  }
  const apparmorEnabled = (await fsp.readFile('/sys/module/apparmor/parameters/enabled', 'utf8').catch(() => 'N')).trim() === 'Y';
  return {
    cgroupV2,
    swapControllerAvailable,
    apparmorEnabled,
    oomScoreAdjFloor: await readOwnOomScoreAdj(),
    hostCapabilities: await readBoundingCapabilities(),
  };
}
