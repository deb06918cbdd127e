import assert from 'node:assert/strict';
import { NotFoundError } from '../../server/core/errors.js';
import type { ActiveStream } from '../../server/features/live-streams/registry.js';
import {
  HealthHistory,
  HISTORY_MS,
  KEEP_ENDED_MS,
  Ring,
  SAMPLE_EVERY_MS,
  type StreamSample,
} from '../../server/features/stream-page/history.js';
import { streamPageView } from '../../server/features/stream-page/routes.js';
import { StreamPageService, type StreamDestination } from '../../server/features/stream-page/service.js';

const sample = (kbps: number, destinations: StreamSample['destinations'] = []): StreamSample => ({
  kbps,
  fps: 25,
  keyframeIntervalSeconds: 2,
  avDriftMs: 40,
  viewers: 1,
  destinations,
});
const only = (key: string, s: StreamSample) => new Map([[key, s]]);
const T0 = 1_700_000_000_000;

describe('stream page: the ring buffer', () => {
  it('keeps the last `capacity` items, oldest first', () => {
    const ring = new Ring<number>(3);
    assert.deepEqual(ring.values(), []);
    ring.push(1);
    ring.push(2);
    assert.deepEqual(ring.values(), [1, 2]);
    for (const n of [3, 4, 5]) ring.push(n);
    assert.deepEqual(ring.values(), [3, 4, 5]);
    ring.push(6);
    assert.deepEqual(ring.values(), [4, 5, 6]);
    assert.equal(ring.size, 3);
  });

  it('refuses a capacity below 1', () => {
    assert.throws(() => new Ring(0), /capacity of at least 1/);
  });
});

describe('stream page: five minutes of health', () => {
  it('samples every 5 s into aligned columns, never more than five minutes of them', () => {
    const h = new HealthHistory();
    const rounds = HISTORY_MS / SAMPLE_EVERY_MS + 10;
    for (let i = 0; i < rounds; i++) h.record(T0 + i * SAMPLE_EVERY_MS, only('live/a', sample(1000 + i)));
    const now = T0 + (rounds - 1) * SAMPLE_EVERY_MS;
    const s = h.series('live/a', now);
    assert.ok(s);
    assert.equal(s.t.length, HISTORY_MS / SAMPLE_EVERY_MS, 'bounded by the ring');
    assert.equal(s.kbps.length, s.t.length);
    assert.equal(s.fps.length, s.t.length);
    assert.equal(s.keyframeIntervalSeconds.length, s.t.length);
    assert.equal(s.kbps.at(-1), 1000 + rounds - 1, 'the newest last');
    assert.equal(s.t.at(-1), Math.round(now / 1000));
    assert.ok(now - (s.t[0] as number) * 1000 <= HISTORY_MS);
    assert.equal(s.intervalSeconds, 5);
  });

  it('lines up each destination with the times, null where it had no task', () => {
    const h = new HealthHistory();
    h.record(T0, only('live/a', sample(1000)));
    h.record(T0 + 5000, only('live/a', sample(1000, [{ feature: 'forward', platform: 'wx', kbps: 900, state: 'live' }])));
    h.record(T0 + 10_000, only('live/a', sample(1000, [{ feature: 'forward', platform: 'wx', kbps: null, state: 'retrying' }])));
    const s = h.series('live/a', T0 + 10_000);
    assert.deepEqual(s?.destinations, [{ feature: 'forward', platform: 'wx', kbps: [null, 900, null], state: [null, 'live', 'retrying'] }]);
  });

  it('keeps an ended stream for a minute (its page shows the end), then drops it', () => {
    const h = new HealthHistory();
    h.record(T0, only('live/a', sample(1000)));
    h.record(T0 + 5000, new Map());
    assert.equal(h.endedAt('live/a'), T0 + 5000);
    assert.equal(h.series('live/a', T0 + 5000)?.kbps.length, 1);
    h.record(T0 + 5000 + KEEP_ENDED_MS - 1, new Map());
    assert.equal(h.size, 1);
    h.record(T0 + 5000 + KEEP_ENDED_MS, new Map());
    assert.equal(h.size, 0);
    assert.equal(h.series('live/a', T0 + 5000 + KEEP_ENDED_MS), null);
  });

  it('a stream published again before it was dropped is live again, its earlier points kept', () => {
    const h = new HealthHistory();
    h.record(T0, only('live/a', sample(1000)));
    h.record(T0 + 5000, new Map());
    h.record(T0 + 10_000, only('live/a', sample(500)));
    assert.equal(h.endedAt('live/a'), null);
    assert.deepEqual(h.series('live/a', T0 + 10_000)?.kbps, [1000, 500]);
  });

  it('a keyframe interval not known yet (0) is a gap, not a fall to 0', () => {
    const h = new HealthHistory();
    h.record(T0, only('live/a', { ...sample(1000), keyframeIntervalSeconds: 0 }));
    h.record(T0 + 5000, only('live/a', sample(1000)));
    assert.deepEqual(h.series('live/a', T0 + 5000)?.keyframeIntervalSeconds, [null, 2]);
  });

  it('tracks at most maxStreams: ended ones go first, then the least recently sampled', () => {
    const h = new HealthHistory(SAMPLE_EVERY_MS, HISTORY_MS, KEEP_ENDED_MS, 2);
    h.record(T0, new Map([['live/old', sample(1)]]));
    h.record(T0 + 5000, new Map([['live/b', sample(1)]]));
    h.record(
      T0 + 10_000,
      new Map([
        ['live/b', sample(1)],
        ['live/c', sample(1)],
      ]),
    );
    assert.equal(h.size, 2);
    assert.equal(h.series('live/old', T0 + 10_000), null, 'the ended one went');
    h.record(
      T0 + 15_000,
      new Map([
        ['live/b', sample(1)],
        ['live/c', sample(1)],
        ['live/d', sample(1)],
      ]),
    );
    assert.equal(h.size, 2);
  });
});

