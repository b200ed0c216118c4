import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGetfattrOutput } from '../../../src/image/writer/xattr-reader';

test('getfattr hex output parses into per-file binary values, with escaped names decoded', () => {
  const out = [
    '# file: /r/nl\\012name',
    'user.z=0x31',
    '',
    '# file: /r/back\\134slash',
    'security.capability=0x0100000200200000',
    'user.text="plain"',
    'user.b64=0sAAE=',
    '',
  ].join('\n');
  const m = parseGetfattrOutput(out);
  assert.deepEqual([...m.keys()], ['/r/nl\nname', '/r/back\\slash']);
  assert.deepEqual(m.get('/r/nl\nname')?.get('user.z'), Buffer.from('1'));
  const b = m.get('/r/back\\slash')!;
  assert.deepEqual(b.get('security.capability'), Buffer.from('0100000200200000', 'hex'));
  assert.deepEqual(b.get('user.text'), Buffer.from('plain'));
  assert.deepEqual(b.get('user.b64'), Buffer.from([0, 1]));
});
