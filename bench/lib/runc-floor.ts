// The raw-runc floor for container benchmarks: a prepared busybox bundle (static busybox and its
// applets as symlinks, host network, no CNI, no image, no monitor) in a temp dir with its own runc
// root, and a runc runner that never leaves a container behind: every id it created is deleted
// (-f) by release() and, on failure or Ctrl-C, by the cleanup registry.
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { RUNC_BIN } from './containerd';
import { interrupted, onCleanup } from './procs';

export const BUSYBOX_BIN = '/bin/busybox';

export interface RuncFloor {
  /** runc --root of this floor (private to the run). */
  root: string;
  bundle: string;
  /** `runc run -d` of the bundle with `args` as the process, in `<cgroupParent>/runc-<id>`. */
  runDetached(id: string, args: string[]): Promise<void>;
  /** Any runc command under our root, stdio ignored except stderr (for the error message). */
  runc(args: string[]): Promise<void>;
  /** Delete (-f) every container this floor created, remove its dir; idempotent. */
  release(): Promise<void>;
}

export async function prepareRuncFloor(parentDir: string, cgroupParent: string, applets: string[] = ['sh', 'sleep', 'true', 'echo']): Promise<RuncFloor> {
  const dir = mkdtempSync(join(parentDir, 'berth-bench-runc-'));
  const root = join(dir, 'runc-root');
  const bundle = join(dir, 'bundle');
  const errFile = join(dir, 'runc.err');
  const live = new Set<string>();
  let inflight: Promise<unknown> = Promise.resolve();

  const runcCmd = (args: string[]): Promise<void> =>
    new Promise((ok, ko) => {
      // Never pipes for stdout: a detached container inherits runc's stdio and would keep a pipe open.
      const fd = openSync(errFile, 'w');
      const child = spawn(RUNC_BIN, ['--root', root, ...args], { stdio: ['ignore', 'ignore', fd] });
      closeSync(fd);
      child.once('error', ko);
      child.once('exit', (code) => (code === 0 ? ok() : ko(new Error(`runc ${args.join(' ')} exited ${code}: ${readFileSync(errFile, 'utf8').trim()}`))));
    });
  const runc = (args: string[]) => {
    const p = runcCmd(args);
    inflight = p.catch(() => undefined);
    return p;
  };
  let released: Promise<void> | undefined;
  const release = () =>
    (released ??= (async () => {
      unregister();
      await inflight; // a container being created right now is deleted too
      for (const id of live) await runcCmd(['delete', '--force', id]).catch(() => undefined);
      live.clear();
      rmSync(dir, { recursive: true, force: true });
    })());
  const unregister = onCleanup('runc floor containers', release);

  const rootfs = join(bundle, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX_BIN, join(rootfs, 'bin', 'busybox'));
  for (const a of applets) symlinkSync('busybox', join(rootfs, 'bin', a));
  execFileSync(RUNC_BIN, ['spec', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.linux.namespaces = spec.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'network');

  return {
    root,
    bundle,
    runc,
    release,
    runDetached: async (id, args) => {
      const sig = interrupted();
      if (sig) throw new Error(`interrupted by ${sig}`);
      spec.process.args = args;
      spec.linux.cgroupsPath = `${cgroupParent}/runc-${id}`;
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
      live.add(id);
      await runc(['run', '-d', '--bundle', bundle, id]);
    },
  };
}
