import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { logger, setLogLevel, setRootLogger } from '../../../src/util/log';

test('setLogLevel reaches loggers created before it', () => {
  const early = logger('early');
  setLogLevel('warn');
  assert.equal(early.level, 'warn');
  assert.equal(early.isLevelEnabled('info'), false);
  setLogLevel('debug');
  assert.equal(early.isLevelEnabled('debug'), true);
  assert.equal(logger('late').level, 'debug');
});

test('setRootLogger silences loggers created before it', () => {
  const early = logger('early-root');
  setRootLogger(pino({ level: 'silent' }));
  assert.equal(early.isLevelEnabled('error'), false);
  setRootLogger(pino({ level: 'info' }));
  assert.equal(early.isLevelEnabled('info'), true);
  assert.equal(early.isLevelEnabled('debug'), false);
});
