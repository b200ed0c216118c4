import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  familiarName,
  formatReference,
  isDigest,
  parseReference,
  repoName,
  withDigest,
  withTag,
} from '../../../src/image/reference';
import { isBerthError } from '../../../src/util/errors';

const D = `sha256:${'a'.repeat(64)}`;
const D512 = `sha512:${'b'.repeat(128)}`;

test('normalizes names the way docker does', () => {
  const cases: Array<[string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/foo/bar:v1', 'docker.io/foo/bar:v1'],
    ['foo/bar', 'docker.io/foo/bar:latest'],
    ['foo/bar/baz', 'docker.io/foo/bar/baz:latest'],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
    ['localhost/foo', 'localhost/foo:latest'],
    ['localhost:5000/foo', 'localhost:5000/foo:latest'],
    ['127.0.0.1:5000/a/b:c', '127.0.0.1:5000/a/b:c'],
    ['[::1]:5000/foo:1', '[::1]:5000/foo:1'],
    ['quay.io/a_b/c__d/e-f/g--h/i.j:T_a.g-1', 'quay.io/a_b/c__d/e-f/g--h/i.j:T_a.g-1'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`],
    [`ghcr.io/x/y@${D512}`, `ghcr.io/x/y@${D512}`],
    ['host:5000', 'docker.io/library/host:5000'], // no slash: the ":5000" is a tag
  ];
  for (const [input, want] of cases) {
    assert.equal(formatReference(parseReference(input)), want, input);
  }
});

test('splits into domain, path, tag, digest', () => {
  assert.deepEqual(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
  assert.deepEqual(parseReference(`example.com:8443/a/b:t@${D}`), {
    domain: 'example.com:8443',
    path: 'a/b',
    tag: 't',
    digest: D,
  });
  // A digest alone does not get a default tag.
  assert.deepEqual(parseReference(`a/b@${D}`), { domain: 'docker.io', path: 'a/b', digest: D });
});

test('rejects invalid references with invalid-argument naming the reference', () => {
  const bad = [
    '',
    ' busybox',
    'Busybox',
    'docker.io/Foo/bar',
    'foo//bar',
    'foo/',
    '/foo',
    'foo_/bar',
    '-foo',
    'foo:',
    'foo:-bad',
    `foo:${'t'.repeat(129)}`,
    'foo@sha256:abc',
    `foo@sha256:${'A'.repeat(64)}`,
    `foo@md5:${'a'.repeat(32)}`,
    `foo@${'a'.repeat(64)}`,
    'a'.repeat(64),
    'foo:bar:baz',
    'foo bar',
    'exa_mple.com/foo',
    `example.com/${'a'.repeat(250)}`,
  ];
  for (const s of bad) {
    assert.throws(
      () => parseReference(s),
      (e: unknown) => isBerthError(e, 'invalid-argument') && e.message.includes(JSON.stringify(s)) && e.context.reference === s,
      `expected ${JSON.stringify(s)} to be rejected`,
    );
  }
});

test('uppercase in the first component makes it a domain (docker rule), uppercase path is rejected', () => {
  assert.equal(parseReference('Example/foo').domain, 'Example');
  assert.throws(() => parseReference('example.com/Foo'), /lowercase/);
});

test('repoName, withTag, withDigest, familiarName', () => {
  const r = parseReference('busybox:1.36');
  assert.equal(repoName(r), 'docker.io/library/busybox');
  assert.equal(formatReference(withTag(r, '2')), 'docker.io/library/busybox:2');
  assert.equal(formatReference(withDigest(r, D)), `docker.io/library/busybox@${D}`);
  assert.throws(() => withTag(r, 'bad tag'), (e: unknown) => isBerthError(e, 'invalid-argument'));
  assert.throws(() => withDigest(r, 'sha256:1234'), (e: unknown) => isBerthError(e, 'invalid-argument'));
  assert.equal(familiarName(r), 'busybox:1.36');
  assert.equal(familiarName(parseReference('foo/bar')), 'foo/bar:latest');
  assert.equal(familiarName(parseReference('quay.io/foo/bar:1')), 'quay.io/foo/bar:1');
});

test('isDigest', () => {
  assert.equal(isDigest(D), true);
  assert.equal(isDigest(D512), true);
  assert.equal(isDigest(`sha384:${'c'.repeat(96)}`), true);
  assert.equal(isDigest(`sha256:${'a'.repeat(63)}`), false);
  assert.equal(isDigest(`sha256:${'a'.repeat(65)}`), false);
  assert.equal(isDigest(`sha512:${'a'.repeat(64)}`), false);
  assert.equal(isDigest(`sha256:${'g'.repeat(64)}`), false);
  assert.equal(isDigest('a'.repeat(64)), false);
  assert.equal(isDigest(''), false);
});
