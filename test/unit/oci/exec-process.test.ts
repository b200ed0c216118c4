// The process spec for `runc exec --process`: the container's process with exec's overrides.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execProcessSpec } from '../../../src/oci/runc';
import type { OciProcess } from '../../../src/oci/runtime-spec';

const base: OciProcess = {
  terminal: false,
  user: { uid: 0, gid: 0, additionalGids: [0, 10] },
  args: ['sleep', '1000'],
  env: ['PATH=/bin', 'HOME=/root', 'A=1'],
  cwd: '/',
  capabilities: { bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'], inheritable: [], permitted: ['CAP_CHOWN'], ambient: [] },
  noNewPrivileges: true,
  consoleSize: { height: 10, width: 10 },
};

test("user, groups, cwd, env and args replace the container's; the rest is kept", () => {
  const p = execProcessSpec(base, ['id', '-G'], true, { user: '65534:65533', additionalGids: [65533], cwd: '/tmp', env: ['HOME=/nonexistent', 'B=2'], base });
  assert.deepEqual(p.user, { uid: 65534, gid: 65533, additionalGids: [65533] });
  assert.deepEqual(p.args, ['id', '-G']);
  assert.equal(p.terminal, true);
  assert.equal(p.cwd, '/tmp');
  assert.deepEqual(p.env, ['PATH=/bin', 'A=1', 'HOME=/nonexistent', 'B=2']);
  assert.deepEqual(p.capabilities, base.capabilities);
  assert.equal(p.noNewPrivileges, true);
  assert.equal('consoleSize' in p, false, "the container's console size is not the exec's");
});

test("without overrides the container's user and groups stay", () => {
  const p = execProcessSpec(base, ['true'], false, { base });
  assert.deepEqual(p.user, base.user);
  assert.deepEqual(p.env, base.env);
  assert.equal(p.cwd, '/');
});

test("a terminal exec starts with the client's size; a non-terminal one gets none", () => {
  assert.deepEqual(execProcessSpec(base, ['sh'], true, { base }, { height: 30, width: 100 }).consoleSize, { height: 30, width: 100 });
  assert.equal('consoleSize' in execProcessSpec(base, ['sh'], false, { base }, { height: 30, width: 100 }), false);
});
