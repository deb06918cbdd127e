// One rule for stream names, one loopback URL: a name with `#`, `%` and `&` (kept byte for byte by
// the engine) is listed, played over HLS, LL-HLS and HTTP-FLV and forwarded under exactly that name. Before
// the one URL builder, HTTP-FLV escaped the name for its pull and the engine never matched it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { FlvReader, ffprobe, makeMedia, startRtmpServer, type Publisher, type RtmpServer } from '../helpers/media.js';
import { publishIntoStack } from '../helpers/restream.js';
import { initAdmin, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

describe('stream names: an unusual name works the same on every path', function () {
  this.timeout(120_000);
  const name = 'n#1%20a&b';
  const httpName = encodeURIComponent(name);
  let stack: StackHandle;
  let bearer: string;
  let dest: RtmpServer;
  let publisher: Publisher;

  before(async () => {
    dest = await startRtmpServer();
    stack = await startStack();
    bearer = await initAdmin(stack);
    const file = await makeMedia(path.join(tempDir('names-media-'), 'src.flv'), { seconds: 4, format: 'flv' });
    publisher = await publishIntoStack(stack, bearer, file, name);
  });
  after(async () => {
    await publisher?.stop();
    await stack?.stop();
    await dest?.stop();
  });

  it('is listed under exactly its name', async () => {
    const res = await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer });
    const names = (res.json.data as { streams: Array<{ stream: string }> }).streams.map((s) => s.stream);
    assert.deepEqual(names, [name]);
  });

  it('plays over HTTP-FLV (the pull uses the name as published)', async () => {
    const reader = new FlvReader(`${stack.url}/live/${httpName}.flv`, { keepTags: true });
    try {
      await waitFor(
        () => reader.tags.some((t) => t.kind === 'video'),
        15_000,
        () => `FLV status ${reader.status}, ${reader.bytes} bytes\n${stack.logs().slice(-2000)}`,
      );
      assert.equal(reader.status, 200);
    } finally {
      reader.close();
    }
  });

  it('plays over HLS (segment URIs escaped in the playlist)', async () => {
    // The default mode's first 10 s segment must exist before the playlist does.
    const url = `${stack.url}/live/${httpName}.m3u8`;
    await waitFor(
      async () => (await ffprobe(url, 10_000).catch(() => ({ streams: [] }))).streams.length === 2,
      40_000,
      () => stack.logs().slice(-2000),
    );
    const media = await (await fetch(`${url}?hls_ctx=0123456789abcdef`)).text();
    assert.match(media, /^n\/n%231%2520a%26b-\d+\.ts$/m);
  });

  it('plays over LL-HLS (the name is one escaped path component; the playlist names files beside it)', async () => {
    const url = `${stack.url}/live/${httpName}/ll.m3u8`;
    await waitFor(
      async () => (await ffprobe(url, 10_000).catch(() => ({ streams: [] }))).streams.length >= 2,
      30_000,
      () => stack.logs().slice(-2000),
    );
  });

  it('is forwarded from the engine under its name', async () => {
    const res = await stack.api(
      '/terraform/v1/ffmpeg/forward/secret',
      { action: 'update', platform: 'wx', server: dest.url('live', 'names-dest'), enabled: true, stream: name },
      { bearer },
    );
    assert.equal(res.status, 200, JSON.stringify(res.json));
    await waitFor(
      async () => (await ffprobe(dest.url('live', 'names-dest'), 5000).catch(() => ({ streams: [] }))).streams.length === 2,
      30_000,
      () => stack.logs().slice(-2000),
    );
  });

  it('refuses names no ingest could publish, at every door, with a 400 that says why', async () => {
    for (const bad of ['a%3Fb', 'a%20b', '..']) {
      const flv = await fetch(`${stack.url}/live/${bad}.flv`);
      assert.equal(flv.status, 400, `FLV ${bad}`);
      assert.match(await flv.text(), /invalid stream name/);
    }
    const qr = await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer });
    assert.equal(qr.status, 200);
  });
});
