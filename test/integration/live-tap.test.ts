// The live tap with the real engine: nginx-rtmp pushes every live stream into the stack process
// from its first frame (the reason for the design: the engine keeps no GOP, so anything pulling
// from it joins at the next keyframe), only the engine may push, and nothing a local process sends
// to the tap's port takes the stack down.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import type { FlvTag } from '../../server/core/media/flv-tags.js';
import type { LiveSubscription } from '../../server/core/media/live-source.js';
import { startInProcess, type InProcessStack } from '../helpers/in-process.js';
import { FlvReader, publish, sendRaw, spawnFfmpeg, type Publisher } from '../helpers/media.js';
import { sleep, waitFor } from '../helpers/stack.js';

/** testPublishArgs: 25 fps; a keyframe every 2 s, the first frame being one. */
const FPS = 25;
const GOP = 50;

interface Recorder {
  tags: FlvTag[];
  ended: string | null;
  sub: LiveSubscription | null;
}

describe('live tap: the engine pushes every stream into the stack from its first frame', function () {
  this.timeout(90_000);
  let stack: InProcessStack;
  let secret: string;
  let publisher: Publisher | null = null;
  const recorders = new Map<string, Recorder>();

  /** Subscribes to every stream at its start, as the LL-HLS muxer does. */
  const recordAll = () =>
    stack.app.tap.onStreamStart(({ app, stream }) => {
      const rec: Recorder = { tags: [], ended: null, sub: null };
      rec.sub = stack.app.tap.subscribe(app, stream, {
        write: (tags) => rec.tags.push(...tags),
        end: (reason) => (rec.ended = reason),
      });
      recorders.set(`${app}/${stream}`, rec);
    });

  before(async () => {
    stack = await startInProcess();
    const { bearer } = await stack.init();
    secret = ((await stack.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
    recordAll();
  });

  afterEach(async () => {
    await publisher?.stop();
    publisher = null;
  });

  after(async () => {
    await stack?.stop();
  });

  const rtmpUrl = (stream: string) => `rtmp://127.0.0.1:${stack.app.config.rtmpListen}/live/${stream}?secret=${secret}`;

  it("delivers the stream's first keyframe (timestamp ~0) to a subscriber that subscribed at stream start", async () => {
    publisher = publish(rtmpUrl('first'), 0, GOP);
    await waitFor(
      () => (recorders.get('live/first')?.tags.filter((t) => t.kind === 'video').length ?? 0) > GOP + 5,
      30_000,
      () => `video through the tap: ${publisher?.stderr()}`,
    );
    const tags = recorders.get('live/first')?.tags ?? [];
    const frames = tags.filter((t) => t.kind === 'video' && !t.sequenceHeader);
    const first = frames[0];
    assert.ok(first?.keyframe, 'the first video frame is a keyframe');
    assert.ok(first.timestamp <= 1000 / FPS, `the first keyframe is the stream's first frame (timestamp ${first.timestamp} ms)`);
    const videoConfig = tags.findIndex((t) => t.kind === 'video' && t.sequenceHeader);
    assert.ok(videoConfig >= 0 && videoConfig < tags.indexOf(first), 'the AVC configuration precedes it');
    assert.ok(tags[0]?.kind === 'script', `onMetaData comes first (got ${tags[0]?.kind})`);
    // Every frame from the first: the next keyframe is the GOP's (2 s later), nothing was skipped.
    const keyframes = frames.filter((t) => t.keyframe).map((t) => t.timestamp);
    assert.ok(keyframes.length >= 2);
    assert.ok(Math.abs((keyframes[1] as number) - (keyframes[0] as number) - (GOP * 1000) / FPS) <= 40, `keyframes at ${keyframes}`);
    assert.equal(frames.indexOf(frames.filter((t) => t.keyframe)[1] as FlvTag), GOP, 'no frame of the first GOP is missing');
    // A subscriber joining now starts from the cached GOP: header, configs, a keyframe.
    const start = recorders.get('live/first')?.sub?.startTags();
    assert.deepEqual([start?.header.hasAudio, start?.header.hasVideo], [true, true]);
    const startFrames = start?.tags.filter((t) => t.kind === 'video' && !t.sequenceHeader) ?? [];
    assert.ok(startFrames[0]?.keyframe, 'the start burst begins on a keyframe');
  });

  it("serves the stack's own consumers HTTP-FLV on loopback without counting them as viewers", async () => {
    publisher = publish(rtmpUrl('inside'), 0, GOP);
    await waitFor(
      () => stack.app.tap.has('live', 'inside'),
      30_000,
      () => 'media through the tap',
    );
    const internalUrl = stack.app.flv.internalUrl('live', 'inside');
    assert.match(internalUrl, new RegExp(`^http://127\\.0\\.0\\.1:${stack.ports.http}/live/inside\\.flv\\?consumer=`));
    const consumer = new FlvReader(internalUrl);
    const viewer = new FlvReader(`${stack.url}/live/inside.flv`);
    await waitFor(
      () => consumer.videoTags.length > 2 && viewer.videoTags.length > 2,
      15_000,
      () => 'both to receive video',
    );
    assert.ok(consumer.videoTags.find((t) => !t.sequenceHeader)?.keyframe, 'the consumer starts on a keyframe');
    assert.equal(stack.app.flv.players('live', 'inside'), 1, 'only the viewer counts');
    consumer.close();
    viewer.close();
  });

  it('ends subscribers when the publisher leaves', async () => {
    publisher = publish(rtmpUrl('leaving'), 0, GOP);
    await waitFor(
      () => (recorders.get('live/leaving')?.tags.length ?? 0) > 10,
      30_000,
      () => 'media through the tap',
    );
    await publisher.stop();
    await waitFor(
      () => recorders.get('live/leaving')?.ended !== null && !stack.app.tap.has('live', 'leaving'),
      15_000,
      () => 'the tap stream to end',
    );
  });

  it('refuses publishers without the engine token, players, and survives garbage and half-open connections', async () => {
    publisher = publish(rtmpUrl('steady'), 0, GOP);
    await waitFor(
      () => (recorders.get('live/steady')?.tags.length ?? 0) > 10,
      30_000,
      () => 'media through the tap',
    );
    const tapPort = stack.app.config.tapListen;
    // A TCP connection that never sends a byte, held open through the rest of the test.
    const silent = net.connect(tapPort, '127.0.0.1');
    silent.on('error', () => undefined);
    // Random bytes, an RTMP handshake followed by a message header announcing 16 MB, and junk.
    await sendRaw(tapPort, crypto.randomBytes(64 * 1024));
    const c0c1 = Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)]);
    const huge = Buffer.from([0x03, 0, 0, 0, 0xff, 0xff, 0xff, 0x14, 0, 0, 0, 0]);
    await sendRaw(tapPort, Buffer.concat([c0c1, Buffer.alloc(1536), huge, crypto.randomBytes(4096)]), 300);
    // Publishes with a wrong token, without one, and a play.
    const intruders = [
      publish(`rtmp://127.0.0.1:${tapPort}/live?tap=wrong/steady`, 5),
      publish(`rtmp://127.0.0.1:${tapPort}/live/steady`, 5),
      spawnFfmpeg([
        '-hide_banner',
        '-loglevel',
        'error',
        '-rw_timeout',
        '5000000',
        '-i',
        `rtmp://127.0.0.1:${tapPort}/live/steady`,
        '-t',
        '2',
        '-f',
        'null',
        '-',
      ]),
    ];
    const codes = await Promise.all(intruders.map((p) => p.exited));
    assert.ok(
      codes.every((c) => c !== 0),
      `every intruder failed (${codes}): ${intruders.map((p) => p.stderr()).join('\n')}`,
    );
    assert.deepEqual(
      stack.app.tap.list().map((s) => `${s.app}/${s.stream}`),
      ['live/steady'],
      'only the engine-pushed stream exists in the tap',
    );
    // The real stream kept flowing all along and still does; the stack answers.
    const before = recorders.get('live/steady')?.tags.length ?? 0;
    await sleep(1500);
    assert.ok((recorders.get('live/steady')?.tags.length ?? 0) > before + 30, 'the real stream keeps flowing');
    assert.equal(recorders.get('live/steady')?.ended, null);
    assert.equal((await stack.api('/terraform/v1/mgmt/check')).status, 200);
    silent.destroy();
  });
});
