// LL-HLS serving over real HTTP (an in-process Koa app) from the live tap, fed synthetic FLV tags: the first playlist waits for a segment, a blocking reload and a preload-hint
// part are answered the moment the media exists, a hint the segmenter never makes is a 404.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { FlvParser, type FlvTag } from '../../server/core/media/flv-tags.js';
import { DEFAULT_MAX_GOP_BYTES } from '../../server/core/media/gop-cache.js';
import { LiveTap, type TapStream } from '../../server/features/live-tap/live-tap.js';
import { LlHlsService } from '../../server/features/ll-hls/service.js';
import { AVC_CONFIG_TAG_DATA, flvTagBytes } from '../helpers/flv-bytes.js';

const AVC_CONFIG = AVC_CONFIG_TAG_DATA;

/**
 * The live tap itself (in process, no listener) carrying one video-only 25 fps stream: frame i at
 * i × 40 ms, keyframes where `key(i)`. The service subscribes at the stream's start, as in the stack.
 */
class TestStream {
  readonly tap = new LiveTap(DEFAULT_MAX_GOP_BYTES);
  private stream: TapStream | null = null;
  private readonly parser = new FlvParser();
  private frame = 0;

  constructor() {
    this.parser.push(Buffer.from([0x46, 0x4c, 0x56, 1, 1, 0, 0, 0, 9, 0, 0, 0, 0]));
  }

  /** The engine's push begins: the AVC configuration comes first. */
  begin(): void {
    this.stream = this.tap.begin('live', 's');
    this.stream.ingest(this.parser.push(flvTagBytes(9, 0, AVC_CONFIG)));
  }

  /** Sends `count` more frames. */
  frames(count: number, key: (i: number) => boolean = (i) => i % 50 === 0): void {
    const tags: FlvTag[] = [];
    for (let n = 0; n < count; n++, this.frame++) {
      const i = this.frame;
      const body = Buffer.from([key(i) ? 0x17 : 0x27, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, i & 0xff]);
      tags.push(...this.parser.push(flvTagBytes(9, i * 40, body)));
    }
    this.stream?.ingest(tags);
  }
}

describe('LL-HLS serving: waits answered by the media, over HTTP', function () {
  this.timeout(20_000);
  let server: http.Server;
  let origin: string;
  let source: TestStream;
  let service: LlHlsService;

  beforeEach(async () => {
    source = new TestStream();
    service = new LlHlsService({
      source: source.tap,
      apps: ['live'],
      isLive: () => true,
      sessions: { answeredSession: async () => false, checkMedia: async () => false, fastSession: () => false, fastMedia: () => false },
    });
    service.start();
    source.begin();
    const app = new Koa();
    app.use(async (ctx, next) => {
      const [, appName, stream, file] = ctx.path.split('/');
      try {
        await service.serve(ctx, next, appName ?? '', stream ?? '', file ?? '');
      } catch (err) {
        ctx.status = (err as { status?: number }).status ?? 500;
        ctx.body = String(err);
      }
    });
    server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live/s`;
  });

  afterEach(async () => {
    service.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = async (file: string) => {
    const res = await fetch(`${origin}/${file}`);
    return { status: res.status, text: await res.text() };
  };
  /** Resolves with the answer, or 'pending' if none came within `ms`. */
  const within = <T>(p: Promise<T>, ms: number) =>
    Promise.race([p, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);

  it('holds the first playlist until a segment is complete', async () => {
    const first = get('ll.m3u8');
    await new Promise((r) => setTimeout(r, 50));
    source.frames(60); // 2.4 s: the second keyframe (2 s) closes segment 0
    const pl = await first;
    assert.equal(pl.status, 200);
    assert.match(pl.text, /^seg-0\.m4s$/m);
    assert.match(pl.text, /#EXT-X-TARGETDURATION:2\n/);
  });

  it('answers a blocking reload and the preload hint when that part is made, not before', async () => {
    source.frames(60);
    await get('ll.m3u8');
    const hint = /PRELOAD-HINT:TYPE=PART,URI="part-1\.(\d+)\.m4s"/.exec((await get('ll.m3u8')).text);
    assert.ok(hint);
    const index = Number(hint[1]);
    const reload = get(`ll.m3u8?_HLS_msn=1&_HLS_part=${index}`);
    const part = get(`part-1.${index}.m4s`);
    assert.equal(await within(reload, 200), 'pending');
    assert.equal(await within(part, 10), 'pending');
    source.frames(10);
    const pl = await reload;
    assert.equal(pl.status, 200);
    assert.ok(pl.text.includes(`URI="part-1.${index}.m4s"`));
    assert.equal((await part).status, 200);
  });

  it('a hinted part the segment ended before is a 404, at once', async () => {
    // Frames 50–74 are in segment 1: parts 1.0–1.2 (8 frames each), frame 74 opens part 1.3.
    source.frames(76);
    assert.match((await get('ll.m3u8')).text, /PRELOAD-HINT:TYPE=PART,URI="part-1\.3\.m4s"/);
    const after = get('part-1.4.m4s'); // a player may ask for the part after the hint early
    assert.equal(await within(after, 100), 'pending');
    // A keyframe once segment 1 is a second long: part 1.3 closes short and segment 2 begins.
    source.frames(2, (i) => i === 76);
    const answer = await within(after, 2000);
    assert.ok(answer !== 'pending' && answer.status === 404, JSON.stringify(answer));
    assert.equal((await get('part-1.3.m4s')).status, 200);
    assert.match((await get('ll.m3u8')).text, /PRELOAD-HINT:TYPE=PART,URI="part-2\.0\.m4s"/);
  });

  it('stops muxing a stream nobody asked for, and joins it again from the GOP cache at the next request', async () => {
    source.frames(60);
    assert.equal((await get('ll.m3u8')).status, 200);
    service.sweep(Date.now() + 31_000);
    assert.deepEqual(service.streams, []);
    const again = get('ll.m3u8');
    await new Promise((r) => setTimeout(r, 50)); // the request reaches the service first
    source.frames(60); // the cached GOP starts at frame 50; the keyframe at frame 100 completes it
    const pl = await again;
    assert.equal(pl.status, 200, pl.text);
    assert.deepEqual(service.streams, ['live/s']);
  });

  it('refuses malformed directives and files that are not its own go to the next handler', async () => {
    source.frames(60);
    assert.equal((await get('ll.m3u8?_HLS_part=1')).status, 400);
    assert.equal((await get('ll.m3u8?_HLS_msn=x')).status, 400);
    assert.equal((await get('ll.m3u8?_HLS_msn=40')).status, 400);
    assert.equal((await get('s-1.ts')).status, 404); // Koa's own 404: next() answered nothing
    assert.equal((await get('part-99.0.m4s')).status, 404);
  });
});
