// Recording against the real stack (real redis-server, ffmpeg, ffprobe), with the media engine's
// part played by a feeder: real MPEG-TS segments appear in an engine-like HLS directory and
// hls.segment / stream.publish / stream.unpublish are raised inside the stack (test/helpers).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { collectStackEvents, emitInStack, makeSegments, StreamFeeder, type FixtureSegment } from '../helpers/hls-fixture.js';
import { mp4TopLevelBoxes, probe } from '../helpers/media-probe.js';
import { startCallbackReceiver } from '../helpers/callback-receiver.js';
import { FEEDER_MAIN, initAdmin, sleep, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

interface RecordFile {
  uuid: string;
  app: string;
  stream: string;
  progress: boolean;
  status: 'recording' | 'finishing' | 'done';
  nn: number;
  duration: number;
  size: number;
  error?: string;
  attempts?: number;
  mp4_size?: number;
  post_cp_file?: string;
}

/** Record API of one stack, with the waits the tests share. */
class RecordApi {
  constructor(
    readonly stack: StackHandle,
    readonly bearer: string,
  ) {}

  async call(name: string, body: unknown = {}): Promise<unknown> {
    const res = await this.stack.api(`/terraform/v1/hooks/record/${name}`, body, { bearer: this.bearer });
    if (res.status !== 200) throw new Error(`record/${name} → ${res.status} ${res.json.message}`);
    return res.json.data;
  }

  async files(): Promise<RecordFile[]> {
    return (await this.call('files')) as RecordFile[];
  }

  async record(uuid: string): Promise<RecordFile | undefined> {
    return (await this.files()).find((f) => f.uuid === uuid);
  }

  async waitFor(uuid: string, check: (r: RecordFile) => boolean, what: string, timeoutMs = 30_000): Promise<RecordFile> {
    let last: RecordFile | undefined;
    await waitFor(
      async () => {
        last = await this.record(uuid);
        return last !== undefined && check(last);
      },
      timeoutMs,
      () => `record ${uuid} ${what}; last: ${JSON.stringify(last)}\n${this.stack.logs().slice(-3000)}`,
    );
    return last as RecordFile;
  }

  waitDone(uuid: string, timeoutMs = 30_000): Promise<RecordFile> {
    return this.waitFor(uuid, (r) => r.status === 'done', 'done', timeoutMs);
  }

  /** The record that is recording this stream now. */
  async recording(stream = 'livestream'): Promise<RecordFile> {
    const r = (await this.files()).find((f) => f.status === 'recording' && f.stream === stream);
    assert.ok(r, `a record of ${stream} is recording`);
    return r;
  }

  mp4(uuid: string): string {
    return path.join(this.stack.dataDir, 'record', uuid, 'index.mp4');
  }
}

function mount(target: string, options: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target]);
}

function remount(target: string, options: string): void {
  execFileSync('mount', ['-o', `remount,${options}`, target]);
}

function umount(target: string): void {
  execFileSync('umount', ['-l', target]);
}

/** Mounting needs root; without it the fault tests say so instead of pretending. */
function canMount(): boolean {
  const probeDir = tempDir('mount-probe-');
  try {
    mount(probeDir, 'size=64k');
    umount(probeDir);
    return true;
  } catch {
    return false;
  }
}

const sum = (segments: readonly FixtureSegment[]) => segments.reduce((s, x) => s + x.duration, 0);

