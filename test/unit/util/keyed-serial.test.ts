import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedSerial } from '../../../src/util/keyed-serial';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('one call at a time per key, keys in parallel; a failure does not block the next; idle keys are dropped', async () => {
  const s = new KeyedSerial();
  const log: string[] = [];
  const job = (name: string, ms: number, fail = false) => async () => {
    log.push(`${name}+`);
    await tick(ms);
    log.push(`${name}-`);
    if (fail) throw new Error(name);
    return name;
  };
  const a1 = s.run('a', job('a1', 30, true));
  const a2 = s.run('a', job('a2', 5));
  const b1 = s.run('b', job('b1', 5));
  assert.equal(s.size, 2);
  await assert.rejects(a1, /a1/);
  assert.equal(await a2, 'a2');
  assert.equal(await b1, 'b1');
  assert.deepEqual(log, ['a1+', 'b1+', 'b1-', 'a1-', 'a2+', 'a2-']);
  await tick(0);
  assert.equal(s.size, 0);
});
