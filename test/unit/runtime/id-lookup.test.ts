import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findByIdOrPrefix } from '../../../src/runtime/id-lookup';

test('exact ids win; unique prefixes of 3+ chars match; ambiguous and short ones do not', () => {
  const m = new Map([['abc123', { id: 'abc123' }], ['abd999', { id: 'abd999' }], ['abc', { id: 'abc' }]]);
  assert.equal(findByIdOrPrefix(m, 'abc')?.id, 'abc');
  assert.equal(findByIdOrPrefix(m, 'abc1')?.id, 'abc123');
  assert.equal(findByIdOrPrefix(m, 'abd')?.id, 'abd999');
  assert.equal(findByIdOrPrefix(m, 'ab'), undefined);
  assert.equal(findByIdOrPrefix(new Map([['abc1', { id: 'abc1' }], ['abc2', { id: 'abc2' }]]), 'abc'), undefined);
  assert.equal(findByIdOrPrefix(m, 'zzz'), undefined);
});
