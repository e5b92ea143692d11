// keyvalue.js against the draft2 contract the component relies on (node --test).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKeyValue } from './keyvalue.js';

const bytes = (text) => new TextEncoder().encode(text);
const tagOf = (fn) => {
  try {
    fn();
  } catch (e) {
    return e.payload?.tag;
  }
  return 'no error';
};

test('open knows only the declared buckets', () => {
  const { store } = createKeyValue({ buckets: ['default'] });
  assert.ok(store.open('default') instanceof store.Bucket);
  assert.equal(tagOf(() => store.open('typo')), 'no-such-store');
});

test('get, set, delete, exists and list-keys', () => {
  const { store } = createKeyValue();
  const bucket = store.open('default');
  assert.equal(bucket.get('k'), undefined);
  bucket.set('k', bytes('v'));
  assert.deepEqual(bucket.get('k'), bytes('v'));
  assert.ok(bucket.exists('k'));
  assert.deepEqual(bucket.listKeys(undefined), { keys: ['k'], cursor: undefined });
  bucket.delete('k');
  assert.ok(!bucket.exists('k'));
});

test('buckets opened twice, or by two instances, are one store', () => {
  const { store } = createKeyValue();
  store.open('default').set('k', bytes('v'));
  assert.deepEqual(store.open('default').get('k'), bytes('v'));
});

test('a value handed in or out is a copy', () => {
  const { store } = createKeyValue();
  const bucket = store.open('default');
  const value = bytes('v');
  bucket.set('k', value);
  value[0] = 0;
  bucket.get('k')[0] = 0;
  assert.deepEqual(bucket.get('k'), bytes('v'));
});

test('swap writes when nothing changed since the CAS read, absent or present', () => {
  const { store, atomics } = createKeyValue();
  const bucket = store.open('default');
  const create = atomics.Cas.new(bucket, 'k');
  assert.equal(create.current(), undefined);
  atomics.swap(create, bytes('1'));
  const update = atomics.Cas.new(bucket, 'k');
  assert.deepEqual(update.current(), bytes('1'));
  atomics.swap(update, bytes('2'));
  assert.deepEqual(bucket.get('k'), bytes('2'));
});

test('swap fails with cas-failed, handing the CAS back, after any write since it read', () => {
  const { store, atomics } = createKeyValue();
  const bucket = store.open('default');
  bucket.set('k', bytes('1'));
  const cas = atomics.Cas.new(bucket, 'k');
  // The same bytes written back still count as a change (no ABA).
  bucket.set('k', bytes('1'));
  let error;
  try {
    atomics.swap(cas, bytes('2'));
  } catch (e) {
    error = e;
  }
  assert.equal(error.payload.tag, 'cas-failed');
  assert.equal(error.payload.val, cas);
  assert.deepEqual(bucket.get('k'), bytes('1'));

  const racing = atomics.Cas.new(bucket, 'new');
  bucket.set('new', bytes('first'));
  assert.equal(tagOf(() => atomics.swap(racing, bytes('second'))), 'cas-failed');
  assert.deepEqual(bucket.get('new'), bytes('first'));
});

test('increment counts in decimal text and refuses what is not a number', () => {
  const { store, atomics } = createKeyValue();
  const bucket = store.open('default');
  assert.equal(atomics.increment(bucket, 'n', 5n), 5n);
  assert.equal(atomics.increment(bucket, 'n', -7n), -2n);
  assert.deepEqual(bucket.get('n'), bytes('-2'));
  bucket.set('text', bytes('abc'));
  assert.equal(tagOf(() => atomics.increment(bucket, 'text', 1n)), 'other');
  bucket.set('max', bytes('9223372036854775807'));
  assert.equal(tagOf(() => atomics.increment(bucket, 'max', 1n)), 'other');
});

test('snapshot shows what a bucket holds', () => {
  const { store, snapshot } = createKeyValue();
  store.open('default').set('k', bytes('v'));
  assert.deepEqual([...snapshot('default')], [['k', bytes('v')]]);
});
