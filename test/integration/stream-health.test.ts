// Issue 18 item 3: a stream's health measured where its media flows (the live tap), with real parts:
// ffmpeg publishing into the stack's nginx-rtmp, streams.query, the console's Streams page, /metrics.
import assert from 'node:assert/strict';
import { publish, type Publisher } from '../helpers/media.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';
import { publishSecretOf, stackPublishUrl, waitStreamLive } from '../helpers/restream.js';
import { consoleSession, initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

interface Health {
  keyframeIntervalSeconds: number;
  warnings: Array<{ code: string; message: string }>;
}

describe('stream health: warnings a streamer understands', function () {
  this.timeout(120_000);
  let stack: StackHandle;
  let bearer: string;
  const publishers: Publisher[] = [];

  const health = async (name: string) => {
    const res = await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer });
    const streams = (res.json.data as { streams: Array<{ stream: string; health: Health | null }> | null }).streams ?? [];
    return streams.find((s) => s.stream === name)?.health ?? null;
  };

  before(async () => {
    stack = await startStack();
    bearer = await initAdmin(stack);
    const secret = await publishSecretOf(stack, bearer);
    // 25 fps: a keyframe every 200 frames is every 8 s; every 50 is every 2 s.
    publishers.push(publish(stackPublishUrl(stack, secret, 'gop8'), 0, 200));
    publishers.push(publish(stackPublishUrl(stack, secret, 'gop2'), 0, 50));
    await waitStreamLive(stack, bearer, 'gop8');
    await waitStreamLive(stack, bearer, 'gop2');
  });
  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await stack?.stop();
  });

  it('a stream with an 8 s GOP gets the keyframe warning in streams.query; one with 2 s does not', async () => {
    let seen: Health | null = null;
    await waitFor(
      async () => ((seen = await health('gop8'))?.keyframeIntervalSeconds ?? 0) > 0,
      40_000,
      () => `a keyframe interval for gop8, saw ${JSON.stringify(seen)}`,
    );
    const h = seen as unknown as Health;
    assert.equal(h.keyframeIntervalSeconds, 8);
    assert.deepEqual(
      h.warnings.map((w) => w.message),
      ['keyframe interval 8 s: YouTube asks for 2 s'],
    );
    await waitFor(
      async () => ((seen = await health('gop2'))?.keyframeIntervalSeconds ?? 0) > 0,
      20_000,
      () => `a keyframe interval for gop2, saw ${JSON.stringify(seen)}`,
    );
    assert.equal((seen as unknown as Health).keyframeIntervalSeconds, 2);
    assert.deepEqual((seen as unknown as Health).warnings, []);
  });

  it('shows the warning on the console Streams page and in /metrics', async () => {
    const cookie = await consoleSession(stack.url);
    const html = await (await fetch(`${stack.url}/mgmt/system?tab=streams`, { headers: { cookie } })).text();
    assert.match(
      html,
      /class="detail stream-health" data-health-of="live\/gop8"[\s\S]*?data-warning="keyframeInterval">Keyframe interval 8 s: YouTube asks for 2 s/,
    );
    assert.doesNotMatch(html, /stream-health" data-health-of="live\/gop2"/);
    const res = await fetch(`${stack.url}/metrics`, { headers: { Authorization: `Bearer ${bearer}` } });
    const families = parsePrometheus(await res.text());
    assert.equal(sampleValue(families, 'srs_stack_stream_keyframe_interval_seconds', { app: 'live', stream: 'gop8' }), 8);
    assert.equal(sampleValue(families, 'srs_stack_stream_warnings', { app: 'live', stream: 'gop8', code: 'keyframeInterval' }), 1);
    assert.equal(sampleValue(families, 'srs_stack_stream_warnings', { app: 'live', stream: 'gop2', code: 'keyframeInterval' }), undefined);
  });
});
