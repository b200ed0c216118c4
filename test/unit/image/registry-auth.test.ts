import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basicCredentials, basicHeader, credentialsApply, parseWWWAuthenticate } from '../../../src/image/registry/auth';
import { isBerthError } from '../../../src/util/errors';

test('parses a docker Bearer challenge', () => {
  const h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"';
  assert.deepEqual(parseWWWAuthenticate(h), [
    {
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    },
  ]);
});

test('parses Basic, unquoted values, escapes, spaces and several challenges', () => {
  assert.deepEqual(parseWWWAuthenticate('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  assert.deepEqual(parseWWWAuthenticate('basic  Realm = x'), [{ scheme: 'basic', params: { realm: 'x' } }]);
  assert.deepEqual(parseWWWAuthenticate('Bearer realm="a\\"b,c", error="insufficient_scope"'), [
    { scheme: 'bearer', params: { realm: 'a"b,c', error: 'insufficient_scope' } },
  ]);
  assert.deepEqual(parseWWWAuthenticate('Basic realm="r", Bearer realm="https://t/token",service=s'), [
    { scheme: 'basic', params: { realm: 'r' } },
    { scheme: 'bearer', params: { realm: 'https://t/token', service: 's' } },
  ]);
  assert.deepEqual(parseWWWAuthenticate(''), []);
});

test('basic credentials from username/password or the base64 auth field', () => {
  assert.deepEqual(basicCredentials({ username: 'u', password: 'p' }), { username: 'u', password: 'p' });
  const auth = Buffer.from('alice:s3:cret').toString('base64');
  assert.deepEqual(basicCredentials({ auth }), { username: 'alice', password: 's3:cret' });
  assert.equal(basicCredentials({}), undefined);
  assert.equal(basicCredentials(undefined), undefined);
  assert.throws(() => basicCredentials({ auth: Buffer.from('nocolon').toString('base64') }), (e: unknown) => isBerthError(e, 'invalid-argument'));
  assert.equal(basicHeader('u', 'p'), `Basic ${Buffer.from('u:p').toString('base64')}`);
});

test('credentials pinned to a server address apply only there', () => {
  assert.equal(credentialsApply({ username: 'u' }, 'any.host'), true);
  assert.equal(credentialsApply({ username: 'u', serverAddress: 'https://reg.example:5000/v1/' }, 'reg.example:5000'), true);
  assert.equal(credentialsApply({ username: 'u', serverAddress: 'reg.example:5000' }, 'other.example'), false);
  assert.equal(credentialsApply({ username: 'u', serverAddress: 'https://index.docker.io/v1/' }, 'registry-1.docker.io'), true);
});
