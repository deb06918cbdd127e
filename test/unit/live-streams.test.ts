// The one admission path and the one registry, with an engine and a store that the test drives:
// gate order, a veto stopping everything after it, commit before the announcement, announcements in
// order, and the one stream-name rule.
import assert from 'node:assert/strict';
import { EventHub, type StreamInfo } from '../../server/core/events.js';
import { ForbiddenError } from '../../server/core/errors.js';
import { checkStreamName, loopbackRtmpUrl, streamNameProblem } from '../../server/core/stream-names.js';
import { ingestOf, type StreamRequest } from '../../server/core/stream-request.js';
import type { EngineStream } from '../../server/engine/media-engine.js';
import { Admission, type PublishGate } from '../../server/features/live-streams/admission.js';
import { streamNameGate } from '../../server/features/live-streams/gates.js';
import { withEscapedSegmentUris } from '../../server/features/hls/playlist.js';
import { LiveRegistry, type RegistryEngine, type RegistryStore } from '../../server/features/live-streams/registry.js';

/** A Redis stand-in with SRS_STREAM_ACTIVE's semantics (remove only by the registered publisher). */
class MemoryStore implements RegistryStore {
  readonly entries = new Map<string, StreamInfo>();
  plays = 0;
  async list() {
    return [...this.entries.values()];
  }
  async get(key: string) {
    return this.entries.get(key) ?? null;
  }
  /** Set: writes fail, as while redis-server restarts. */
  down = false;
  async put(info: StreamInfo) {
    if (this.down) throw new Error('redis is down');
    this.entries.set(`${info.app}/${info.stream}`, info);
  }
  async remove(key: string, clientId?: string) {
    const current = this.entries.get(key);
    if (!current || (clientId !== undefined && current.client_id && current.client_id !== clientId)) return null;
    this.entries.delete(key);
    return current;
  }
  async countPlay() {
    this.plays += 1;
  }
}

/** An engine whose publishers appear when the test says so. */
class FakeEngine implements RegistryEngine {
  readonly serverId = 'vid-test';
  isReady = true;
  readonly publishing = new Set<string>();
  private readonly waiters: Array<() => void> = [];
  onStateChange(): void {}
  async streams(): Promise<EngineStream[]> {
    return [...this.publishing].map((k) => {
      const [app, stream] = k.split('/') as [string, string];
      return { app, stream, publishing: true, publisherId: '1', clients: [], video: null, audio: null, bytesIn: 0, uptimeMs: 0 };
    });
  }
  untilPublishing(app: string, stream: string): Promise<boolean> {
    if (this.publishing.has(`${app}/${stream}`)) return Promise.resolve(true);
    return new Promise((resolve) => this.waiters.push(() => resolve(true)));
  }
  /** The engine registers the publisher (after the hook answered). */
  register(app: string, stream: string): void {
    this.publishing.add(`${app}/${stream}`);
    for (const wake of this.waiters.splice(0)) wake();
  }
}

function request(stream: string, clientId = 'c1'): StreamRequest {
  return { protocol: 'rtmp', vhost: '__defaultVhost__', app: 'live', stream, param: '?secret=k', clientId, clientAddress: '10.0.0.9' };
}

function setup(gates: PublishGate[] = []) {
  const engine = new FakeEngine();
  const store = new MemoryStore();
  const events = new EventHub();
  const kicked: string[] = [];
  const registry = new LiveRegistry(engine, store, events, async (info) => void kicked.push(info.stream));
  const admission = new Admission(gates, registry);
  const announced: string[] = [];
  events.on('stream.published', (s) => void announced.push(`published ${s.stream}`));
  events.on('stream.unpublished', (s) => void announced.push(`unpublished ${s.stream}`));
  return { engine, store, events, registry, admission, announced, kicked };
}

const until = async (condition: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(condition(), what);
};

