// Issue 18: the outputs of virtual live, IP camera and transcode have the same truthful state as a
// forward slot (test/integration/destination-states.test.ts): judged from what the destination
// receives, in their rows, /metrics and the on_forward_error / on_forward_recovered callbacks. Real
// parts: the stack (redis, nginx-rtmp, ffmpeg), an nginx-rtmp "camera", and one nginx-rtmp
// destination for all three outputs, killed and brought back.
import assert from 'node:assert/strict';
import path from 'node:path';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { ffprobe, makeMedia, publishFile, startRtmpServer, type Publisher, type RtmpServer } from '../helpers/media.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';
import { publishIntoStack, Slots, TranscodeSlot, type SlotRow } from '../helpers/restream.js';
import { consoleSession, initAdmin, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

interface Destination {
  state: string;
  reason: string | null;
  nextAttemptAt: string | null;
  bytesOut: number;
  reconnects: number;
  uptimeSeconds: number;
}

const destinationOf = (row: SlotRow | undefined) => (row as (SlotRow & { destination?: Destination }) | undefined)?.destination;
const stateOf = (row: SlotRow | undefined) => destinationOf(row)?.state;

describe('restream outputs of virtual live, camera and transcode: the same truthful state', function () {
  this.timeout(180_000);
  const media = tempDir('output-states-media-');
  let stack: StackHandle;
  let bearer: string;
  let camera: RtmpServer;
  let dest: RtmpServer;
  let receiver: CallbackReceiver;
  const publishers: Publisher[] = [];
  let cameras: Slots;
  let vlive: Slots;
  let transcode: TranscodeSlot;

  /** Each output's row, by feature. */
  const rows = async () => ({
    camera: await cameras.row('camera-1-c0ffee'),
    vlive: await vlive.row('vlive-1-aaaaaa'),
    transcode: await transcode.task(),
  });
  type Feature = keyof Awaited<ReturnType<typeof rows>>;
  const FEATURES: Feature[] = ['camera', 'vlive', 'transcode'];
  /** Waits until every output satisfies `check`, naming the destinations seen last. */
  const allUntil = async (what: string, check: (row: SlotRow | undefined) => boolean) => {
    let seen: Awaited<ReturnType<typeof rows>> | null = null;
    await waitFor(
      async () => {
        const now = await rows();
        seen = now;
        return FEATURES.every((f) => check(now[f]));
      },
      60_000,
      () => `${what}: ${JSON.stringify(seen && FEATURES.map((f) => [f, destinationOf(seen?.[f])]))}`,
    );
    return seen as unknown as Awaited<ReturnType<typeof rows>>;
  };
  const calls = (action: string, feature: string) => receiver.received.filter((b) => b.action === action && b.feature === feature);

  before(async () => {
    camera = await startRtmpServer();
    dest = await startRtmpServer();
    receiver = await startCallbackReceiver();
    stack = await startStack();
    bearer = await initAdmin(stack);
    const hooks = await stack.api('/terraform/v1/mgmt/hooks/apply', { all: true, target: receiver.url, opaque: 'o-out' }, { bearer });
    assert.equal(hooks.status, 200, JSON.stringify(hooks.json));
    cameras = new Slots(stack, bearer, 'camera');
    vlive = new Slots(stack, bearer, 'vlive');
    transcode = new TranscodeSlot(stack, bearer);
    const show = await makeMedia(path.join(media, 'show.flv'), { seconds: 4, format: 'flv' });
    publishers.push(publishFile(camera.url('live', 'front'), show));
    publishers.push(await publishIntoStack(stack, bearer, show, 'livestream'));
    await waitFor(
      async () => (await ffprobe(camera.url('live', 'front')).catch(() => ({ streams: [] }))).streams.length === 2,
      15_000,
      () => 'camera up',
    );
    const cameraFiles = await cameras.sourceFromUrl('camera-1-c0ffee', camera.url('live', 'front'));
    await cameras.save('camera-1-c0ffee', { server: dest.url('live', 'cam'), enabled: true, files: cameraFiles });
    const vliveFiles = await vlive.sourceFromUrl('vlive-1-aaaaaa', camera.url('live', 'front'));
    await vlive.save('vlive-1-aaaaaa', { server: dest.url('live', 'vl'), enabled: true, files: vliveFiles });
    await transcode.apply({
      all: true,
      vbitrate: 300,
      abitrate: 32,
      vprofile: 'baseline',
      vpreset: 'ultrafast',
      server: dest.url('live', 'trans'),
      secret: '',
    });
  });
  after(async () => {
    for (const p of publishers) await p.stop();
    await stack?.stop();
    await camera?.stop();
    await dest?.stop();
    receiver?.close();
  });

  it('each output is live once its destination receives media, in its row and /metrics', async () => {
    // Live for longer than a refused key ever is (LIVE_CONFIRM_MS): a drop from here is a drop.
    await allUntil(
      'all live with bytes out',
      (r) => stateOf(r) === 'live' && (destinationOf(r)?.bytesOut ?? 0) > 0 && (destinationOf(r)?.uptimeSeconds ?? 0) >= 4,
    );
    const cookie = await consoleSession(stack.url);
    for (const tab of ['camera', 'vlive', 'transcode']) {
      const html = await (await fetch(`${stack.url}/mgmt/scenarios?tab=${tab}`, { headers: { cookie } })).text();
      assert.match(html, /data-destination="live"/, `the ${tab} page shows its output live`);
    }
    const res = await fetch(`${stack.url}/metrics`, { headers: { Authorization: `Bearer ${bearer}` } });
    const families = parsePrometheus(await res.text());
    for (const feature of FEATURES) {
      const live = families
        .get('srs_stack_restream_destination_state')
        ?.samples.filter((s) => s.labels.feature === feature && s.labels.state === 'live');
      assert.equal(live?.length, 1, `${feature}: one destination`);
      assert.equal(live?.[0]?.value, 1, `${feature} live in /metrics`);
      assert.ok(
        (sampleValue(families, 'srs_stack_restream_destination_bytes_total', { feature, platform: live?.[0]?.labels.platform ?? '' }) ??
          0) > 0,
      );
    }
  });

  it('the destination killed: each is retrying with one on_forward_error; back: live with one on_forward_recovered', async () => {
    await dest.stop();
    await allUntil('all retrying', (r) => stateOf(r) === 'retrying' && Boolean(destinationOf(r)?.nextAttemptAt));
    await waitFor(
      () => FEATURES.every((f) => calls('on_forward_error', f).length > 0),
      30_000,
      () => `on_forward_error for each feature, got ${JSON.stringify(receiver.received.map((b) => [b.action, b.feature]))}`,
    );
    await dest.start();
    await allUntil('all live again', (r) => stateOf(r) === 'live');
    await waitFor(
      () => FEATURES.every((f) => calls('on_forward_recovered', f).length > 0),
      30_000,
      () => `on_forward_recovered for each feature, got ${JSON.stringify(receiver.received.map((b) => [b.action, b.feature]))}`,
    );
    for (const feature of FEATURES) {
      assert.equal(calls('on_forward_error', feature).length, 1, `${feature}: one error`);
      assert.equal(calls('on_forward_recovered', feature).length, 1, `${feature}: one recovery`);
      assert.equal(calls('on_forward_error', feature)[0]?.state, 'retrying');
      assert.equal(calls('on_forward_error', feature)[0]?.opaque, 'o-out');
    }
    const now = await rows();
    for (const feature of FEATURES) assert.ok((destinationOf(now[feature])?.reconnects ?? 0) >= 1, `${feature} counted a reconnect`);
  });
});
