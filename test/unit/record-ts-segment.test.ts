// What the record's MP4 writer reads of a segment before transmuxing it
// (server/features/record/ts-segment.ts): real MPEG-TS made by ffmpeg, parsed by mux.js.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  firstDecodeTime,
  inspectorTiming,
  isDiscontinuity,
  segmentTiming,
  uncarriedStreamTypes,
  type SegmentTiming,
} from '../../server/features/record/ts-segment.js';

/** One second of a test pattern with a tone, as MPEG-TS: H.264 (keyframe first) and `audio`. */
function transportStream(audio: 'aac' | 'libmp3lame', offsetSeconds = 0): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-segment-'));
  const file = path.join(dir, 'a.ts');
  // prettier-ignore
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', audio,
    '-output_ts_offset', String(offsetSeconds), '-f', 'mpegts', file,
  ]);
  const bytes = fs.readFileSync(file);
  fs.rmSync(dir, { recursive: true });
  return bytes;
}

/** Three seconds cut into 0.7 s segments, most starting inside a GOP (2 s). */
function segments(streams: string[]): Buffer[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-segment-'));
  // prettier-ignore
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a', 'aac', ...streams,
    '-f', 'segment', '-segment_time', '0.7', '-break_non_keyframes', '1', '-segment_format', 'mpegts', path.join(dir, 's%d.ts'),
  ]);
  const names = fs.readdirSync(dir).sort((a, b) => a.length - b.length || a.localeCompare(b));
  const bytes = names.map((name) => fs.readFileSync(path.join(dir, name)));
  fs.rmSync(dir, { recursive: true });
  return bytes;
}

const span = (first: number, last: number) => ({ first, last });
const timing = (video: [number, number] | null, audio: [number, number] | null): SegmentTiming => ({
  video: video && span(...video),
  audio: audio && span(...audio),
  startsWithKeyframe: true,
});

describe('record: what the MP4 writer reads of a segment (ts-segment.ts)', () => {
  let aac: Buffer;
  before(() => {
    aac = transportStream('aac', 10);
  });

  it('names the stream types mux.js would drop: none for H.264 and AAC, MP3 (0x03 or 0x04) otherwise', () => {
    assert.deepEqual(uncarriedStreamTypes(aac), []);
    const mp3 = uncarriedStreamTypes(transportStream('libmp3lame'));
    assert.equal(mp3?.length, 1);
    assert.ok([0x03, 0x04].includes(mp3?.[0] as number), String(mp3));
    assert.equal(uncarriedStreamTypes(Buffer.from('not a transport stream')), null);
    assert.equal(uncarriedStreamTypes(Buffer.alloc(188 * 3, 0x47).fill(0xff, 1, 188)), null, 'no PAT, no PMT');
  });

  it('reads where each kind starts and ends (90 kHz) and whether the video starts on a keyframe', () => {
    const t = segmentTiming(aac) as SegmentTiming;
    assert.ok(t.video && t.audio);
    // ffmpeg's MPEG-TS muxer starts its clock at 1.4 s, after the 10 s asked.
    assert.ok(Math.abs(t.video.first - 11.4 * 90000) < 0.2 * 90000, `video from ${t.video.first}`);
    assert.ok(t.video.last > t.video.first && t.video.last - t.video.first < 90000, `video to ${t.video.last}`);
    assert.ok(Math.abs(t.audio.first - t.video.first) < 0.2 * 90000, `audio from ${t.audio.first}`);
    assert.equal(t.startsWithKeyframe, true);
    assert.equal(firstDecodeTime(t), Math.min(t.video.first, t.audio.first));
    assert.equal(segmentTiming(Buffer.alloc(188, 0x47)), null, 'no PES');
  });

  it('a segment continues the one before unless a kind goes back, jumps over 10 s, or no kind goes on', () => {
    const before = timing([0, 180000], [0, 178000]);
    assert.equal(isDiscontinuity(before, timing([183600, 360000], [180000, 358000])), false, 'the next two seconds');
    assert.equal(isDiscontinuity(before, timing([183600 + 5 * 90000, 900000], [180000 + 5 * 90000, 900000])), false, 'a 5 s gap is kept');
    assert.equal(isDiscontinuity(before, timing([0, 180000], [0, 178000])), true, 'a republish restarts the clock');
    assert.equal(isDiscontinuity(before, timing([183600, 360000], [0, 178000])), true, 'one kind going back is enough');
    assert.equal(isDiscontinuity(before, timing([180000 + 11 * 90000, 2e6], [180000 + 11 * 90000, 2e6])), true, 'an 11 s jump');
    assert.equal(isDiscontinuity(timing([0, 180000], null), timing(null, [183600, 360000])), true, 'video, then audio only');
    assert.equal(isDiscontinuity(before, timing(null, [180000, 358000])), false, 'audio goes on while video pauses');
  });

  it('reads what mux.js’s inspector reads, for a fraction of its CPU: GOPs split across segments, one kind only, a clock rolling over', () => {
    const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'record-mux');
    const committed = fs.readdirSync(fixtures).filter((f) => f.endsWith('.m2t'));
    const all = [
      ...committed.map((f) => fs.readFileSync(path.join(fixtures, f))),
      ...segments([]),
      ...segments(['-an']),
      ...segments(['-vn']),
      // 2^33 / 90 kHz is 95443.7 s: its clock wraps inside (ffmpeg starts at 1.4 s past the offset).
      transportStream('aac', 95442),
    ];
    const read = all.map((ts, i) => {
      const t = segmentTiming(ts);
      assert.deepEqual(t, inspectorTiming(ts), `segment ${i}`);
      return t as SegmentTiming;
    });
    assert.ok(read.some((t) => t.video && !t.startsWithKeyframe) && read.some((t) => t.video && t.startsWithKeyframe));
    assert.ok(read.some((t) => !t.video) && read.some((t) => !t.audio), 'audio only and video only');
    assert.ok(
      read.some((t) => t.video && t.video.last >= 2 ** 33 && t.video.first < 2 ** 33),
      'a rollover inside a segment',
    );
    // Not aligned on 188 bytes: read by the inspector itself.
    const unaligned = Buffer.concat([Buffer.alloc(5), all[0] as Buffer]);
    assert.deepEqual(segmentTiming(unaligned), inspectorTiming(all[0] as Buffer));
  });
});
