// HTTP-FLV from the live tap: the engine pushes every stream into the stack, whose GOP cache
// starts every player on a keyframe at once, with no process per watched stream.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { FlvReader, ffprobe, publishFile, sampleFlv, type Publisher } from '../helpers/media.js';
import { initAdmin, sleep, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

interface ChildRow {
  name: string;
  pid: number | null;
  status: string;
}

describe('HTTP-FLV gateway: from the live tap, GOP cache, no process per stream, bounded fan-out', function () {
  this.timeout(120_000);
  let stack: StackHandle;
  let bearer: string;
  let publisher: Publisher;
  const stream = 'flvtest';
  let flvUrl: string;
  let secret: string;

  /** The stack's children besides its engine and Redis: the old design ran one ffmpeg per watched stream. */
  const extraChildren = async (): Promise<ChildRow[]> => {
    const res = await stack.api('/terraform/v1/mgmt/supervisor/query', {}, { bearer });
    return (res.json.data as { children: ChildRow[] }).children.filter((c) => c.name !== 'nginx' && c.name !== 'redis');
  };
  /** ffmpeg processes on this host that read from this stack's engine (a pull), whoever started them. */
  const enginePulls = (): string[] =>
    execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => /ffmpeg/.test(line) && line.includes(`-i rtmp://127.0.0.1:${stack.ports.rtmp}/`));

  before(async () => {
    // 2.5 Mbps like a typical OBS stream; a 1 s GOP keeps waits short.
    const sample = await sampleFlv({ videoKbps: 2400, gopSeconds: 1 });
    stack = await startStack({ env: { HTTP_FLV_QUEUE_KB: '256' } });
    bearer = await initAdmin(stack);
    secret = ((await stack.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
    publisher = publishFile(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/${stream}?secret=${secret}`, sample);
    flvUrl = `${stack.url}/live/${stream}.flv`;
    // Ready when a player gets a 200 (the publisher connects within a second or two).
    await waitFor(
      async () => {
        const probe = new FlvReader(flvUrl);
        await probe.answered;
        probe.close();
        return probe.status === 200;
      },
      30_000,
      () => `the FLV stream to play: ${publisher.stderr()}\n${stack.logs()}`,
    );
  });

  after(async () => {
    await publisher?.stop();
    await stack?.stop();
  });

  it('serves FLV that ffprobe reads as H.264 video and AAC audio', async () => {
    const { streams } = await ffprobe(flvUrl);
    const video = streams.find((s) => s.codec_type === 'video');
    assert.equal(video?.codec_name, 'h264');
    assert.deepEqual([video?.width, video?.height], [640, 360]);
    assert.equal(streams.find((s) => s.codec_type === 'audio')?.codec_name, 'aac');
  });

  it('starts a second player on a keyframe at once, with metadata and codec configs first', async () => {
    const first = new FlvReader(flvUrl);
    await waitFor(
      () => first.videoTags.length > 30,
      15_000,
      () => 'the first player to receive video',
    );
    const second = new FlvReader(flvUrl);
    await waitFor(
      () => second.videoTags.length > 2,
      10_000,
      () => 'the second player to receive video',
    );
    first.close();
    second.close();
    for (const player of [first, second]) {
      assert.equal(player.status, 200);
      assert.deepEqual([player.header?.hasVideo, player.header?.hasAudio], [true, true]);
      assert.equal(player.tags[0]?.kind, 'script', 'onMetaData comes first');
      const video = player.videoTags;
      assert.ok(video[0]?.sequenceHeader && video[0].keyframe, 'the first video tag is the AVC configuration');
      assert.ok(video[1]?.keyframe && !video[1].sequenceHeader, 'the first coded frame is a keyframe');
      assert.ok(
        player.tags.findIndex((t) => t.kind === 'audio' && t.sequenceHeader) <
          player.tags.findIndex((t) => t.kind === 'audio' && !t.sequenceHeader),
        'the AAC configuration precedes audio frames',
      );
    }
    // The second player joined mid-GOP, so its burst starts at the cached keyframe, not at zero.
    assert.ok((second.videoTags[1]?.timestamp ?? 0) > 0);
  });

  it('serves 20 concurrent players with no process per watched stream', async () => {
    const players = Array.from({ length: 20 }, () => new FlvReader(flvUrl, { keepTags: false }));
    await Promise.all(players.map((p) => p.answered));
    await waitFor(
      () => players.every((p) => p.bytes > 100_000),
      20_000,
      () => `all players to receive media: ${players.map((p) => p.bytes)}`,
    );
    assert.deepEqual(
      players.map((p) => p.status),
      Array(20).fill(200),
    );
    assert.deepEqual(await extraChildren(), [], 'no child process serves the players');
    assert.deepEqual(enginePulls(), [], 'no ffmpeg pulls the stream from the engine');
    await waitFor(
      async () => {
        const res = await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer });
        const rows = (res.json.data as { streams: Array<{ stream: string; viewers: number }> | null }).streams ?? [];
        return rows.find((r) => r.stream === stream)?.viewers === 20;
      },
      5000,
      () => 'System › Streams to count the 20 FLV players (and not the pull)',
    );
    for (const p of players) p.close();
  });

  it('starts a player of a 10 s GOP stream on a keyframe from the cache, not at the next keyframe', async () => {
    // Without a cache in the stack a player waits for the next keyframe: up to 10 s here.
    const longGop = await sampleFlv({ videoKbps: 500, gopSeconds: 10, seconds: 30 });
    const url = `rtmp://127.0.0.1:${stack.ports.rtmp}/live/longgop?secret=${secret}`;
    const longPublisher = publishFile(url, longGop);
    const startedAt = Date.now();
    try {
      const playUrl = `${stack.url}/live/longgop.flv`;
      await waitFor(
        async () => (await fetch(playUrl, { method: 'HEAD' })).status === 200,
        15_000,
        () => `the long-GOP stream to go live: ${longPublisher.stderr()}`,
      );
      // Join 3 s into the stream's first GOP: its next keyframe is 7 s away.
      await sleep(Math.max(0, startedAt + 3000 - Date.now()));
      const player = new FlvReader(playUrl);
      const joinedAt = Date.now();
      await waitFor(
        () => player.videoTags.some((t) => t.keyframe && !t.sequenceHeader),
        3000,
        () => 'a keyframe within 3 s of joining (the next one comes 7 s later)',
      );
      const firstFrame = player.videoTags.find((t) => !t.sequenceHeader);
      assert.ok(firstFrame?.keyframe, 'the first frame is a keyframe');
      assert.ok(Date.now() - joinedAt < 3000);
      // It is the cached keyframe from the stream's start, followed by the GOP up to the live edge.
      await waitFor(
        () => (player.videoTags.at(-1)?.timestamp ?? 0) - firstFrame.timestamp >= 2000,
        5000,
        () => 'the burst from the cached keyframe',
      );
      assert.ok(firstFrame.timestamp < 1000, `the burst starts at the stream's first keyframe (${firstFrame.timestamp} ms)`);
      player.close();
    } finally {
      await longPublisher.stop();
    }
  });

  it('drops a player that stops reading while the others keep up', async () => {
    const good = new FlvReader(flvUrl, { keepTags: false });
    await good.answered;
    const stalled = new FlvReader(flvUrl, { keepTags: false, stalled: true });
    await stalled.answered;
    assert.equal(stalled.status, 200);
    const startedAt = Date.now();
    // Loopback TCP buffers absorb a few MB before the stack's 256 KB queue fills up.
    await waitFor(
      () => /dropping a player/.test(stack.logs()),
      60_000,
      () => 'the stalled player to be dropped',
    );
    const seconds = (Date.now() - startedAt) / 1000;
    const before = good.bytes;
    await sleep(1500);
    assert.ok(good.bytes > before + 150_000, `the reading player keeps receiving (${good.bytes - before} bytes in 1.5 s)`);
    assert.ok(good.bytes > seconds * 200_000, `the reading player kept up: ${good.bytes} bytes in ${seconds} s`);
    stalled.resume();
    await stalled.done;
    assert.ok(stalled.ended || stalled.error, 'the stalled player’s connection was closed');
    assert.ok(stalled.bytes < good.bytes, 'the stalled player got less than the live one');
    good.close();
  });

  it('ends players when the publisher stops, then answers 404 for the gone stream', async () => {
    const player = new FlvReader(flvUrl, { keepTags: false });
    await waitFor(
      () => player.bytes > 50_000,
      15_000,
      () => 'media',
    );
    await publisher.stop();
    await player.done;
    assert.ok(player.ended, 'the response ends with the stream');
    const res = await fetch(flvUrl);
    assert.equal(res.status, 404);
    assert.match(await res.text(), /not live/);
  });

  it('answers 404 at once for a stream that is not live, 400 for a bad name', async () => {
    const missing = await fetch(`${stack.url}/live/nosuchstream.flv`, { headers: { Accept: 'application/json' } });
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { message: string }).message, /live\/nosuchstream is not live/);
    const long = await fetch(`${stack.url}/live/${'x'.repeat(10_000)}.flv`);
    assert.equal(long.status, 400);
    const dots = await fetch(`${stack.url}/live/..%2f..%2fetc.flv`);
    assert.equal(dots.status, 400);
    assert.deepEqual(await extraChildren(), [], 'the registry answered: nothing was started');
  });
});
