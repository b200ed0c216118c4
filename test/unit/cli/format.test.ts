import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ago, binarySize, humanDuration, humanSize, nsToMs, parseDuration, parseSince, shortId } from '../../../src/cli/format';
import { renderTable, truncate } from '../../../src/cli/table';

describe('humanDuration', () => {
  const s = 1000;
  const cases: Array<[number, string]> = [
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [1 * s, '1 second'],
    [59 * s, '59 seconds'],
    [60 * s, 'About a minute'],
    [119 * s, 'About a minute'],
    [3 * 60 * s, '3 minutes'],
    [59 * 60 * s, '59 minutes'],
    [3600 * s, 'About an hour'],
    [5 * 3600 * s, '5 hours'],
    [47 * 3600 * s, '47 hours'],
    [3 * 86400 * s, '3 days'],
    [20 * 86400 * s, '2 weeks'],
    [100 * 86400 * s, '3 months'],
    [800 * 86400 * s, '2 years'],
  ];
  for (const [ms, want] of cases) it(`${ms} ms → ${want}`, () => assert.equal(humanDuration(ms), want));
  it('ago', () => {
    assert.equal(ago(1_000_000, 1_000_000 + 2500), '2 seconds ago');
    assert.equal(ago(0), '');
  });
});

describe('sizes and ids', () => {
  it('decimal sizes with 3 significant digits', () => {
    assert.equal(humanSize(0), '0B');
    assert.equal(humanSize(999), '999B');
    assert.equal(humanSize(1000), '1kB');
    assert.equal(humanSize(4_261_000), '4.26MB');
    assert.equal(humanSize(77_800_000), '77.8MB');
    assert.equal(humanSize(187_400_000), '187MB');
    assert.equal(humanSize(999_999), '1MB');
    assert.equal(humanSize(1_240_000_000), '1.24GB');
  });
  it('binary sizes with 4 significant digits', () => {
    assert.equal(binarySize(2_048_000), '1.953MiB');
    assert.equal(binarySize(512), '512B');
    assert.equal(binarySize(64 * 1024 * 1024), '64MiB');
    assert.equal(binarySize(8 * 1024 ** 3), '8GiB');
  });
  it('short ids and CRI nanosecond times', () => {
    assert.equal(shortId('sha256:0123456789abcdef0123'), '0123456789ab');
    assert.equal(shortId('fedcba9876543210'), 'fedcba987654');
    assert.equal(nsToMs('1700000000123456789'), 1700000000123);
    assert.equal(nsToMs('0'), 0);
  });
});

describe('durations and --since', () => {
  it('parses Go durations', () => {
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('10'), undefined);
    assert.equal(parseDuration('ten minutes'), undefined);
  });
  it('parses --since forms', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    assert.equal(parseSince('10m', now), now - 600_000);
    assert.equal(parseSince('1714564800', now), Date.parse('2024-05-01T12:00:00Z'));
    assert.equal(parseSince('1714564800.5', now), Date.parse('2024-05-01T12:00:00.500Z'));
    assert.equal(parseSince('2024-05-01T11:00:00Z', now), Date.parse('2024-05-01T11:00:00Z'));
    assert.throws(() => parseSince('yesterday', now), /not a duration/);
  });
});

describe('renderTable', () => {
  it('pads columns to the widest cell, three spaces apart, no trailing space', () => {
    const t = renderTable(['NAME', 'ID', 'X'], [['a', '12345', ''], ['longer-name', '1', 'y']]);
    assert.equal(t, ['NAME          ID      X', 'a             12345', 'longer-name   1       y', ''].join('\n'));
  });
  it('renders headers alone when there are no rows', () => {
    assert.equal(renderTable(['A', 'B'], []), 'A   B\n');
  });
  it('truncates with an ellipsis', () => {
    assert.equal(truncate('sh -c echo hello world', 10), 'sh -c ech…');
    assert.equal(truncate('short', 10), 'short');
  });
});
