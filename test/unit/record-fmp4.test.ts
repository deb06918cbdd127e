// The boxes of the MP4 written while recording (server/features/record/fmp4-file.ts): hand-built
// ftyp/moov/moof boxes in the shapes ffmpeg's fragmented MP4 muxer writes.
import assert from 'node:assert/strict';
import { buildHead, childBoxes, fragmentRuns, initTracks, shiftDecodeTimes } from '../../server/features/record/fmp4-file.js';
import type { Fragment } from '../../server/features/record/fmp4-file.js';

function box(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

const u32 = (...values: number[]) => Buffer.concat(values.map((v) => Buffer.from([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255])));
const u64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
};
/** version (8 bits) and flags (24 bits) of a full box. */
const full = (version: number, flags: number) => u32(((version << 24) | flags) >>> 0);

function trak(id: number, handler: 'vide' | 'soun', timescale: number): Buffer {
  const tkhd = box('tkhd', full(0, 3), u32(0, 0, id, 0, 0), Buffer.alloc(60));
  const mdhd = box('mdhd', full(0, 0), u32(0, 0, timescale, 0), Buffer.alloc(4));
  const hdlr = box('hdlr', full(0, 0), u32(0), Buffer.from(handler, 'latin1'), Buffer.alloc(13));
  return box('trak', tkhd, box('mdia', mdhd, hdlr));
}

const ftyp = box('ftyp', Buffer.from('isom', 'latin1'), u32(512), Buffer.from('isomiso2', 'latin1'));
const mvhd = box('mvhd', full(0, 0), u32(0, 0, 1000, 0), Buffer.alloc(80));
// Audio first, as a source may order them: the video's sidx must still come first.
const moov = box(
  'moov',
  mvhd,
  trak(2, 'soun', 48000),
  trak(1, 'vide', 90000),
  box('mvex', box('trex', full(0, 0), u32(1, 1, 0, 0, 0)), box('trex', full(0, 0), u32(2, 1, 1024, 0, 0))),
);

/** A moof as ffmpeg writes it with default_base_moof: per track tfhd, tfdt and one trun. */
function moof(video: { at: number; durations: number[]; cto?: number; keyframe?: boolean }, audio: { at: number; count: number }): Buffer {
  // Video: per-sample duration, size, flags and composition offset (0x100|0x200|0x400|0x800), data offset.
  const first = video.keyframe === false ? 0x01010000 : 0x02000000;
  const samples = video.durations.map((d, i) => u32(d, 1000, i === 0 ? first : 0x01010000, i === 0 ? (video.cto ?? 0) : 0));
  const vtraf = box(
    'traf',
    box('tfhd', full(0, 0x020000), u32(1)),
    box('tfdt', full(1, 0), u64(video.at)),
    box('trun', full(0, 0xf01), u32(video.durations.length, 0), ...samples),
  );
  // Audio: the default duration from tfhd (0x08), sizes only in trun.
  const atraf = box(
    'traf',
    box('tfhd', full(0, 0x020008), u32(2, 1024)),
    box('tfdt', full(0, 0), u32(audio.at)),
    box('trun', full(0, 0x201), u32(audio.count, 0), ...Array.from({ length: audio.count }, () => u32(300))),
  );
  return box('moof', box('mfhd', full(0, 0), u32(1)), vtraf, atraf);
}