describe('admission: one ordered list of gates, then commit, then the announcement', () => {
  it('runs the gates in their order and commits only after the last one passed', async () => {
    const order: string[] = [];
    const gate = (name: string): PublishGate => ({ name, check: async () => void order.push(name) });
    const { admission, registry, store } = setup([gate('name'), gate('secret'), gate('callback')]);
    await admission.publish(request('s1'));
    assert.deepEqual(order, ['name', 'secret', 'callback']);
    assert.equal(registry.isLive('live', 's1'), true);
    assert.equal(store.entries.get('live/s1')?.client_id, 'c1');
  });

  it('a refusing gate stops the ones after it and nothing is registered or announced', async () => {
    const order: string[] = [];
    const { admission, registry, store, announced } = setup([
      { name: 'name', check: async () => void order.push('name') },
      {
        name: 'secret',
        check: async () => {
          order.push('secret');
          throw new ForbiddenError('wrong or missing secret');
        },
      },
      { name: 'callback', check: async () => void order.push('callback') },
    ]);
    await assert.rejects(admission.publish(request('s2')), (err: Error & { status?: number }) => err.status === 403);
    assert.deepEqual(order, ['name', 'secret'], 'the user callback never hears of a refused publish');
    assert.equal(registry.isLive('live', 's2'), false);
    assert.equal(store.entries.size, 0);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(announced, []);
  });

  it('the name gate refuses other apps and names delivery could not serve', async () => {
    const gate = streamNameGate(['live']);
    await gate.check(request('ok-1'));
    await assert.rejects(gate.check({ ...request('s'), app: 'other' }), /app "other" is not allowed/);
    await assert.rejects(gate.check(request('a b')), /no spaces/);
  });

  it('announces a publish only once committed and once the engine plays it', async () => {
    const { admission, engine, events, store, announced } = setup();
    let sawCommitted = false;
    events.on('stream.published', () => {
      sawCommitted = store.entries.has('live/s3');
    });
    await admission.publish(request('s3'));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(announced, [], 'not before the engine registered the publisher');
    engine.register('live', 's3');
    await until(() => announced.length === 1, 'announced after the engine shows it');
    assert.equal(sawCommitted, true, 'the registry held the stream when it was announced');
  });

  it('an unpublish that comes before the engine confirmed never overtakes the announcement', async () => {
    const { admission, engine, registry, announced } = setup();
    await admission.publish(request('s4'));
    await admission.unpublish(request('s4'));
    assert.equal(registry.isLive('live', 's4'), false, 'ended at once for readers');
    engine.register('live', 's4');
    await until(() => announced.length === 2, 'both announced');
    assert.deepEqual(announced, ['published s4', 'unpublished s4']);
  });

  it('only the registered publisher ends a stream; a refused second publisher does not', async () => {
    const { admission, engine, registry } = setup();
    engine.register('live', 's5');
    await admission.publish(request('s5', 'first'));
    await assert.rejects(admission.publish(request('s5', 'second')), /already being published/);
    await admission.unpublish(request('s5', 'second'));
    assert.equal(registry.isLive('live', 's5'), true);
    await admission.unpublish(request('s5', 'first'));
    assert.equal(registry.isLive('live', 's5'), false);
  });

  it('a consumer waiting for a stream is woken once the engine plays it, and gives up at its deadline', async () => {
    const { admission, engine, registry } = setup();
    const waiting = registry.untilPlayable('live', 's7', 10_000);
    await admission.publish(request('s7'));
    assert.equal(registry.isLive('live', 's7'), true);
    assert.equal(registry.isPlayable('live', 's7'), false, 'admitted, not yet played by the engine');
    engine.register('live', 's7');
    assert.equal(await waiting, true);
    assert.equal(registry.isPlayable('live', 's7'), true);
    assert.equal(await registry.untilPlayable('live', 's7', 0), true, 'at once when it already plays');
    const started = Date.now();
    assert.equal(await registry.untilPlayable('live', 'never', 50), false);
    assert.ok(Date.now() - started < 1000);
  });

  it('kickoff drops the publisher through its ingest and ends the stream', async () => {
    const { admission, engine, registry, kicked, announced } = setup();
    engine.register('live', 's6');
    await admission.publish(request('s6'));
    await registry.kickoff('__defaultVhost__', 'live', 's6');
    assert.deepEqual(kicked, ['s6']);
    assert.equal(registry.isLive('live', 's6'), false);
    await until(() => announced.includes('unpublished s6'), 'announced as ended');
    await assert.rejects(registry.kickoff('__defaultVhost__', 'live', 's6'), /not found/);
  });
});

