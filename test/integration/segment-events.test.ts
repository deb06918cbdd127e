// The on_hls emulation, observed in-process: one hls.segment event per finished 2 s segment,
// never a partial one, none repeated, continuing across a republish of the same stream.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { App } from '../../server/app.js';
import { buildConfig } from '../../server/config.js';
import type { HlsSegmentEvent, StreamInfo } from '../../server/core/events.js';
import { setLogLevel } from '../../server/core/logger.js';
import { publish } from '../helpers/media.js';
import { freePort, tempDir, waitFor } from '../helpers/stack.js';

describe('segment events: one hls.segment per finished low-latency segment', function () {
  this.timeout(90_000);
  let app: App;
  let rtmpPort: number;
  const segments: HlsSegmentEvent[] = [];
  const lifecycle: string[] = [];

  before(async () => {
    setLogLevel('warn');
    rtmpPort = await freePort();
    const config = buildConfig({
      DATA_DIR: tempDir('srs-stack-seg-'),
      MGMT_LISTEN: String(await freePort()),
      HTTPS_LISTEN: String(await freePort()),
      RTMP_LISTEN: String(rtmpPort),
      TAP_LISTEN: String(await freePort()),
      LISTEN_HOST: '127.0.0.1',
      NODE_ENV: 'test',
    });
    app = new App(config, '0.0.0-test');
    app.events.on('hls.segment', (e) => {
      segments.push(e);
    });
    app.events.on('stream.published', (s: StreamInfo) => {
      lifecycle.push(`publish ${s.stream}`);
    });
    app.events.on('stream.unpublished', (s: StreamInfo) => {
      lifecycle.push(`unpublish ${s.stream}`);
    });
    await app.start();
    await waitFor(
      () => app.system.isReady(),
      20_000,
      () => 'redis',
    );
    await waitFor(
      () => app.engine.isReady,
      15_000,
      () => 'engine',
    );
  });
  after(async () => {
    await app?.stop();
    setLogLevel('info');
  });

  it('reports every segment of a publish once, with its file, size, duration and URLs', async () => {
    const { publish: secret } = await app.publishSecrets.current();
    const p = publish(`rtmp://127.0.0.1:${rtmpPort}/live/seg1?secret=${secret}`, 9);
    assert.equal(await p.exited, 0, p.stderr());
    await waitFor(
      () => lifecycle.includes('unpublish seg1'),
      5000,
      () => lifecycle.join(', '),
    );
    // The final, shorter segment is written at unpublish; give the watcher its scan interval.
    await waitFor(
      () => segments.reduce((t, s) => t + s.duration, 0) > 8,
      5000,
      () => JSON.stringify(segments),
    );
    const mine = segments.filter((s) => s.stream === 'seg1');
    assert.deepEqual(
      mine.map((s) => s.seq_no),
      mine.map((_, i) => i),
      'consecutive, from 0, no repeats',
    );
    assert.ok(mine.length >= 4, `${mine.length} segments`);
    const total = mine.reduce((t, s) => t + s.duration, 0);
    assert.ok(total > 8 && total < 10, `segment durations add up to ${total} s for a 9 s publish`);
    for (const s of mine.slice(0, -1)) assert.ok(Math.abs(s.duration - 2) < 0.5, `a full segment lasts about 2 s, got ${s.duration}`);
    for (const s of mine) {
      assert.equal(s.vhost, '__defaultVhost__');
      assert.equal(s.app, 'live');
      assert.equal(s.m3u8_url, 'live/seg1.m3u8');
      assert.equal(s.url, `live/seg1-${s.seq_no}.ts`);
      assert.ok(s.file.startsWith(app.engine.hls.lowLatency.root), s.file);
      assert.ok(s.size > 1000);
      assert.equal(fs.statSync(s.file).size, s.size, 'a finished segment never changes size');
    }
    assert.deepEqual(lifecycle, ['publish seg1', 'unpublish seg1']);
  });

  it('continues the numbering on a republish without repeating old segments', async () => {
    const { publish: secret } = await app.publishSecrets.current();
    const before = segments.filter((s) => s.stream === 'seg1').length;
    const lastSeq = segments.filter((s) => s.stream === 'seg1').at(-1)?.seq_no ?? -1;
    const p = publish(`rtmp://127.0.0.1:${rtmpPort}/live/seg1?secret=${secret}`, 5);
    assert.equal(await p.exited, 0, p.stderr());
    await waitFor(
      () => lifecycle.filter((l) => l === 'unpublish seg1').length === 2,
      5000,
      () => lifecycle.join(', '),
    );
    await waitFor(
      () => segments.filter((s) => s.stream === 'seg1').length - before >= 2,
      5000,
      () => JSON.stringify(segments.slice(before)),
    );
    const again = segments.filter((s) => s.stream === 'seg1').slice(before);
    assert.ok(
      again.every((s) => s.seq_no > lastSeq),
      JSON.stringify(again.map((s) => s.seq_no)),
    );
    const seqs = segments.filter((s) => s.stream === 'seg1').map((s) => s.seq_no);
    assert.equal(new Set(seqs).size, seqs.length, 'no segment reported twice');
  });
});