describe('stream page: the service and its view', () => {
  const active = (over: Partial<ActiveStream> = {}): ActiveStream => ({
    vhost: '__defaultVhost__',
    app: 'live',
    stream: 'a',
    param: '',
    update: '2026-12-06T14:00:00.000Z',
    viewers: 2,
    kbps: 2400,
    video: { codec: 'H.264', width: 1280, height: 720, fps: 30 },
    audio: { codec: 'AAC', sample_rate: 44100, channel: 2 },
    health: {
      keyframeIntervalSeconds: 6,
      timestampJumps: 0,
      avDriftMs: 23,
      bitrateDrop: null,
      hasVideo: true,
      hasAudio: true,
      warnings: [{ code: 'keyframeInterval', params: { seconds: 6, asked: 2 }, message: 'keyframe interval 6 s: YouTube asks for 2 s' }],
    },
    ...over,
  });
  const dest = (state: StreamDestination['state']): StreamDestination => ({
    feature: 'forward',
    platform: 'wx',
    state,
    reason: state === 'live' ? null : 'Connection refused',
    problem: null,
    nextAttemptAt: null,
    bytesOut: 2_500_000,
    bitrateKbps: state === 'live' ? 2300 : null,
    liveSince: null,
    uptimeSeconds: 12,
    reconnects: 1,
  });

  it('samples the registry and the destinations a stream feeds; answers live, then ended, then 404', async () => {
    let streams = [active()];
    let state: StreamDestination['state'] = 'live';
    const asked: string[] = [];
    const service = new StreamPageService(
      { query: async () => streams },
      {
        ofSource: (source) => {
          asked.push(source);
          return [dest(state)];
        },
      },
    );
    await service.sample(T0);
    state = 'retrying';
    await service.sample(T0 + 5000);
    assert.deepEqual(asked, ['live/a', 'live/a']);
    const live = await service.page('live', 'a', T0 + 5000);
    assert.equal(live.live, true);
    assert.deepEqual(live.history.kbps, [2400, 2400]);
    assert.deepEqual(live.history.keyframeIntervalSeconds, [6, 6]);
    assert.deepEqual(live.history.destinations[0]?.state, ['live', 'retrying']);
    assert.deepEqual(live.history.destinations[0]?.kbps, [2300, null]);
    assert.equal(live.destinations[0]?.state, 'retrying');

    streams = [];
    const gone = await service.page('live', 'a', T0 + 7000);
    assert.equal(gone.live, false);
    assert.equal(gone.endedAt, new Date(T0 + 7000).toISOString(), "the registry's word, before the next round");
    await service.sample(T0 + 10_000);
    const ended = await service.page('live', 'a', T0 + 10_000);
    assert.equal(ended.live, false);
    assert.equal(ended.endedAt, new Date(T0 + 7000).toISOString());
    assert.deepEqual(ended.destinations, []);
    assert.equal(ended.history.t.length, 2);

    await service.sample(T0 + 7000 + KEEP_ENDED_MS);
    await assert.rejects(service.page('live', 'a', T0 + 7000 + KEEP_ENDED_MS), NotFoundError);
  });

  it('shows figures and destinations as people read them', async () => {
    const service = new StreamPageService({ query: async () => [active()] }, { ofSource: () => [dest('retrying')] });
    const v = streamPageView(await service.page('live', 'a', T0));
    assert.deepEqual(v.media, { resolution: '1280x720', fps: '30 fps', codecs: 'H.264 / AAC', bitrate: '2.40 Mbps' });
    assert.equal(v.keyframe, '6 s');
    assert.equal(v.drift, '23 ms');
    assert.equal(v.viewers, 2);
    assert.deepEqual(
      v.warnings.map((w) => w.code),
      ['keyframeInterval'],
    );
    assert.equal(v.destinations[0]?.badge.destination?.state, 'retrying');
    assert.equal(v.destinations[0]?.badge.destination?.badge, 'error');
    assert.equal(v.destinations[0]?.reason, 'Connection refused');
  });
});
