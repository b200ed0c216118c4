import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizedTag } from '../../../src/cli/commands/images';

test("docker's short image names normalize to full tag references", () => {
  assert.equal(normalizedTag('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalizedTag('busybox:1.36'), 'docker.io/library/busybox:1.36');
  assert.equal(normalizedTag('me/app'), 'docker.io/me/app:latest');
  assert.equal(normalizedTag('127.0.0.1:5000/test/bb:v1'), '127.0.0.1:5000/test/bb:v1');
  assert.equal(normalizedTag('registry.k8s.io/pause:3.6'), 'registry.k8s.io/pause:3.6');
  assert.equal(normalizedTag('localhost/x'), 'localhost/x:latest');
});
