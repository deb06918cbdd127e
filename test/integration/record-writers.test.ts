// RECORD_MP4_WRITERS bounds the records whose MP4 is written while they record (in-process,
// docs/compatibility.md §5.8): with 1, of two streams recorded at once one gets a writer and the
// other is remuxed at its end; both MP4s are whole. Real parts: nginx-rtmp, ffmpeg publishers,
// the remux's ffmpeg, ffprobe.
import assert from 'node:assert/strict';
import path from 'node:path';
import { ffprobe, publish, type Publisher } from '../helpers/media.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';
import { publishSecretOf, stackPublishUrl, waitStreamLive } from '../helpers/restream.js';
import { initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

interface RecordRow {
  uuid: string;
  stream: string;
  status: string;
}

describe('recording: RECORD_MP4_WRITERS bounds the MP4 writers', function () {
  this.timeout(120_000);
  let stack: StackHandle;
  let bearer: string;
  const publishers: Publisher[] = [];

  const call = async (name: string, body: unknown = {}) => {
    const res = await stack.api(`/terraform/v1/${name}`, body, { bearer });
    assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.json)}`);
    return res.json.data;
  };
  const families = async () => {
    const res = await fetch(`${stack.url}/metrics`, { headers: { Authorization: `Bearer ${bearer}` } });
    return parsePrometheus(await res.text());
  };

  before(async () => {
    stack = await startStack({ env: { RECORD_MP4_WRITERS: '1', SRS_RECORD_WAIT_SECONDS: '3' } });
    bearer = await initAdmin(stack);
    await call('hooks/record/apply', { all: true });
  });
  after(async () => {
    for (const p of publishers) await p.stop();
    await stack?.stop();
  });

  it('writes one record while recording and remuxes the other at its end; both MP4s are whole', async () => {
    const secret = await publishSecretOf(stack, bearer);
    for (const stream of ['w1', 'w2']) {
      publishers.push(publish(stackPublishUrl(stack, secret, stream), 0));
      await waitStreamLive(stack, bearer, stream);
    }
    await waitFor(
      async () => ((await call('hooks/record/files')) as RecordRow[]).filter((r) => r.status === 'recording').length === 2,
      30_000,
      () => 'two records recording',
    );
    // One writer only, while both record.
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(sampleValue(await families(), 'srs_stack_record_mp4_writers'), 1, 'one MP4 written while recording');
    for (const p of publishers) await p.stop();
    let rows: RecordRow[] = [];
    await waitFor(
      async () => {
        rows = (await call('hooks/record/files')) as RecordRow[];
        return rows.length === 2 && rows.every((r) => r.status === 'done');
      },
      60_000,
      () => `both records done: ${JSON.stringify(rows)}`,
    );
    assert.equal(sampleValue(await families(), 'srs_stack_record_remuxes_total'), 1, 'the record without a writer was remuxed');
    for (const row of rows) {
      const mp4 = path.join(stack.dataDir, 'record', row.uuid, 'index.mp4');
      const probe = await ffprobe(mp4);
      assert.deepEqual(probe.streams.map((s) => s.codec_type).sort(), ['audio', 'video'], `${row.stream}: audio and video`);
      assert.ok(Number(probe.format.duration ?? 0) >= 4, `${row.stream}: ${JSON.stringify(probe.format)}`);
    }
  });
});