describe('admission: an ingest bridging into the engine', () => {
  it("recognises the ingest's own RTMP publish of a stream it admitted, and nothing else", async () => {
    const gates: string[] = [];
    const { admission, registry, store } = setup([{ name: 'secret', check: async () => void gates.push('secret') }]);
    const srt = { ...request('b1', 'srt-7'), protocol: 'srt' as const, param: '?secret=k&upstream=srt' };
    await admission.publish(srt);
    gates.length = 0;
    const bridge = { ...request('b1', 'nginx-3'), param: `?upstream=srt&${admission.bridgeParam()}` };
    await admission.publish(bridge);
    assert.deepEqual(gates, [], 'no gate runs again for the bridge');
    assert.equal(store.entries.get('live/b1')?.client_id, 'srt-7', 'the ingest stays the registered publisher');
    await admission.unpublish(bridge);
    assert.equal(registry.isLive('live', 'b1'), true, "the bridge's end does not end the stream");
    await assert.rejects(admission.publish({ ...bridge, stream: 'never-admitted' }), /no ingest admitted it/);
    await admission.publish({ ...bridge, stream: 'b2', param: '?bridge=forged' });
    assert.deepEqual(gates, ['secret'], 'a forged bridge is an ordinary publish: every gate runs');
    assert.equal(ingestOf(srt.param), 'srt');
    assert.equal(ingestOf('?upstream=rtc'), 'webrtc');
    assert.equal(ingestOf('?secret=k'), 'rtmp');
  });

  it("kickoff asks the stream's own ingest to drop its publisher, then the engine", async () => {
    const { admission, registry, kicked } = setup();
    const dropped: string[] = [];
    registry.addIngest('srt', async (info) => void dropped.push(info.stream));
    await admission.publish({ ...request('k1'), param: '?upstream=srt' });
    await registry.kickoff('__defaultVhost__', 'live', 'k1');
    assert.deepEqual([dropped, kicked], [['k1'], ['k1']]);
  });
});

describe('live registry: reconciled with the engine', () => {
  it('ends ghosts the engine no longer has and adopts streams Redis lost', async () => {
    const { registry, engine, store, announced } = setup();
    store.entries.set('live/ghost', {
      vhost: '__defaultVhost__',
      app: 'live',
      stream: 'ghost',
      param: '',
      client_id: '7',
      update: '2020-01-01T00:00:00.000Z',
    });
    engine.register('live', 'adopted');
    await registry.onRedisReady();
    assert.deepEqual(
      registry.list().map((s) => s.stream),
      ['adopted'],
    );
    assert.ok(store.entries.has('live/adopted'));
    await until(() => announced.includes('unpublished ghost'), 'the ghost is announced as ended');
  });
});

describe('registry: the publish hook does not wait for Redis', () => {
  it('a publish admitted while Redis refuses writes is live at once, and persisted by the reconcile after Redis is back', async () => {
    const { registry, admission, engine, store } = setup();
    await registry.onRedisReady();
    store.down = true;
    await admission.publish(request('during'));
    assert.ok(registry.isLive('live', 'during'), 'live in memory, the hook answered');
    engine.register('live', 'during');
    assert.equal(store.entries.has('live/during'), false);
    store.down = false;
    await registry.reconcile();
    assert.equal(store.entries.get('live/during')?.client_id, 'c1', 'persisted once Redis takes writes');
  });
});

