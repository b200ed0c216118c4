// Container logs through a real berthd: conmon writes the CRI log format the kubelet reads
// (`<RFC3339Nano> <stream> <F|P> <text>`) at <logDirectory>/<logPath>, and ReopenContainerLog
// after a rotation (rename) makes it write a new file at the same path.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeEnv, grpcCode, GrpcStatus, sleep, waitFor } from '../helpers/runtime-leaks';

interface LogLine {
  time: number;
  raw: string;
  stream: 'stdout' | 'stderr';
  tag: 'F' | 'P';
  text: string;
}

// conmon writes the offset as +00:00 where Go's RFC3339Nano would write Z; the kubelet accepts both.
const LINE_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) (F|P) (.*)$/;

function parseLog(text: string): LogLine[] {
  assert.ok(text.endsWith('\n'), 'every log record ends with a newline');
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => {
      const m = LINE_RE.exec(l);
      assert.ok(m, `not a CRI log line: ${JSON.stringify(l)}`);
      return { time: Date.parse(m[1]), raw: m[1], stream: m[2] as LogLine['stream'], tag: m[3] as LogLine['tag'], text: m[4] };
    });
}

const of = (lines: LogLine[], stream: string) => lines.filter((l) => l.stream === stream).map((l) => `${l.tag} ${l.text}`);

describe('container logs over CRI', { timeout: 120_000 }, () => {
  let env: RuntimeEnv;
  before(async () => {
    env = await RuntimeEnv.start();
  });
  afterEach(async () => {
    await env.cleanAndCheck();
  });
  after(async () => {
    await env?.close();
  });

  it('writes stdout and stderr in the CRI format, partial lines tagged P', async () => {
    const t0 = Date.now();
    const pod = await env.runPod('logs');
    const id = await env.createContainer(
      pod,
      'printer',
      ['sh', '-c', 'echo out1; echo err1 >&2; printf partial; sleep 0.3; echo " rest"; echo "  spaced  out "; printf "err-tail" >&2; sleep 0.3; printf tail'],
      { logPath: 'printer/0.log' },
    );
    const st = await env.waitExited(id);
    assert.equal(st.exitCode, 0);
    const path = join(pod.logDirectory, 'printer/0.log');
    assert.equal(st.logPath, path, 'ContainerStatus.log_path is the log file');
    const lines = parseLog(readFileSync(path, 'utf8'));
    assert.deepEqual(of(lines, 'stdout'), ['F out1', 'P partial', 'F  rest', 'F   spaced  out ', 'P tail']);
    assert.deepEqual(of(lines, 'stderr'), ['F err1', 'P err-tail']);
    for (const l of lines) {
      assert.ok(l.time >= t0 - 1000 && l.time <= Date.now() + 1000, `timestamp ${l.raw} is from this test`);
      assert.match(l.raw, /\.\d{9}/, 'nanosecond precision');
    }
    for (const s of ['stdout', 'stderr']) {
      const times = lines.filter((l) => l.stream === s).map((l) => l.time);
      assert.deepEqual(times, [...times].sort((a, b) => a - b), `${s} timestamps do not go back`);
    }
    // The sleeps separate the writes in time.
    const outs = lines.filter((l) => l.stream === 'stdout');
    assert.ok(outs[4].time - outs[0].time >= 500, 'timestamps are taken when the output arrives');
  });

  it('ReopenContainerLog after a rename makes conmon write a new file', async () => {
    const pod = await env.runPod('rotate');
    const id = await env.createContainer(pod, 'ticker', ['sh', '-c', 'i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.1; done'], {
      logPath: 'ticker.log',
    });
    const path = join(pod.logDirectory, 'ticker.log');
    await waitFor('three log lines', () => existsSync(path) && readFileSync(path, 'utf8').split('\n').length > 3);
    renameSync(path, `${path}.1`);
    // Without a reopen conmon keeps writing to the renamed file.
    await sleep(300);
    assert.equal(existsSync(path), false, 'no new file before ReopenContainerLog');
    await env.call('ReopenContainerLog', { containerId: id });
    // The call returns once conmon has opened the new file (callers check for it at once).
    assert.equal(existsSync(path), true, 'the new log file exists when ReopenContainerLog returns');
    await waitFor('the new log file to get lines', () => existsSync(path) && readFileSync(path, 'utf8').split('\n').length > 3);
    await env.call('StopContainer', { containerId: id, timeout: 0 });
    await env.waitExited(id);
    const old = parseLog(readFileSync(`${path}.1`, 'utf8')).map((l) => l.text);
    const cur = parseLog(readFileSync(path, 'utf8')).map((l) => l.text);
    assert.equal(old[0], 'line 0');
    // The counter continues in the new file: nothing lost or repeated across the reopen.
    const n = (s: string) => Number(s.split(' ')[1]);
    const all = [...old, ...cur].map(n);
    assert.deepEqual(all, all.map((_, i) => i), `lines across both files are 0..${all.length - 1}`);
    assert.ok(cur.length >= 3 && old.length >= 3);

    // Reopening the log of a container that is not running is refused.
    await assert.rejects(env.call('ReopenContainerLog', { containerId: id }), (e) => grpcCode(e) === GrpcStatus.FAILED_PRECONDITION);
    await assert.rejects(env.call('ReopenContainerLog', { containerId: 'f'.repeat(64) }), (e) => grpcCode(e) === GrpcStatus.NOT_FOUND);
  });
});