describe('record: every show becomes one MP4 (engine events fed to the real stack)', function () {
  this.timeout(120_000);
  let fixtures: FixtureSegment[];
  let stack: StackHandle;
  let rec: RecordApi;
  let events: ReturnType<typeof collectStackEvents>;
  let hlsDir: string;

  before(async () => {
    fixtures = await makeSegments(tempDir('record-fixture-'), { seconds: 20 });
    stack = await startStack({ entry: FEEDER_MAIN, env: { SRS_RECORD_WAIT_SECONDS: '3' } });
    events = collectStackEvents(stack);
    rec = new RecordApi(stack, await initAdmin(stack));
    hlsDir = tempDir('record-engine-hls-');
  });
  after(async () => {
    await stack?.stop();
  });

  /** Publishes `stream` and feeds its first `count` segments; returns the record they started. */
  async function startRecord(stream: string, count: number): Promise<{ feeder: StreamFeeder; uuid: string }> {
    const feeder = new StreamFeeder(stack, hlsDir, 'live', stream);
    await feeder.publish();
    await feeder.segments(fixtures.slice(0, count));
    return { feeder, uuid: (await rec.recording(stream)).uuid };
  }

  it('refuses record calls without credentials and bad input with a clear 400/404', async () => {
    for (const name of ['query', 'apply', 'globs', 'post-processing', 'files', 'remove', 'end']) {
      const res = await stack.api(`/terraform/v1/hooks/record/${name}`, {});
      assert.equal(res.status, 401, name);
    }
    const bad = async (name: string, body: unknown, status: number, message: RegExp) => {
      const res = await stack.api(`/terraform/v1/hooks/record/${name}`, body, { bearer: rec.bearer });
      assert.equal(res.status, status, `${name} ${JSON.stringify(body)}: ${res.json.message}`);
      assert.match(res.json.message ?? '', message);
    };
    await bad('apply', {}, 400, /no all/);
    await bad('apply', { all: 'yes' }, 400, /all must be true or false/);
    await bad('globs', { globs: '/live/*' }, 400, /globs must be an array/);
    await bad('globs', { globs: ['live/*'] }, 400, /must start with \//);
    await bad('post-processing', { postProcess: 'post-mv-file', postCpDir: '' }, 400, /invalid post process/);
    await bad('post-processing', { postProcess: 'post-cp-file', postCpDir: '/nonexistent/bucket' }, 400, /does not exist/);
    await bad('post-processing', { postProcess: 'post-cp-file', postCpDir: 'bucket' }, 400, /absolute path/);
    await bad('post-processing', { postProcess: 'post-cp-file', postCpDir: './containers/data/../../etc' }, 400, /absolute path/);
    await bad('post-processing', { postProcess: 'post-cp-file', postCpDir: './containers/data/no-bucket' }, 400, /does not exist/);
    await bad('end', { uuid: '11111111-2222-4333-8444-555555555555' }, 404, /no record task for uuid=/);
    await bad('remove', { uuid: '11111111-2222-4333-8444-555555555555' }, 404, /no record for uuid=/);
    await bad('remove', { uuid: '../../etc' }, 400, /uuid must be a record UUID/);
    const preview = await fetch(`${stack.url}/terraform/v1/hooks/record/hls/11111111-2222-4333-8444-555555555555.m3u8`);
    assert.equal(preview.status, 404);
    const query = (await rec.call('query')) as Record<string, unknown>;
    assert.deepEqual(query, {
      all: false,
      home: path.join(stack.dataDir, 'record'),
      globs: [],
      postProcess: '',
      processCpDir: '',
      waitSeconds: 3,
    });
  });

  it('records nothing while recording is off', async () => {
    const feeder = new StreamFeeder(stack, hlsDir, 'live', 'off');
    await feeder.segments(fixtures.slice(0, 2));
    assert.deepEqual(await rec.files(), []);
  });

  it('records 20 s into a fast-start MP4 with video and audio, with previews and record events', async () => {
    await rec.call('apply', { all: true });
    const feeder = new StreamFeeder(stack, hlsDir);
    await feeder.publish();
    await feeder.segments(fixtures.slice(0, -1));
    const last = await feeder.segment(fixtures.at(-1) as FixtureSegment);
    await emitInStack(stack, 'hls.segment', last); // an engine rescan announces it again
    const live = await rec.recording();
    assert.equal(live.nn, fixtures.length, 'a re-announced segment is recorded once');
    assert.ok(Math.abs(live.duration - sum(fixtures)) < 0.1);
    // The engine's hls_cleanup may delete its files at once: the record holds its own copies.
    for (const f of fs.readdirSync(path.join(hlsDir, 'live'))) fs.rmSync(path.join(hlsDir, 'live', f));

    const playlist = await fetch(`${stack.url}/terraform/v1/hooks/record/hls/${live.uuid}.m3u8`);
    assert.equal(playlist.status, 200, 'previews need no credentials');
    assert.equal(playlist.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    const text = await playlist.text();
    assert.match(text, /#EXT-X-PLAYLIST-TYPE:VOD/);
    assert.match(text, new RegExp(`#EXT-X-TARGETDURATION:${Math.ceil(Math.max(...fixtures.map((f) => f.duration)))}\\n`));
    const uris = text.split('\n').filter((l) => l.startsWith('/terraform/'));
    assert.equal(uris.length, fixtures.length);
    const segment = await fetch(`${stack.url}${uris[0]}`);
    assert.equal(segment.headers.get('content-type'), 'video/mp2t');
    assert.equal(Buffer.from(await segment.arrayBuffer())[0], 0x47);

    await rec.call('end', { uuid: live.uuid });
    const done = await rec.waitDone(live.uuid);
    assert.equal(done.progress, false);
    const media = await probe(rec.mp4(live.uuid));
    assert.ok(Math.abs(media.duration - sum(fixtures)) < 0.5, `duration ${media.duration}`);
    assert.deepEqual(media.streams.map((s) => `${s.codec_type}/${s.codec_name}`).sort(), ['audio/aac', 'video/h264']);
    // The MP4 written while recording (live-mp4.ts): its index first, then the fragments.
    const boxes = mp4TopLevelBoxes(rec.mp4(live.uuid));
    assert.deepEqual(boxes.slice(0, 6), ['ftyp', 'moov', 'free', 'sidx', 'sidx', 'moof'], `fast start: ${boxes.join(',')}`);
    assert.ok(!boxes.includes('mfra'));
    assert.equal(done.mp4_size, fs.statSync(rec.mp4(live.uuid)).size);

    const range = await fetch(`${stack.url}/terraform/v1/hooks/record/hls/${live.uuid}/index.mp4`, { headers: { Range: 'bytes=0-99' } });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get('content-type'), 'video/mp4');
    assert.equal(range.headers.get('content-range'), `bytes 0-99/${done.mp4_size}`);
    assert.equal((await range.arrayBuffer()).byteLength, 100);
    const head = await fetch(`${stack.url}/terraform/v1/hooks/record/hls/${live.uuid}/index.mp4`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'video/mp4');
    assert.equal(head.headers.get('content-length'), String(done.mp4_size), 'HEAD tells players the size');

    const mine = events.filter((e) => e.payload.uuid === live.uuid);
    assert.deepEqual(
      mine.map((e) => e.event),
      ['record.begin', 'record.end'],
    );
    assert.deepEqual(mine[1]?.payload, {
      vhost: '__defaultVhost__',
      app: 'live',
      stream: 'livestream',
      uuid: live.uuid,
      artifact_code: 0,
      artifact_path: rec.mp4(live.uuid),
    });
    await feeder.unpublish();
  });

  it('refuses an empty or non-MPEG-TS segment file and goes on recording', async () => {
    const { feeder, uuid } = await startRecord('partial', 1);
    const broken = tempDir('record-broken-');
    const empty = path.join(broken, 'empty.ts');
    const garbage = path.join(broken, 'garbage.ts');
    fs.writeFileSync(empty, '');
    fs.writeFileSync(garbage, 'not a transport stream');
    await feeder.segment({ file: empty, duration: 2 });
    await feeder.segment({ file: garbage, duration: 2 });
    await feeder.segment(fixtures[1] as FixtureSegment);
    const live = await rec.recording('partial');
    assert.equal(live.uuid, uuid);
    assert.equal(live.nn, 2, 'the two broken segments were skipped');
    assert.match(stack.logs(), /is empty or not MPEG-TS/);
    await rec.call('end', { uuid });
    await rec.waitDone(uuid);
    await feeder.unpublish();
  });

  it('a denying glob records nothing; changing it applies to the next segment without a restart', async () => {
    await rec.call('globs', { globs: ['/other/*', ''] });
    assert.deepEqual(((await rec.call('query')) as { globs: string[] }).globs, ['/other/*']);
    const feeder = new StreamFeeder(stack, hlsDir, 'live', 'globbed');
    await feeder.publish();
    await feeder.segments(fixtures.slice(0, 2));
    assert.equal((await rec.files()).filter((f) => f.stream === 'globbed').length, 0, 'denied by the glob');
    await rec.call('globs', { globs: ['/live/glob*'] });
    await feeder.segments(fixtures.slice(2, 4));
    const live = await rec.recording('globbed');
    assert.equal(live.nn, 2, 'only segments after the change');
    await rec.call('globs', { globs: [] });
    await rec.call('end', { uuid: live.uuid });
    await rec.waitDone(live.uuid);
    await feeder.unpublish();
  });

  it('record/end while publishing finishes the record, and the next segment starts a new one', async () => {
    const { feeder, uuid: firstUuid } = await startRecord('ending', 2);
    await rec.call('end', { uuid: firstUuid });
    await rec.call('end', { uuid: firstUuid }); // ending twice is harmless
    await feeder.segments(fixtures.slice(2, 5));
    const second = await rec.recording('ending');
    assert.notEqual(second.uuid, firstUuid);
    assert.equal(second.nn, 3);
    assert.equal((await rec.waitDone(firstUuid)).nn, 2);
    await rec.call('end', { uuid: second.uuid });
    await rec.waitDone(second.uuid);
    await feeder.unpublish();
  });

  it('a republish inside the wait window continues the same record: one file, discontinuity marked', async () => {
    const { feeder, uuid } = await startRecord('flaky', 3);
    await feeder.unpublish();
    // Not a synchronisation (the unpublish was handled when it resolved) but the outage under test:
    // a second without segments, shorter than the 3 s window, which the record must outlive.
    await sleep(1000);
    assert.equal((await rec.record(uuid))?.status, 'recording', 'the record outlived the outage');
    // A new publish restarts its timestamps (the same source again), and the engine's numbering jumped.
    await feeder.publish();
    await feeder.segment(fixtures[0] as FixtureSegment, feeder.seq + 5);
    await feeder.segments(fixtures.slice(1, 3));
    await feeder.unpublish();
    const playlist = await (await fetch(`${stack.url}/terraform/v1/hooks/record/hls/${uuid}.m3u8`)).text();
    assert.equal(playlist.split('#EXT-X-DISCONTINUITY').length - 1, 1, playlist);
    // No segment for 3 s: the record finishes by itself.
    const done = await rec.waitDone(uuid);
    assert.equal(done.nn, 6);
    assert.equal((await rec.files()).filter((f) => f.stream === 'flaky').length, 1, 'one file');
    const media = await probe(rec.mp4(uuid));
    assert.ok(Math.abs(media.duration - sum(fixtures.slice(0, 6))) < 1.5, `duration ${media.duration}`);
    assert.ok(mp4TopLevelBoxes(rec.mp4(uuid)).includes('sidx'), 'written while recording, across the republish');
  });

  it('the MP4 writer failing mid-record loses nothing: the segments are remuxed at the end', async () => {
    const remuxes = async () => {
      const res = await fetch(`${stack.url}/metrics`, { headers: { Authorization: `Bearer ${rec.bearer}` } });
      return Number(/^srs_stack_record_remuxes_total (\d+)$/m.exec(await res.text())?.[1]);
    };
    const remuxedBefore = await remuxes();
    assert.ok(Number.isInteger(remuxedBefore), 'srs_stack_record_remuxes_total is exported');
    const { feeder, uuid } = await startRecord('writer-fails', 3);
    const writers = async () => {
      const res = await fetch(`${stack.url}/metrics`, { headers: { Authorization: `Bearer ${rec.bearer}` } });
      return Number(/^srs_stack_record_mp4_writers (\d+)$/m.exec(await res.text())?.[1]);
    };
    assert.equal(await writers(), 1, 'its MP4 is written while it records');
    // The publisher changes its resolution without a new publish, its clock going on: one moov
    // cannot describe both, so the writer (live-mp4.ts) gives up; the segments are all there is.
    const larger = await makeSegments(tempDir('record-fixture-larger-'), { seconds: 12, size: '640x360' });
    await feeder.segments(larger.slice(3, 6));
    await rec.call('end', { uuid });
    const done = await rec.waitDone(uuid);
    assert.equal(done.nn, 6);
    const media = await probe(rec.mp4(uuid));
    const expected = sum(fixtures.slice(0, 3)) + sum(larger.slice(3, 6));
    assert.ok(Math.abs(media.duration - expected) < 0.5, `duration ${media.duration}, expected ${expected}`);
    assert.deepEqual(media.streams.map((s) => `${s.codec_type}/${s.codec_name}`).sort(), ['audio/aac', 'video/h264']);
    const boxes = mp4TopLevelBoxes(rec.mp4(uuid));
    assert.ok(!boxes.includes('moof') && boxes.indexOf('moov') < boxes.indexOf('mdat'), `remuxed, fast start: ${boxes.join(',')}`);
    assert.match(stack.logs(), new RegExp(`record ${uuid}: the MP4 written while recording is not usable \\(.*the streams changed`));
    assert.equal(await remuxes(), remuxedBefore + 1, 'counted in srs_stack_record_remuxes_total');
    await feeder.unpublish();
  });

  it('after unpublish and record/end, a late segment starts no record', async () => {
    const { feeder, uuid } = await startRecord('late', 2);
    await feeder.unpublish();
    await rec.call('end', { uuid });
    await feeder.segment(fixtures[2] as FixtureSegment); // the engine's trailing partial segment
    await rec.waitDone(uuid);
    assert.deepEqual(
      (await rec.files()).filter((f) => f.stream === 'late').map((f) => f.uuid),
      [uuid],
    );
  });

  it('copies the MP4 into the post-processing directory as {uuid}.mp4 before reporting done', async () => {
    const bucket = path.join(stack.dataDir, 'srs-s3-bucket');
    assert.ok(fs.statSync(bucket).isDirectory(), 'created at first boot, as SRS Stack does (the console’s default)');
    // As SRS Stack's scripts write it: relative to its tree, where containers/data is the data directory.
    await rec.call('post-processing', { postProcess: 'post-cp-file', postCpDir: './containers/data/srs-s3-bucket' });
    const { feeder, uuid } = await startRecord('copied', 2);
    await rec.call('end', { uuid });
    const done = await rec.waitDone(uuid);
    const copy = path.join(bucket, `${uuid}.mp4`);
    assert.equal(done.post_cp_file, copy);
    assert.ok(fs.readFileSync(copy).equals(fs.readFileSync(rec.mp4(uuid))), 'the copy is the MP4, byte for byte');
    assert.deepEqual(
      fs.readdirSync(bucket).filter((f) => f.endsWith('.tmp')),
      [],
    );

    await rec.call('remove', { uuid });
    assert.equal(await rec.record(uuid), undefined);
    assert.ok(!fs.existsSync(path.join(stack.dataDir, 'record', uuid)), 'record files removed');
    assert.ok(fs.existsSync(copy), 'the post-processing copy is kept');
    await rec.call('post-processing', { postProcess: 'post-cp-file', postCpDir: '' });
    await feeder.unpublish();
  });

  it('a missing post-processing target: the error is reported and retried without remuxing again; nothing is deleted', async () => {
    const bucket = tempDir('record-bucket-');
    await rec.call('post-processing', { postProcess: 'post-cp-file', postCpDir: bucket });
    fs.rmSync(bucket, { recursive: true }); // e.g. the s3fs mount went away
    const { feeder, uuid } = await startRecord('nobucket', 2);
    await rec.call('end', { uuid });
    const failing = await rec.waitFor(uuid, (r) => Boolean(r.error), 'reports the copy error');
    assert.match(failing.error ?? '', /post-processing directory .* is missing/);
    assert.equal(failing.status, 'finishing');
    assert.equal(failing.progress, true, 'not reported done');
    const mp4 = fs.statSync(rec.mp4(uuid));
    assert.equal(fs.readdirSync(path.join(stack.dataDir, 'record', uuid)).filter((f) => f.endsWith('.ts')).length, 2);

    fs.mkdirSync(bucket);
    const done = await rec.waitDone(uuid);
    assert.equal(done.error, undefined);
    assert.ok(fs.existsSync(path.join(bucket, `${uuid}.mp4`)));
    const after = fs.statSync(rec.mp4(uuid));
    assert.equal(after.ino, mp4.ino, 'the MP4 was not regenerated');
    assert.equal(after.mtimeMs, mp4.mtimeMs);
    await rec.call('post-processing', { postProcess: 'post-cp-file', postCpDir: '' });
    await feeder.unpublish();
  });

  it('an unwritable post-processing target: the error is reported and retried until it is writable', async function () {
    if (!canMount()) this.skip(); // needs root to mount a read-only tmpfs
    const bucket = tempDir('record-ro-bucket-');
    mount(bucket, 'ro,size=8m');
    try {
      await rec.call('post-processing', { postProcess: 'post-cp-file', postCpDir: bucket });
      const { feeder, uuid } = await startRecord('robucket', 2);
      await rec.call('end', { uuid });
      const failing = await rec.waitFor(uuid, (r) => Boolean(r.error), 'reports the copy error');
      assert.match(failing.error ?? '', /post-processing copy to .* failed: .*EROFS/);
      assert.ok(fs.existsSync(rec.mp4(uuid)));
      remount(bucket, 'rw');
      await rec.waitDone(uuid);
      assert.deepEqual(fs.readdirSync(bucket), [`${uuid}.mp4`], 'no temporary file left behind');
      await feeder.unpublish();
    } finally {
      await rec.call('post-processing', { postProcess: 'post-cp-file', postCpDir: '' });
      umount(bucket);
    }
  });

  it('lists every record, newest first, beyond SRS Stack’s 100', async () => {
    const redis = new Redis({ path: path.join(stack.dataDir, 'redis', 'redis.sock') });
    try {
      const uuids = Array.from({ length: 600 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      const artifact = (uuid: string, i: number) =>
        JSON.stringify({
          uuid,
          m3u8_url: 'old/x.m3u8',
          app: 'old',
          stream: 'x',
          progress: false,
          update: new Date(Date.UTC(2020, 0, 1, 0, 0, i)).toISOString(),
          nn: 0,
          files: [],
        });
      await redis.hset('SRS_RECORD_M3U8_ARTIFACT', Object.fromEntries(uuids.map((u, i) => [u, artifact(u, i)])));
      const files = await rec.files();
      assert.ok(files.length >= 600, `${files.length} records`);
      const old = files.filter((f) => f.app === 'old').map((f) => f.uuid);
      assert.equal(old[0], uuids.at(-1), 'newest first');
      assert.ok(files.findIndex((f) => f.app === 'old') > 0, 'this run’s records are newer');
      await redis.hdel('SRS_RECORD_M3U8_ARTIFACT', ...uuids);
    } finally {
      redis.disconnect();
    }
  });
});

describe('record: crash and disk faults', function () {
  this.timeout(120_000);
  let fixtures: FixtureSegment[];

  before(async () => {
    fixtures = await makeSegments(tempDir('record-fixture-'), { seconds: 10 });
  });

  it('kill -9 mid-recording: the next start finishes the record with every segment that arrived, even one only written ahead', async () => {
    const dataDir = tempDir();
    const hlsDir = tempDir('record-engine-hls-');
    const env = { SRS_RECORD_WAIT_SECONDS: '60' };
    let stack = await startStack({ entry: FEEDER_MAIN, dataDir, env });
    const rec = new RecordApi(stack, await initAdmin(stack));
    await rec.call('apply', { all: true });
    const feeder = new StreamFeeder(stack, hlsDir);
    await feeder.publish();
    await feeder.segments(fixtures.slice(0, 3));
    const { uuid } = await rec.recording();
    await stack.crash();

    // A crash between writing a segment ahead and copying it: only Redis knows the segment. The
    // orphaned redis-server still runs; the next start reaps it (it saves) and reloads its data.
    const redis = new Redis({ path: path.join(dataDir, 'redis', 'redis.sock') });
    const source = path.join(hlsDir, 'live', 'livestream-3.ts');
    fs.copyFileSync((fixtures[3] as FixtureSegment).file, source);
    const task = JSON.parse((await redis.hget('SRS_RECORD_M3U8_WORKING', 'live/livestream.m3u8')) as string);
    const tsid = '99999999-0000-4000-8000-000000000003';
    const key = `record/${uuid}/${tsid}.ts`;
    task.msgs.push({
      msg: {
        vhost: '__defaultVhost__',
        app: 'live',
        stream: 'livestream',
        file: source,
        url: 'live/livestream-3.ts',
        m3u8_url: 'live/livestream.m3u8',
        seq_no: 3,
        duration: fixtures[3]?.duration,
        size: fs.statSync(source).size,
      },
      tsfile: {
        key,
        tsid,
        tsfile: key,
        url: 'live/livestream-3.ts',
        seqno: 3,
        duration: fixtures[3]?.duration,
        size: fs.statSync(source).size,
      },
    });
    await redis.hset('SRS_RECORD_M3U8_WORKING', 'live/livestream.m3u8', JSON.stringify(task));
    redis.disconnect();

    stack = await startStack({ entry: FEEDER_MAIN, dataDir, env });
    try {
      const again = new RecordApi(stack, rec.bearer);
      const resumed = await again.waitFor(uuid, (r) => r.nn === 4, 'recovers the written-ahead segment');
      assert.equal(resumed.status, 'recording', 'the same record goes on after the restart');
      const more = new StreamFeeder(stack, hlsDir);
      await more.publish();
      await more.segment(fixtures[4] as FixtureSegment, 4);
      await again.call('end', { uuid });
      const done = await again.waitDone(uuid);
      assert.equal(done.nn, 5);
      const media = await probe(again.mp4(uuid));
      assert.ok(Math.abs(media.duration - sum(fixtures.slice(0, 5))) < 1, `duration ${media.duration}`);
      // The MP4 the crash cut was dropped; the resumed record's new writer was fed every segment.
      assert.ok(mp4TopLevelBoxes(again.mp4(uuid)).includes('sidx'), 'written while recording after the restart');
      assert.deepEqual(
        fs.readdirSync(path.dirname(again.mp4(uuid))).filter((f) => f.endsWith('.tmp')),
        [],
      );
    } finally {
      await stack.stop();
    }
  });

  it('finishes a record SRS Stack left unfinished (its segments in record/) and deletes all of it', async () => {
    const dataDir = tempDir();
    let stack = await startStack({ entry: FEEDER_MAIN, dataDir });
    const bearer = await initAdmin(stack);
    await stack.crash();
    // SRS Stack's layout: the intake copy record/{tsid}.ts stays where it is until the record moves it.
    const uuid = '5f1c2d3e-4b5a-4978-8a6b-5c4d3e2f1a0b';
    const files = fixtures.slice(0, 2).map((f, i) => {
      const tsid = `5f1c2d3e-0000-4000-8000-00000000000${i}`;
      const key = `record/${tsid}.ts`;
      fs.copyFileSync(f.file, path.join(dataDir, key));
      return { key, tsid, tsfile: key, url: `live/livestream-${i}.ts`, seqno: i, duration: f.duration, size: fs.statSync(f.file).size };
    });
    const redis = new Redis({ path: path.join(dataDir, 'redis', 'redis.sock') });
    const artifact = {
      uuid,
      m3u8_url: 'live/livestream.m3u8',
      vhost: '__defaultVhost__',
      app: 'live',
      stream: 'livestream',
      progress: true,
      update: '2024-11-16T08:00:00+08:00',
      nn: 2,
      files,
    };
    await redis.hset('SRS_RECORD_M3U8_ARTIFACT', uuid, JSON.stringify(artifact));
    redis.disconnect();

    stack = await startStack({ entry: FEEDER_MAIN, dataDir });
    try {
      const rec = new RecordApi(stack, bearer);
      await rec.waitDone(uuid);
      const media = await probe(rec.mp4(uuid));
      assert.ok(Math.abs(media.duration - sum(fixtures.slice(0, 2))) < 1, `duration ${media.duration}`);
      await rec.call('remove', { uuid });
      assert.deepEqual(fs.readdirSync(path.join(dataDir, 'record')), [], 'its segments, playlist and MP4 are gone');
    } finally {
      await stack.stop();
    }
  });

  it('disk full while finalising: reported, retried, never a partial MP4; done after a restart with space', async function () {
    if (!canMount()) this.skip(); // needs root to mount a small tmpfs
    const dataDir = tempDir();
    const recordDir = path.join(dataDir, 'record');
    fs.mkdirSync(recordDir);
    // No MP4 written while recording (RECORD_MP4_WRITERS 0): it takes its room while recording, where
    // a full disk is the next test's case; here all of the MP4 is written when the record is finalised.
    const FINALISE_ONLY = { SRS_RECORD_WAIT_SECONDS: '60', RECORD_MP4_WRITERS: '0' };
    const segments = fixtures.slice(0, 4);
    const tsBytes = segments.reduce((s, f) => s + fs.statSync(f.file).size, 0);
    // Room for the segments and the playlist, not for the MP4 as well.
    mount(recordDir, `size=${Math.ceil((tsBytes + 96 * 1024) / 4096) * 4096}`);
    let stack: StackHandle | null = null;
    try {
      stack = await startStack({ entry: FEEDER_MAIN, dataDir, env: FINALISE_ONLY });
      const rec = new RecordApi(stack, await initAdmin(stack));
      await rec.call('apply', { all: true });
      const feeder = new StreamFeeder(stack, tempDir('record-engine-hls-'));
      await feeder.publish();
      await feeder.segments(segments);
      const { uuid } = await rec.recording();
      assert.equal((await rec.record(uuid))?.nn, segments.length);
      await rec.call('end', { uuid });
      const failing = await rec.waitFor(uuid, (r) => Boolean(r.error), 'reports the full disk');
      assert.match(failing.error ?? '', /No space left on device|ENOSPC/);
      assert.equal(failing.progress, true);
      const dir = path.join(recordDir, uuid);
      assert.ok(!fs.existsSync(rec.mp4(uuid)), 'no MP4 reported while it could not be written');
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.includes('.mp4')),
        [],
        'the partial MP4 was removed',
      );
      // Retried meanwhile (the disk is still full), then a crash; space is freed; the next start finishes it.
      await rec.waitFor(uuid, (r) => (r.attempts ?? 0) >= 2 && Boolean(r.error), 'retries');
      await stack.crash();
      remount(recordDir, 'size=64m');
      stack = await startStack({ entry: FEEDER_MAIN, dataDir, env: FINALISE_ONLY });
      const again = new RecordApi(stack, rec.bearer);
      const done = await again.waitDone(uuid);
      assert.equal(done.error, undefined);
      const media = await probe(again.mp4(uuid));
      assert.ok(media.duration >= sum(segments) - 1, `duration ${media.duration}`);
    } finally {
      await stack?.stop();
      umount(recordDir);
    }
  });

  it('a small data disk filling up: the on_disk_low callback and the console warning come before the record has to stop (issue 19)', async function () {
    if (!canMount()) this.skip(); // needs root to mount a small tmpfs
    const dataDir = tempDir();
    const recordDir = path.join(dataDir, 'record');
    fs.mkdirSync(recordDir);
    const perSegment = fixtures.reduce((s, f) => s + fs.statSync(f.file).size, 0) / fixtures.length;
    // Room for about 40 segments; the warning is set at about 20 segments' worth of free space.
    const diskBytes = Math.ceil((40 * perSegment) / 4096) * 4096;
    mount(recordDir, `size=${diskBytes}`);
    const receiver = await startCallbackReceiver();
    let stack: StackHandle | null = null;
    try {
      stack = await startStack({ entry: FEEDER_MAIN, dataDir, env: { SRS_RECORD_WAIT_SECONDS: '60' } });
      const rec = new RecordApi(stack, await initAdmin(stack));
      const hooks = await stack.api(
        '/terraform/v1/mgmt/hooks/apply',
        { target: receiver.url, opaque: '', all: true },
        { bearer: rec.bearer },
      );
      assert.equal(hooks.status, 200);
      await rec.call('apply', { all: true });
      await rec.call('retention/apply', { warnFreeMb: (20 * perSegment) / (1024 * 1024) });
      const feeder = new StreamFeeder(stack, tempDir('record-engine-hls-'));
      await feeder.publish();
      const warned = () => receiver.received.find((b) => b.action === 'on_disk_low');
      let fed = 0;
      let atWarning: RecordFile | undefined;
      let failing: RecordFile | undefined;
      while (!failing && fed < 200) {
        await feeder.segment(fixtures[fed % fixtures.length] as FixtureSegment);
        fed += 1;
        const live = await rec.recording();
        if (live.error) failing = live;
        if (!atWarning && ((await rec.call('retention/query')) as { disk: { low: boolean } }).disk.low) {
          // Low now: the guard (every 5 s) calls back before anything else is written.
          await waitFor(
            () => Boolean(warned()),
            15_000,
            () => JSON.stringify(receiver.received),
          );
          atWarning = await rec.recording();
          const page = await fetch(`${stack.url}/mgmt/login`);
          assert.match(await page.text(), /id="storage-alert"/, 'the console warns too');
        }
      }
      assert.ok(atWarning, `warned (after ${fed} segments)`);
      assert.equal(atWarning.error, undefined, 'the record was still recording every segment when the warning went out');
      assert.ok(failing, `the disk filled up in the end (after ${fed} segments)`);
      assert.match(failing.error ?? '', /ENOSPC|no space/i);
      assert.ok(failing.nn > atWarning.nn, 'segments were still recorded after the warning');
      const warning = warned() as Record<string, unknown>;
      assert.equal(warning.dir, recordDir);
      assert.equal(receiver.received.filter((b) => b.action === 'on_disk_low').length, 1, 'one warning per crossing');
      await feeder.unpublish();
    } finally {
      await stack?.stop();
      receiver.close();
      umount(recordDir);
    }
  });
});
