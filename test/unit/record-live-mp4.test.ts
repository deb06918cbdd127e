// The record's MP4 writer with its transmuxing in the shared worker thread
// (server/features/record/live-mp4.ts, live-mp4-worker.ts, docs/compatibility.md §5.8): real
// MPEG-TS segments made by ffmpeg, a real worker thread, real files.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LiveMp4s, liveMp4Path } from '../../server/features/record/live-mp4.js';
import { Mp4Muxer } from '../../server/features/record/live-mp4-muxer.js';
import { ownBuffer, transferList } from '../../server/features/record/live-mp4-messages.js';
import { MUX_WORKER_NICE } from '../../server/features/record/live-mp4-worker.js';
import { threadsAtNice } from '../helpers/thread-nice.js';

/** Committed segments (test/fixtures/record-mux/README.md): keyframe starts, a new timeline, GOPs split across segments. */
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'record-mux');
const FIXTURE_NAMES = ['a0', 'a1', 'a2', 'b0', 'b1', 'b2', 'b3', 'b4'];
/**
 * sha256 of the MP4 the writer made of them before its CPU was cut (commit 01c04c6: mux.js given
 * Buffers, the segments read by mux.js's inspector); any change of the writer's bytes fails here.
 */
const FIXTURE_MP4_SHA256 = '5266d16b7c9e4892581a3cd1b3a38d1dacb039ba2facf6671e26178725c911ae';

async function waitForThreadAtNice(nice: number): Promise<void> {
  for (let i = 0; i < 50 && threadsAtNice(nice) === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(threadsAtNice(nice), 1, `one thread of this process at nice ${nice}`);
}

describe('record: the MP4 writer and its worker thread (live-mp4.ts)', function () {
  this.timeout(60_000);
  let dir: string;
  let segments: string[];
  const keys = () => segments.map((_, i) => `s${i}`);

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'live-mp4-'));
    // Three 1 s segments, each starting on a keyframe, as a record's are.
    // prettier-ignore
    execFileSync('ffmpeg', [
      '-hide_banner', '-loglevel', 'error',
      '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
      '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac',
      '-f', 'segment', '-segment_time', '1', '-segment_format', 'mpegts', path.join(dir, 's%d.ts'),
    ]);
    segments = [0, 1, 2].map((i) => path.join(dir, `s${i}.ts`));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const recordDir = (name: string) => {
    const d = path.join(dir, name);
    fs.mkdirSync(d, { recursive: true });
    return d;
  };
  const feed = (writers: LiveMp4s, uuid: string) => segments.forEach((file, i) => writers.append(uuid, file, `s${i}`));

  /** The same segments muxed on this thread: the head, then the fragments after the reserve. */
  function muxedHere(): Buffer {
    const muxer = new Mp4Muxer();
    const parts = segments.flatMap((file) => muxer.push(fs.readFileSync(file)));
    const { parts: last, head } = muxer.finish();
    return Buffer.concat([head, ...parts, ...last]);
  }

  it('makes the same bytes as before its CPU was cut, from Buffers or plain Uint8Arrays', () => {
    const mp4 = (plain: boolean) => {
      const muxer = new Mp4Muxer();
      const parts = FIXTURE_NAMES.flatMap((name) => {
        const ts = fs.readFileSync(path.join(FIXTURES, `${name}.m2t`));
        return muxer.push(plain ? new Uint8Array(ts) : ts);
      });
      const { parts: last, head } = muxer.finish();
      return crypto
        .createHash('sha256')
        .update(Buffer.concat([head, ...parts, ...last]))
        .digest('hex');
    };
    assert.equal(mp4(false), FIXTURE_MP4_SHA256);
    assert.equal(mp4(true), FIXTURE_MP4_SHA256);
  });

  it('writes, through the shared worker, byte for byte the MP4 the muxer makes on this thread, for writers at once', async () => {
    const writers = new LiveMp4s({ maxWriters: 10 });
    try {
      await writers.open('a', recordDir('a'));
      await writers.open('b', recordDir('b'));
      feed(writers, 'a');
      feed(writers, 'b');
      // The worker thread runs at a lower priority than the stack's (live-mp4-worker.ts, MUX_WORKER_NICE).
      await waitForThreadAtNice(MUX_WORKER_NICE);
      const [a, b] = await Promise.all([writers.finish('a', keys()), writers.finish('b', keys())]);
      const expected = muxedHere();
      assert.equal(a, liveMp4Path(path.join(dir, 'a')));
      assert.ok(fs.readFileSync(a as string).equals(expected), 'a: the same bytes');
      assert.ok(fs.readFileSync(b as string).equals(expected), 'b: the same bytes');
      assert.equal(expected.subarray(4, 8).toString('latin1'), 'ftyp');
    } finally {
      await writers.stop();
    }
  });

  it('a dead worker fails its writers’ finish() (their files removed) and the next writer gets a new one', async () => {
    const writers = new LiveMp4s({ maxWriters: 10 });
    try {
      await writers.open('c', recordDir('c'));
      feed(writers, 'c');
      await writers.killWorker();
      await assert.rejects(writers.finish('c', keys()), /worker/);
      assert.equal(fs.existsSync(liveMp4Path(path.join(dir, 'c'))), false, 'its file removed');
      await writers.open('d', recordDir('d'));
      feed(writers, 'd');
      const d = await writers.finish('d', keys());
      assert.ok(fs.readFileSync(d as string).equals(muxedHere()), 'the new worker writes the whole MP4');
    } finally {
      await writers.stop();
    }
  });

  it('a segment the muxer refuses fails that writer only', async () => {
    const writers = new LiveMp4s({ maxWriters: 10 });
    const junk = path.join(dir, 'junk.ts');
    fs.writeFileSync(junk, Buffer.alloc(188 * 4, 0x47));
    try {
      await writers.open('e', recordDir('e'));
      await writers.open('f', recordDir('f'));
      writers.append('e', junk, 'j');
      feed(writers, 'f');
      await assert.rejects(writers.finish('e', ['j']), /segment j not written: no PAT and PMT/);
      assert.ok(fs.readFileSync((await writers.finish('f', keys())) as string).equals(muxedHere()));
    } finally {
      await writers.stop();
    }
  });

  it('hands over buffers it can transfer whole: a view of part of a buffer is copied, each buffer listed once', () => {
    const whole = new Uint8Array(8);
    assert.equal(ownBuffer(whole), whole);
    const part = whole.subarray(2, 6);
    const owned = ownBuffer(part);
    assert.notEqual(owned.buffer, whole.buffer);
    assert.deepEqual([...owned], [...part]);
    assert.equal(owned.byteLength, owned.buffer.byteLength);
    assert.deepEqual(transferList([whole, whole.subarray(0, 1), owned]), [whole.buffer, owned.buffer]);
  });
});
