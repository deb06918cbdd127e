// Issue 18: a restream destination's state is what the destination receives. Real parts: the stack
// (redis, nginx-rtmp, ffmpeg), a second nginx-rtmp as the destination, killed and brought back, and
// one that refuses every publish (a wrong stream key); the user's HTTP callback receiver.
import assert from 'node:assert/strict';
import path from 'node:path';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { makeMedia, startRtmpServer, type Publisher, type RtmpServer } from '../helpers/media.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';
import { publishIntoStack, Slots, type SlotRow } from '../helpers/restream.js';
import { consoleSession, initAdmin, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

interface Destination {
  state: string;
  reason: string | null;
  problem: { key: string } | null;
  nextAttemptAt: string | null;
  bytesOut: number;
  reconnects: number;
  uptimeSeconds: number;
}

const destinationOf = (row: SlotRow | undefined) => (row as (SlotRow & { destination?: Destination }) | undefined)?.destination;

describe('restream destinations: a truthful state, callbacks on drops, metrics', function () {
  this.timeout(180_000);
  const media = tempDir('destination-media-');
  let stack: StackHandle;
  let bearer: string;
  let dest: RtmpServer;
  let refusing: RtmpServer;
  let publisher: Publisher;
  let receiver: CallbackReceiver;
  let forward: Slots;

  const calls = (action: string, platform: string) => receiver.received.filter((b) => b.action === action && b.platform === platform);
  /** Waits for the first callback of `action` for `platform`. */
  const called = (action: string, platform: string) =>
    waitFor(
      () => calls(action, platform).length > 0,
      30_000,
      () => `${action} for ${platform}, got ${JSON.stringify(receiver.received)}`,
    );
  /** Starts a slot to `server` and waits until its destination is in `state`. */
  const startUntil = async (platform: string, server: string, state: string) => {
    const row = await forward.configure(platform, { server, enabled: true }, (r) => destinationOf(r)?.state === state);
    return { row, d: destinationOf(row) as Destination };
  };
  /** Waits until the slot's task made two more attempts than in `row`. */
  const moreAttempts = (platform: string, row: SlotRow) =>
    forward.until(platform, (r) => (r?.task?.restarts ?? 0) >= (row.task?.restarts ?? 0) + 2);
  const metrics = async () => {
    const res = await fetch(`${stack.url}/metrics`, { headers: { Authorization: `Bearer ${bearer}` } });
    return parsePrometheus(await res.text());
  };

  before(async () => {
    dest = await startRtmpServer();
    refusing = await startRtmpServer(undefined, { refusePublish: true });
    receiver = await startCallbackReceiver();
    stack = await startStack({ env: { SRS_FORWARD_LIMIT: '3' } });
    bearer = await initAdmin(stack);
    const hooks = await stack.api('/terraform/v1/mgmt/hooks/apply', { all: true, target: receiver.url, opaque: 'o-18' }, { bearer });
    assert.equal(hooks.status, 200, JSON.stringify(hooks.json));
    forward = new Slots(stack, bearer, 'forward');
    const file = await makeMedia(path.join(media, 'src.flv'), { seconds: 4, format: 'flv' });
    publisher = await publishIntoStack(stack, bearer, file, 'livestream');
  });
  after(async () => {
    await publisher?.stop();
    await stack?.stop();
    await dest?.stop();
    await refusing?.stop();
    receiver?.close();
  });

  it('is live once the destination receives media, with bytes out and uptime', async () => {
    const { row, d } = await startUntil('wx', dest.url('live', 'key-18-abc'), 'live');
    assert.equal(d.reason, null);
    // Live for longer than a refused key ever is (LIVE_CONFIRM_MS): a drop from here is a drop.
    await forward.until('wx', (r) => (destinationOf(r)?.bytesOut ?? 0) > 0 && (destinationOf(r)?.uptimeSeconds ?? 0) >= 4);
    assert.equal(row.state, 'streaming', "SRS Stack's state is kept beside it");
  });

  it('killed destination: retrying with the next attempt, one on_forward_error; back: live, one on_forward_recovered', async () => {
    const before = destinationOf(await forward.row('wx')) as Destination;
    await dest.stop();
    const down = await forward.until('wx', (r) => destinationOf(r)?.state === 'retrying' && Boolean(destinationOf(r)?.nextAttemptAt));
    assert.ok(destinationOf(down)?.reason, JSON.stringify(down));
    await called('on_forward_error', 'wx');
    // Still down through more attempts: still one error.
    await moreAttempts('wx', down);
    assert.equal(calls('on_forward_error', 'wx').length, 1);
    const error = calls('on_forward_error', 'wx')[0] as Record<string, unknown>;
    assert.equal(error.opaque, 'o-18');
    assert.equal(error.feature, 'forward');
    assert.equal(error.state, 'retrying');
    assert.equal(error.source, 'live/livestream');
    assert.ok(!JSON.stringify(error).includes('key-18-abc'), 'the stream key is masked');

    await dest.start();
    const back = await forward.until('wx', (r) => destinationOf(r)?.state === 'live');
    await called('on_forward_recovered', 'wx');
    await forward.until('wx', (r) => (destinationOf(r)?.bytesOut ?? 0) > (destinationOf(back)?.bytesOut ?? 0));
    assert.equal(calls('on_forward_recovered', 'wx').length, 1);
    assert.equal(calls('on_forward_error', 'wx').length, 1);
    const now = destinationOf(await forward.row('wx')) as Destination;
    assert.ok(now.reconnects > before.reconnects, JSON.stringify(now));
    assert.ok(now.bytesOut > before.bytesOut, 'bytes out count over runs');
  });

  it('a destination refusing the key is failed with the reason, and calls on_forward_error once', async () => {
    const { row, d } = await startUntil('bilibili', refusing.url('live', 'wrong-key'), 'failed');
    assert.equal(d.problem?.key, 'restream.problem.refused', JSON.stringify(d));
    assert.match(d.reason ?? '', /Broken pipe|Input\/output error|End of file|Connection reset/i);
    await called('on_forward_error', 'bilibili');
    await moreAttempts('bilibili', row);
    assert.equal(calls('on_forward_error', 'bilibili').length, 1);
    assert.equal(calls('on_forward_recovered', 'bilibili').length, 0, 'never live: nothing recovered');
    assert.equal(calls('on_forward_error', 'bilibili')[0]?.state, 'failed');
  });

  it('shows each state in the console rows and in /metrics', async () => {
    const cookie = await consoleSession(stack.url);
    const html = await (await fetch(`${stack.url}/mgmt/scenarios?tab=forward`, { headers: { cookie } })).text();
    assert.match(html, /id="slot-wx-state"[\s\S]*?data-destination="live"/);
    assert.match(html, /id="slot-bilibili-state"[\s\S]*?data-destination="(failed|retrying)"/);
    const families = await metrics();
    const state = (platform: string, s: string) =>
      sampleValue(families, 'srs_stack_restream_destination_state', { feature: 'forward', platform, state: s });
    assert.equal(state('wx', 'live'), 1);
    assert.equal(state('wx', 'failed'), 0);
    assert.ok((sampleValue(families, 'srs_stack_restream_destination_bytes_total', { feature: 'forward', platform: 'wx' }) ?? 0) > 0);
  });

  it('a hung ffmpeg (SIGSTOP) is stalled, then retrying once the watchdog killed it, then live again: one more of each callback', async () => {
    const pid = (await forward.until('wx', (r) => destinationOf(r)?.state === 'live')).task?.pid as number;
    const [errors, recoveries] = [calls('on_forward_error', 'wx').length, calls('on_forward_recovered', 'wx').length];
    process.kill(pid, 'SIGSTOP');
    const stalled = await forward.until('wx', (r) => destinationOf(r)?.state === 'stalled');
    assert.match(destinationOf(stalled)?.reason ?? '', /no progress for \d+ s/);
    assert.equal(stalled.state, 'streaming', "the task's own state still says streaming: the process is alive");
    await forward.until('wx', (r) => Boolean(r?.task?.pid && r.task.pid !== pid) && destinationOf(r)?.state === 'live');
    await waitFor(
      () => calls('on_forward_recovered', 'wx').length > recoveries,
      30_000,
      () => `a second on_forward_recovered, got ${JSON.stringify(receiver.received)}`,
    );
    assert.equal(calls('on_forward_error', 'wx').length, errors + 1);
    assert.equal(calls('on_forward_recovered', 'wx').length, recoveries + 1);
  });

  it('a stream that ends takes its forwards with it after their slate: no on_forward_error for that', async () => {
    // A short slate (the default is 60 s): the forward outlives its stream by 2 s, then ends cleanly.
    await forward.configure('wx', { ...(await forward.saved()).wx, slateSeconds: 2 }, (r) => destinationOf(r)?.state === 'live');
    assert.match((await forward.row('wx'))?.task?.input ?? '', /\(slate 2 s\)$/, 'a new grace period restarts the task');
    const errors = calls('on_forward_error', 'wx').length;
    await publisher.stop();
    await forward.until('wx', (r) => r?.state === 'waiting' && !r.task);
    await waitFor(
      () => receiver.received.some((b) => b.action === 'on_unpublish' && b.stream === 'livestream'),
      30_000,
      () => `on_unpublish for livestream, got ${JSON.stringify(receiver.received)}`,
    );
    assert.equal(calls('on_forward_error', 'wx').length, errors);
  });
});
