// config.js: the component's lower-case names read upper-case variables (node --test).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createConfig } from './config.js';

test('a setting is the variable of the same name in upper case; unset is none', () => {
  const config = createConfig({ ENTRA_IDENTITY_CACHE_KEY: 'k', PATH: '/bin' });
  assert.equal(config.get('entra_identity_cache_key'), 'k');
  assert.equal(config.get('entra_identity_cache_bucket'), undefined);
});

test('get-all lists only the component\'s own settings', () => {
  const config = createConfig({ ENTRA_IDENTITY_CACHE_KEY: 'k', HOME: '/root' });
  assert.deepEqual(config.getAll(), [['entra_identity_cache_key', 'k']]);
});
