// Recording end to end: ffmpeg publishes RTMP to the stack's media engine (nginx-rtmp), the engine's
// segment events drive the recorder, ffprobe checks the MP4s. The publishes start together in
// before() and run side by side on one stack, to keep the wall time near one 20 s publish; each test
// then waits for its own outcome and checks one behaviour.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { publish, spawnFfmpeg, testPublishArgs, type Publisher } from '../helpers/media.js';
import { mp4TopLevelBoxes, probe } from '../helpers/media-probe.js';
import { initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

interface RecordFile {
  uuid: string;
  app: string;
  stream: string;
  status: 'recording' | 'finishing' | 'done';
  nn: number;
  duration: number;
  post_cp_file?: string;
}

const WAIT_SECONDS = 4;

class Recorder {
  constructor(
    readonly stack: StackHandle,
    readonly bearer: string,
  ) {}

  async call(name: string, body: unknown = {}): Promise<unknown> {
    const res = await this.stack.api(`/terraform/v1/${name}`, body, { bearer: this.bearer });
    if (res.status !== 200) throw new Error(`${name} → ${res.status} ${res.json.message}`);
    return res.json.data;
  }

  async files(stream?: string): Promise<RecordFile[]> {
    const all = (await this.call('hooks/record/files')) as RecordFile[];
    return stream ? all.filter((f) => f.stream === stream) : all;
  }

  private async publishUrl(stream: string): Promise<string> {
    const { publish: secret } = (await this.call('hooks/srs/secret/query')) as { publish: string };
    return `rtmp://127.0.0.1:${this.stack.ports.rtmp}/live/${stream}?secret=${secret}`;
  }

  /** An encoder's usual H.264 (B-frames, 2 s GOP) instead of the tests' zerolatency stream. */
  async publishBFrames(stream: string, seconds: number): Promise<Publisher> {
    const args = testPublishArgs(await this.publishUrl(stream), seconds, 50);
    args.splice(args.indexOf('-tune'), 2, '-bf', '3');
    args[args.indexOf('ultrafast')] = 'veryfast';
    return spawnFfmpeg(args);
  }

  async publish(stream: string, seconds: number): Promise<Publisher> {
    return publish(await this.publishUrl(stream), seconds);
  }

  /** Waits until the stream's records satisfy `check`; returns them. */
  async until(stream: string, check: (records: RecordFile[]) => boolean, what: string, timeoutMs = 30_000): Promise<RecordFile[]> {
    let last: RecordFile[] = [];
    await waitFor(
      async () => check((last = await this.files(stream))),
      timeoutMs,
      () => `${stream}: ${what}; records: ${JSON.stringify(last)}\n${this.stack.logs().slice(-4000)}`,
    );
    return last;
  }

  mp4(uuid: string): string {
    return path.join(this.stack.dataDir, 'record', uuid, 'index.mp4');
  }

  /** Waits until the stack no longer lists the stream as live: its unpublish was handled. */
  async untilUnpublished(stream: string): Promise<void> {
    await waitFor(
      async () => {
        const { streams } = (await this.call('mgmt/streams/query')) as { streams: Array<{ stream: string }> | null };
        return !(streams ?? []).some((s) => s.stream === stream);
      },
      15_000,
      () => `${stream} unpublished\n${this.stack.logs().slice(-4000)}`,
    );
  }
}

const allDone = (n: number) => (records: RecordFile[]) => records.length === n && records.every((r) => r.status === 'done');

/** A scenario running in the background until its test awaits it; a failure waits for that test. */
function background<T>(scenario: Promise<T>): Promise<T> {
  scenario.catch(() => undefined);
  return scenario;
}

describe('record with a real publish: ffmpeg → nginx-rtmp → segment events → MP4', function () {
  this.timeout(180_000);
  let stack: StackHandle;
  let rec: Recorder;
  /** r-20: a 20 s publish, recorded into one MP4 and copied to the bucket. */
  let long: Promise<Publisher>;
  /** denied: a 6 s publish the glob does not record. */
  let denied: Promise<Publisher>;
  /** r-ending: a 14 s publish whose record is ended while it goes on. */
  let ending: Promise<{ publisher: Publisher; first: RecordFile; split: RecordFile[] }>;
  /** r-flaky: two 5 s publishes, the second as soon as the first is gone. */
  let flaky: Promise<void>;
  /** r-bframes: a B-frame encoder killed mid-GOP, then publishing again inside the wait window. */
  let bframes: Promise<void>;

  before(async () => {
    stack = await startStack({ env: { SRS_RECORD_WAIT_SECONDS: String(WAIT_SECONDS) } });
    rec = new Recorder(stack, await initAdmin(stack));
    await waitFor(
      async () =>
        ((await rec.call('mgmt/supervisor/query')) as { children: Array<{ name: string; status: string }> }).children.some(
          (c) => c.name === 'nginx' && c.status === 'ready',
        ),
      20_000,
      () => `the media engine is ready\n${stack.logs()}`,
    );
    await rec.call('hooks/record/apply', { all: true });
    await rec.call('hooks/record/globs', { globs: ['/live/r-*'] });
    await rec.call('hooks/record/post-processing', { postProcess: 'post-cp-file', postCpDir: path.join(stack.dataDir, 'srs-s3-bucket') });

    long = background(rec.publish('r-20', 20));
    denied = background(rec.publish('denied', 6));
    ending = background(
      (async () => {
        const publisher = await rec.publish('r-ending', 14);
        // End while publishing: once the first record has a few segments, end it; the stream goes on.
        const [first] = await rec.until('r-ending', (r) => r.length === 1 && (r[0]?.nn ?? 0) >= 2, 'has a record with 2 segments');
        assert.ok(first);
        await rec.call('hooks/record/end', { uuid: first.uuid });
        const split = await rec.until('r-ending', (r) => r.length === 2 && r.some((x) => x.status === 'recording'), 'a new record appears');
        return { publisher, first, split };
      })(),
    );
    flaky = background(
      (async () => {
        const first = await rec.publish('r-flaky', 5);
        assert.equal(await first.exited, 0, first.stderr());
        // The engine must have let the first publish go, or it refuses the second as a duplicate. The
        // outage is then the engine's own (the last segment, a new connection, a first segment),
        // inside the 4 s window.
        await rec.untilUnpublished('r-flaky');
        const second = await rec.publish('r-flaky', 5);
        assert.equal(await second.exited, 0, second.stderr());
      })(),
    );
    bframes = background(
      (async () => {
        const first = await rec.publishBFrames('r-bframes', 0);
        // Killed, not stopped: the encoder is cut between a P-frame and the B-frames shown before it.
        await new Promise((r) => setTimeout(r, 5300));
        first.proc.kill('SIGKILL');
        await first.exited;
        await rec.untilUnpublished('r-bframes');
        const second = await rec.publishBFrames('r-bframes', 5);
        assert.equal(await second.exited, 0, second.stderr());
      })(),
    );
  });
  after(async () => {
    await stack?.stop();
  });

  it('records 20 s into an MP4 with video and audio, finished by itself after the wait window', async () => {
    const publisher = await long;
    assert.equal(await publisher.exited, 0, publisher.stderr());
    // No segment for WAIT_SECONDS: the record finishes by itself.
    const [rec20] = await rec.until('r-20', allDone(1), 'one done record', 40_000);
    assert.ok(rec20);
    const media = await probe(rec.mp4(rec20.uuid));
    assert.ok(media.duration >= 15, `duration ${media.duration}`);
    assert.deepEqual(media.streams.map((s) => `${s.codec_type}/${s.codec_name}`).sort(), ['audio/aac', 'video/h264']);
    // nginx-rtmp's segments went into the MP4 while recording: its index is first, no remux was needed.
    assert.deepEqual(mp4TopLevelBoxes(rec.mp4(rec20.uuid)).slice(0, 6), ['ftyp', 'moov', 'free', 'sidx', 'sidx', 'moof']);
  });

  it('copies the finished MP4 into the post-processing directory', async () => {
    const [rec20] = await rec.until('r-20', allDone(1), 'one done record', 40_000);
    assert.ok(rec20);
    const copy = path.join(stack.dataDir, 'srs-s3-bucket', `${rec20.uuid}.mp4`);
    assert.equal(rec20.post_cp_file, copy);
    assert.equal(fs.statSync(copy).size, fs.statSync(rec.mp4(rec20.uuid)).size, 'the copy landed in the post-processing directory');
  });

  it('records nothing of a stream the glob /live/r-* denies', async () => {
    const publisher = await denied;
    assert.equal(await publisher.exited, 0, publisher.stderr());
    await rec.untilUnpublished('denied');
    // The recorder takes segments one at a time, in order: once r-20 (publishing meanwhile) has a
    // segment the engine finished after denied stopped, every segment of denied has been seen.
    const [r20] = await rec.files('r-20');
    await rec.until('r-20', (r) => r[0]?.status === 'done' || (r[0]?.nn ?? 0) >= (r20?.nn ?? 0) + 2, 'records 2 more segments');
    assert.deepEqual(await rec.files('denied'), []);
  });

  it('record/end while publishing finishes the record, and the stream goes on into a new one', async () => {
    const { publisher, first, split } = await ending;
    assert.ok(split.some((x) => x.uuid !== first.uuid && x.status === 'recording'));
    assert.equal(await publisher.exited, 0, publisher.stderr());
    const endings = await rec.until('r-ending', allDone(2), 'two done records', 40_000);
    const total = endings.reduce((t, r) => t + r.duration, 0);
    assert.ok(total > 11, `both parts together hold the publish: ${total} s`);
  });

  it('a republish inside the wait window joins the same record', async () => {
    await flaky;
    const [joined] = await rec.until('r-flaky', allDone(1), 'one done record', 40_000);
    assert.ok(joined);
    const flakyMedia = await probe(rec.mp4(joined.uuid));
    assert.ok(flakyMedia.duration >= 8, `both publishes in one file: ${flakyMedia.duration} s`);
  });

  it('a B-frame encoder cut mid-GOP and back: one record written while recording, every frame shown after the one before', async () => {
    await bframes;
    const [joined] = await rec.until('r-bframes', allDone(1), 'one done record', 40_000);
    assert.ok(joined);
    const file = rec.mp4(joined.uuid);
    assert.ok((await probe(file)).duration >= 8, 'both publishes in one file');
    // Written while recording (a remux at the end would be a plain MP4 without fragments).
    assert.deepEqual(mp4TopLevelBoxes(file).slice(0, 6), ['ftyp', 'moov', 'free', 'sidx', 'sidx', 'moof']);
    // The second timeline starts after the last frame the first one shows, not after its last
    // decode time: otherwise the first frames of the second are shown before the end of the first.
    const shown = await new Promise<number[]>((resolve, reject) =>
      execFile(
        'ffprobe',
        ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file],
        { maxBuffer: 8 << 20 },
        (err, stdout) =>
          err
            ? reject(err)
            : resolve(
                stdout
                  .split('\n')
                  .filter((line) => /^\d/.test(line))
                  .map((line) => parseFloat(line)),
              ),
      ),
    );
    assert.ok(shown.length > 200, `${shown.length} frames`);
    const back = shown.findIndex((t, i) => i > 0 && !(t > (shown[i - 1] as number)));
    assert.equal(back, -1, `frame ${back} shown at ${shown[back]} s, after one at ${shown[back - 1]} s`);
  });

  it('kill -9 mid-record: after the restart the record finishes with every segment that arrived before the crash', async () => {
    const p = await rec.publish('r-crashy', 30);
    const [live] = await rec.until('r-crashy', (r) => (r[0]?.nn ?? 0) >= 3, 'records 3 segments');
    assert.ok(live);
    const beforeCrash = (await rec.files('r-crashy'))[0] as RecordFile;
    await stack.crash();
    const dataDir = stack.dataDir;
    const ports = stack.ports;
    stack = await startStack({ dataDir, ports, env: { SRS_RECORD_WAIT_SECONDS: String(WAIT_SECONDS) } });
    rec = new Recorder(stack, rec.bearer);
    await p.exited; // the orphaned engine was reaped at boot, which cut the publisher off
    const [done] = await rec.until('r-crashy', allDone(1), 'finishes after the restart', 40_000);
    assert.ok(done);
    assert.equal(done.uuid, live.uuid);
    assert.ok(done.nn >= beforeCrash.nn, `${done.nn} segments recorded, ${beforeCrash.nn} seen before the crash`);
    const segments = fs.readdirSync(path.dirname(rec.mp4(done.uuid))).filter((f) => f.endsWith('.ts'));
    assert.equal(segments.length, done.nn, 'every copied segment belongs to the record');
    const media = await probe(rec.mp4(done.uuid));
    assert.ok(Math.abs(media.duration - done.duration) < 1.5, `MP4 ${media.duration} s for ${done.duration} s of segments`);
  });
});