/** A registry with `stream` admitted, played by the engine and announced. */
async function liveStream(stream: string) {
  const parts = setup();
  await parts.registry.onRedisReady();
  await parts.admission.publish(request(stream));
  parts.engine.register('live', stream);
  await until(() => parts.announced.includes(`published ${stream}`), `${stream} announced`);
  return parts;
}

describe('registry: reconcile against a snapshot older than a change', () => {
  it('does not bring back a stream that ended while the reconcile read the engine, nor announce its end twice', async () => {
    const { registry, engine, announced } = await liveStream('k1');
    // The engine's answer, taken while k1 still published, arrives after k1 was kicked.
    const snapshot = await engine.streams();
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    engine.streams = async () => {
      await held;
      return snapshot;
    };
    const reconciling = registry.reconcile();
    await registry.end('__defaultVhost__', 'live', 'k1', 'kicked off');
    engine.publishing.delete('live/k1');
    release();
    await reconciling;
    assert.equal(registry.isLive('live', 'k1'), false, 'not adopted back from the stale snapshot');
    engine.streams = FakeEngine.prototype.streams.bind(engine);
    await registry.reconcile();
    await until(() => announced.includes('unpublished k1'), 'k1 announced as ended');
    assert.equal(announced.filter((a) => a === 'unpublished k1').length, 1, 'its end announced once');
  });
});

describe('registry: the engine stats lag behind a kick', () => {
  it('does not adopt a stream ended a moment ago that the engine still shows publishing', async () => {
    const { registry, announced } = await liveStream('k2');
    await registry.end('__defaultVhost__', 'live', 'k2', 'kicked off');
    // The engine has not dropped the publisher yet: its stats, read after the kick, still show it.
    await registry.reconcile();
    assert.equal(registry.isLive('live', 'k2'), false, 'not adopted back');
    assert.equal(announced.filter((a) => a === 'unpublished k2').length, 1);
  });
});

describe('stream names: one rule for every ingest and delivery', () => {
  it('accepts what the engine keeps byte for byte and refuses what any layer would change', () => {
    for (const ok of ['livestream', 'room-1_a.b', 'x'.repeat(1024), 'a@b+c~d', 'h#x', 'q%20z', 'u&v', "s'q", 'ç', '.hidden'])
      assert.equal(streamNameProblem(ok), null, ok);
    for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'a\0b', 'a b', 'tab\tx', 'k?x=1', 'x'.repeat(1025)]) {
      assert.notEqual(streamNameProblem(bad), null, JSON.stringify(bad));
      assert.throws(
        () => checkStreamName('stream', bad),
        (err: Error & { status?: number }) => err.status === 400 && /invalid stream name/.test(err.message),
      );
    }
  });

  it('builds the loopback URL with the name as the engine compares it (no escaping)', () => {
    assert.equal(loopbackRtmpUrl(1935, 'live', 'h#x'), 'rtmp://127.0.0.1:1935/live/h#x');
    assert.equal(loopbackRtmpUrl(19350, 'live', 'q%20z'), 'rtmp://127.0.0.1:19350/live/q%20z');
  });
});

describe('HLS playlists of unusual names', () => {
  it('escapes each path component of segment URIs and leaves plain playlists untouched', () => {
    const plain = '#EXTM3U\n#EXTINF:2.000,\nlivestream-1.ts\n#EXTINF:2.000,\nn/livestream-2.ts\n';
    assert.equal(withEscapedSegmentUris(plain), plain);
    const odd = '#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:2.000,\nn#1%20a&b-3.ts\n#EXTINF:2.000,\nn/n#1%20a&b-4.ts\n';
    assert.equal(
      withEscapedSegmentUris(odd),
      '#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:2.000,\nn%231%2520a%26b-3.ts\n#EXTINF:2.000,\nn/n%231%2520a%26b-4.ts\n',
    );
  });
});
