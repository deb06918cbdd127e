import assert from 'node:assert/strict';
import { CachedRead } from '../../server/core/cached-read.js';

/** A load whose answers the test releases one by one. */
function controlledLoad() {
  const calls: Array<{ resolve: (v: string) => void; reject: (e: Error) => void }> = [];
  const load = () => new Promise<string>((resolve, reject) => calls.push({ resolve, reject }));
  return { calls, load };
}

describe('CachedRead: a Redis value this process writes, read without waiting for Redis', () => {
  it('loads once, then answers from memory until the value is older than maxAgeMs', async () => {
    let clock = 0;
    let loads = 0;
    const read = new CachedRead(
      async () => `v${++loads}`,
      1000,
      () => clock,
    );
    assert.equal(await read.get(), 'v1');
    clock = 1000;
    assert.equal(await read.get(), 'v1');
    assert.equal(loads, 1);
    clock = 1001; // stale: served as is while a reload runs
    assert.equal(await read.get(), 'v1');
    assert.equal(loads, 2);
    await new Promise((r) => setImmediate(r));
    assert.equal(await read.get(), 'v2');
  });

  it('shares one load between concurrent readers', async () => {
    const { calls, load } = controlledLoad();
    const read = new CachedRead(load, 1000);
    const both = Promise.all([read.get(), read.get()]);
    assert.equal(calls.length, 1);
    calls[0]?.resolve('a');
    assert.deepEqual(await both, ['a', 'a']);
  });

  it('after invalidate() the next read loads again, and a load begun before the write never stores what it read', async () => {
    const { calls, load } = controlledLoad();
    const read = new CachedRead(load, 1000);
    const before = read.get();
    read.invalidate(); // a write finished while the first load was in flight
    const after = read.get();
    assert.equal(calls.length, 2);
    calls[1]?.resolve('new');
    calls[0]?.resolve('old');
    assert.equal(await before, 'old');
    assert.equal(await after, 'new');
    assert.equal(await read.get(), 'new');
    assert.equal(calls.length, 2);
  });

  it('fails like a plain read with nothing loaded, and keeps the last value when a reload fails', async () => {
    let clock = 0;
    let fail = true;
    const read = new CachedRead(
      async () => {
        if (fail) throw new Error('redis is down');
        return 'kept';
      },
      10,
      () => clock,
    );
    await assert.rejects(read.get(), /redis is down/);
    fail = false;
    assert.equal(await read.get(), 'kept');
    fail = true;
    clock = 100;
    assert.equal(await read.get(), 'kept');
    await new Promise((r) => setImmediate(r));
    assert.equal(await read.get(), 'kept');
  });
});
