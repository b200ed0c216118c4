import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logger, setLogLevel } from '../../../src/util/log';

test('setLogLevel reaches loggers created before it', () => {
  const early = logger('early');
  setLogLevel('warn');
  assert.equal(early.level, 'warn');
  assert.equal(early.isLevelEnabled('info'), false);
  setLogLevel('debug');
  assert.equal(early.isLevelEnabled('debug'), true);
  assert.equal(logger('late').level, 'debug');
});
