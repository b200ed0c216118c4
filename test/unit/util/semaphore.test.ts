import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Semaphore, SharedExclusiveLock, SingleFlight } from '../../../src/util/semaphore';

const tick = () => new Promise((r) => setTimeout(r, 5));

test('semaphore bounds concurrency', async () => {
  const s = new Semaphore(3);
  let active = 0;
  let peak = 0;
  await Promise.all(
    Array.from({ length: 10 }, () =>
      s.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await tick();
        active--;
      }),
    ),
  );
  assert.equal(peak, 3);
});

test('exclusive waits for shared holders and blocks new ones', async () => {
  const l = new SharedExclusiveLock();
  const events: string[] = [];
  const s1 = l.withShared(async () => {
    events.push('s1+');
    await tick();
    events.push('s1-');
  });
  const x = l.withExclusive(async () => {
    events.push('x+');
    await tick();
    events.push('x-');
  });
  const s2 = l.withShared(async () => {
    events.push('s2+');
  });
  await Promise.all([s1, x, s2]);
  assert.deepEqual(events, ['s1+', 's1-', 'x+', 'x-', 's2+']);
});

test('single flight shares one call per key and forgets it afterwards', async () => {
  const sf = new SingleFlight<number>();
  let calls = 0;
  const f = async () => {
    calls++;
    await tick();
    return calls;
  };
  const [a, b] = await Promise.all([sf.do('k', f), sf.do('k', f)]);
  assert.equal(a, 1);
  assert.equal(b, 1);
  assert.equal(await sf.do('k', f), 2);
  await assert.rejects(sf.do('e', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(sf.has('e'), false);
});
