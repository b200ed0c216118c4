// The pull progress renderer: plain lines on status changes, terminal frames redrawn in place.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBoard } from '../../../src/cli/pull-progress';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

describe('ProgressBoard', () => {
  it('gives a plain line only when a layer changes status', () => {
    const b = new ProgressBoard();
    assert.equal(b.update({ digest: '', status: 'resolving', current: 0, total: 0 }), undefined);
    assert.equal(b.update({ digest: A, status: 'waiting', current: 0, total: 2_000_000 }), 'aaaaaaaaaaaa: Waiting 2MB');
    assert.equal(b.update({ digest: A, status: 'downloading', current: 10, total: 2_000_000 }), 'aaaaaaaaaaaa: Downloading 2MB');
    assert.equal(b.update({ digest: A, status: 'downloading', current: 500, total: 2_000_000 }), undefined);
    assert.equal(b.update({ digest: A, status: 'done', current: 2_000_000, total: 2_000_000 }), 'aaaaaaaaaaaa: Pull complete 2MB');
    assert.equal(b.update({ digest: B, status: 'already exists', current: 5, total: 5 }), 'bbbbbbbbbbbb: Already exists 5B');
  });

  it('shows bytes and speed while downloading, one line per layer in first-seen order', () => {
    const b = new ProgressBoard();
    b.update({ digest: B, status: 'waiting', current: 0, total: 100 }, 0);
    b.update({ digest: A, status: 'downloading', current: 0, total: 4_000_000 }, 1000);
    b.update({ digest: A, status: 'downloading', current: 1_000_000, total: 4_000_000 }, 3000);
    const lines = b.lines();
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^bbbbbbbbbbbb: Waiting\s+100B$/);
    assert.match(lines[1], /^aaaaaaaaaaaa: Downloading\s+1MB\/4MB 500kB\/s$/);
  });

  it('redraws in place: the second frame moves the cursor up over the first', () => {
    const b = new ProgressBoard();
    b.update({ digest: A, status: 'waiting', current: 0, total: 1 });
    const first = b.frame();
    assert.ok(!first.includes('\x1b[1A'), JSON.stringify(first));
    assert.equal(first.split('\n').length - 1, 1);
    b.update({ digest: B, status: 'waiting', current: 0, total: 1 });
    const second = b.frame();
    assert.ok(second.startsWith('\x1b[1A'), JSON.stringify(second));
    assert.equal((second.match(/\x1b\[2K/g) ?? []).length, 2);
    assert.ok(b.frame().startsWith('\x1b[2A'));
  });
});