describe('record: the MP4 written while recording (fmp4-file.ts)', () => {
  it('reads the tracks of the init moov, video first, and each track’s run in a fragment', () => {
    const tracks = initTracks(moov);
    assert.deepEqual(tracks, [
      { id: 1, timescale: 90000, video: true, defaultDuration: 0, defaultFlags: 0 },
      { id: 2, timescale: 48000, video: false, defaultDuration: 1024, defaultFlags: 0 },
    ]);
    const runs = fragmentRuns(moof({ at: 180000, durations: [3600, 3600, 3000], cto: 7200 }, { at: 96000, count: 3 }), tracks);
    // The keyframe is shown 7200 after it is decoded: what it shows ends past the run's decode times.
    assert.deepEqual(runs.get(1), {
      decodeTime: 180000,
      firstOffset: 7200,
      duration: 10200,
      presentationEnd: 7200 + 3600,
      startsWithSync: true,
    });
    assert.deepEqual(runs.get(2), {
      decodeTime: 96000,
      firstOffset: 0,
      duration: 3 * 1024,
      presentationEnd: 3 * 1024,
      startsWithSync: true,
    });
    // A fragment cut by -frag_duration inside a long keyframe interval starts on a P-frame.
    const cut = fragmentRuns(moof({ at: 0, durations: [3600], keyframe: false }, { at: 0, count: 1 }), tracks);
    assert.equal(cut.get(1)?.startsWithSync, false);
  });

  it('builds a head of exactly the reserved size: ftyp, moov with its duration, free, one sidx per track', () => {
    const tracks = initTracks(moov);
    const fragments: Fragment[] = [0, 1, 2].map((i) => ({
      size: 1000 + i,
      runs: new Map([
        [
          1,
          { decodeTime: i * 180000, firstOffset: i === 0 ? 3600 : 0, duration: 180000, presentationEnd: 180000, startsWithSync: i !== 2 },
        ],
        [2, { decodeTime: i * 96000, firstOffset: 0, duration: 96000, presentationEnd: 96000, startsWithSync: true }],
      ]),
    }));
    const reserve = ftyp.length + moov.length + 4096;
    const head = buildHead(ftyp, moov, tracks, fragments, reserve) as Buffer;
    assert.equal(head.length, reserve);
    const boxes = childBoxes(head, 0, head.length);
    assert.deepEqual(
      boxes.map((b) => b.type),
      ['ftyp', 'moov', 'free', 'sidx', 'sidx'],
    );
    // mvhd: 6 s, in its timescale of 1000.
    const mvhdAt = head.indexOf('mvhd', 0, 'latin1') + 4;
    assert.equal(head.readUInt32BE(mvhdAt + 16), 6000);
    // Each track's too (a writer may leave "unknown", 0xffffffff): tkhd in the movie's timescale, mdhd in its own.
    const trackDurations = (type: 'tkhd' | 'mdhd', at: number) => {
      const out: number[] = [];
      for (let i = head.indexOf(type, 0, 'latin1'); i >= 0; i = head.indexOf(type, i + 4, 'latin1'))
        out.push(head.readUInt32BE(i + 4 + at));
      return out;
    };
    assert.deepEqual(trackDurations('tkhd', 20), [6000, 6000]);
    assert.deepEqual(trackDurations('mdhd', 16), [6 * 48000, 6 * 90000], 'audio first, as in the moov');
    const [video, audio] = boxes.slice(3) as [(typeof boxes)[0], (typeof boxes)[0]];
    const sidx = (b: (typeof boxes)[0]) => {
      const p = b.start;
      const refs = head.readUInt16BE(p + 38);
      return {
        id: head.readUInt32BE(p + 12),
        timescale: head.readUInt32BE(p + 16),
        earliest: Number(head.readBigUInt64BE(p + 20)),
        firstOffset: Number(head.readBigUInt64BE(p + 28)),
        refs: Array.from({ length: refs }, (_, i) => [
          head.readUInt32BE(p + 40 + i * 12),
          head.readUInt32BE(p + 44 + i * 12),
          head.readUInt32BE(p + 48 + i * 12) >>> 0,
        ]),
      };
    };
    assert.deepEqual(sidx(video), {
      id: 1,
      timescale: 90000,
      earliest: 3600, // the first keyframe is shown after its composition offset
      firstOffset: audio.size, // the fragments begin after the audio's sidx
      refs: [
        [1000, 180000, 0x80000000],
        [1001, 180000, 0x80000000],
        [1002, 180000, 0], // not on a keyframe: no SAP claimed
      ],
    });
    assert.deepEqual(sidx(audio), {
      id: 2,
      timescale: 48000,
      earliest: 0,
      firstOffset: 0,
      refs: [
        [1000, 96000, 0x80000000],
        [1001, 96000, 0x80000000],
        [1002, 96000, 0x80000000],
      ],
    });
  });

  it('points each track’s sidx at its own moof when a fragment has one moof per track (mux.js), and refuses a track missing from one', () => {
    const tracks = initTracks(moov);
    // Each fragment: the audio's moof+mdat (40 bytes from its start), then the video's.
    const fragment = (
      i: number,
      moofAt = new Map([
        [2, 0],
        [1, 40],
      ]),
    ): Fragment => ({
      size: 100 + i,
      moofAt,
      runs: new Map([
        [1, { decodeTime: i * 180000, firstOffset: 0, duration: 180000, presentationEnd: 180000, startsWithSync: true }],
        [2, { decodeTime: i * 96000, firstOffset: 0, duration: 96000, presentationEnd: 96000, startsWithSync: true }],
      ]),
    });
    const reserve = ftyp.length + moov.length + 4096;
    const head = buildHead(
      ftyp,
      moov,
      tracks,
      [0, 1, 2].map((i) => fragment(i)),
      reserve,
    ) as Buffer;
    const [video, audio] = childBoxes(head, 0, head.length).slice(3) as Array<{ start: number; size: number }>;
    const refsOf = (p: number) => Array.from({ length: head.readUInt16BE(p + 38) }, (_, i) => head.readUInt32BE(p + 40 + i * 12));
    // The video's references start at its moof, 40 bytes in, and run to the next fragment's video moof.
    assert.equal(Number(head.readBigUInt64BE((video as { start: number }).start + 28)), (audio as { size: number }).size + 40);
    assert.deepEqual(refsOf((video as { start: number }).start), [100, 101, 102 - 40]);
    assert.equal(Number(head.readBigUInt64BE((audio as { start: number }).start + 28)), 0);
    assert.deepEqual(refsOf((audio as { start: number }).start), [100, 101, 102]);
    // A fragment without a track's moof cannot be indexed for it: no head (the record is remuxed).
    const missing = [fragment(0), fragment(1, new Map([[2, 0]])), fragment(2)];
    assert.equal(buildHead(ftyp, moov, tracks, missing, reserve), null);
  });

  it('moves each track’s fragment in time (tfdt, 64 or 32 bits) and refuses a time below 0 or past 32 bits', () => {
    const tracks = initTracks(moov);
    const fragment = moof({ at: 180000, durations: [3600] }, { at: 96000, count: 1 });
    shiftDecodeTimes(fragment, (id) => (id === 1 ? -180000 : 480));
    const runs = fragmentRuns(fragment, tracks);
    assert.equal(runs.get(1)?.decodeTime, 0);
    assert.equal(runs.get(2)?.decodeTime, 96480);
    assert.throws(
      () => shiftDecodeTimes(moof({ at: 0, durations: [3600] }, { at: 0, count: 1 }), () => -1),
      /track 1: decode time -1 out of range/,
    );
    assert.throws(
      () => shiftDecodeTimes(moof({ at: 0, durations: [3600] }, { at: 0xffffff00, count: 1 }), (id) => (id === 2 ? 0x100 : 0)),
      /track 2: decode time 4294967296 out of range/,
      'a version-0 tfdt holds 32 bits',
    );
  });

  it('indexes fragments in groups when the reserve is short, and gives up when nothing fits', () => {
    const tracks = initTracks(moov);
    const fragments: Fragment[] = Array.from({ length: 10 }, (_, i) => ({
      size: 100,
      runs: new Map([
        [1, { decodeTime: i * 90000, firstOffset: 0, duration: 90000, presentationEnd: 90000, startsWithSync: true }],
        [2, { decodeTime: i * 48000, firstOffset: 0, duration: 48000, presentationEnd: 48000, startsWithSync: true }],
      ]),
    }));
    // Room for 4 references per track: 10 fragments in groups of 3 (3, 3, 3, 1).
    const reserve = ftyp.length + moov.length + 8 + 2 * 40 + 2 * 4 * 12;
    const head = buildHead(ftyp, moov, tracks, fragments, reserve) as Buffer;
    assert.equal(head.length, reserve);
    const sidxAt = head.indexOf('sidx', 0, 'latin1') - 4;
    assert.equal(head.readUInt16BE(sidxAt + 38), 4);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => [head.readUInt32BE(sidxAt + 40 + i * 12), head.readUInt32BE(sidxAt + 44 + i * 12)]),
      [
        [300, 270000],
        [300, 270000],
        [300, 270000],
        [100, 90000],
      ],
    );
    assert.equal(buildHead(ftyp, moov, tracks, fragments, ftyp.length + moov.length + 100), null, 'no room for one reference');
    assert.equal(buildHead(ftyp, moov, tracks, [], reserve), null, 'nothing to index');
  });
});
