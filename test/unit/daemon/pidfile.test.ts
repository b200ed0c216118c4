import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquirePidFile } from '../../../src/daemon/pidfile';
import { isBerthError } from '../../../src/util/errors';

test('a stale or foreign pid is taken over; a live berthd is refused; release removes the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pid-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'berthd.pid');

  const release = acquirePidFile(dir);
  assert.equal(readFileSync(file, 'utf8'), `${process.pid}\n`);
  release();
  assert.equal(existsSync(file), false);

  writeFileSync(file, '999999999\n'); // no such process
  acquirePidFile(dir)();
  writeFileSync(file, '1\n'); // alive, but not a berthd
  acquirePidFile(dir)();

  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'src/daemon/main.ts']);
  t.after(() => other.kill('SIGKILL'));
  await new Promise((r) => other.once('spawn', r));
  writeFileSync(file, `${other.pid}\n`);
  assert.throws(() => acquirePidFile(dir), (e) => isBerthError(e, 'failed-precondition') && /another berthd/.test((e as Error).message));
  assert.equal(readFileSync(file, 'utf8'), `${other.pid}\n`, 'the other daemon keeps its pid file');
});
