import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AMBIGUOUS_LEVELS,
  STAMP_BITS,
  STAMP_MOD,
  decodeStamp,
  encodeStamp,
  latencyMs,
  stampDrawboxes,
  stampFilter,
  stampLevels,
  stampReaderArgs,
  stampSourceArgs,
} from '../../bench/latency-stamp.js';

describe('latency stamp (bench/latency-stamp.ts)', () => {
  it('encodes the low 20 bits of the clock in ms, bit 0 first', () => {
    assert.deepEqual(encodeStamp(0), Array(STAMP_BITS).fill(0));
    assert.deepEqual(encodeStamp(1), [1, ...Array(STAMP_BITS - 1).fill(0)]);
    assert.deepEqual(encodeStamp(0b1011), [1, 1, 0, 1, ...Array(STAMP_BITS - 4).fill(0)]);
    assert.deepEqual(encodeStamp(STAMP_MOD - 1), Array(STAMP_BITS).fill(1));
    assert.deepEqual(encodeStamp(STAMP_MOD + 5), encodeStamp(5), 'higher bits are dropped');
    assert.deepEqual(encodeStamp(1_764_998_400_123.7), encodeStamp(1_764_998_400_123), 'fractions of a ms are dropped');
  });

  it('decodes what it encodes, for any wall-clock time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), (ms) => {
        assert.equal(decodeStamp(stampLevels(ms)), ms % STAMP_MOD);
      }),
    );
  });

  it('decodes blocks that compression made grey but still clearly black or white', () => {
    const levels = stampLevels(0b110).map((l) => (l ? 235 : 16)); // TV-range white and black
    assert.equal(decodeStamp(levels), 0b110);
    assert.equal(decodeStamp(levels.map((l) => (l > 128 ? AMBIGUOUS_LEVELS.high : AMBIGUOUS_LEVELS.low))), 0b110);
  });

  it('refuses a reading with a block neither black nor white, or too few blocks', () => {
    const levels = stampLevels(12345);
    levels[7] = 128;
    assert.equal(decodeStamp(levels), null);
    levels[7] = AMBIGUOUS_LEVELS.low + 1;
    assert.equal(decodeStamp(levels), null);
    assert.equal(decodeStamp(stampLevels(1).slice(0, STAMP_BITS - 1)), null);
  });

  it('gives the latency from stamp to reading, across the 2^20 ms wrap', () => {
    const now = 1_764_998_400_000;
    assert.equal(latencyMs(now % STAMP_MOD, now + 250), 250);
    assert.equal(latencyMs(STAMP_MOD - 100, STAMP_MOD * 7 + 50), 150, 'the clock wrapped between stamp and reading');
    assert.equal(latencyMs(now % STAMP_MOD, now), 0);
    assert.equal(latencyMs(now % STAMP_MOD, now + 99.6), 100, 'a fractional display time is rounded');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 0, max: STAMP_MOD - 1 }), (t, lat) => {
        assert.equal(latencyMs(decodeStamp(stampLevels(t)) as number, t + lat), lat);
      }),
    );
  });

  it("draws with ffmpeg the bits encodeStamp gives: block i at x = 32·i, on when bit i of the frame's ms is 1", () => {
    const boxes = stampDrawboxes();
    assert.equal(boxes.length, STAMP_BITS);
    // Evaluate each drawbox's enable expression the way ffmpeg does, for t in seconds since the epoch.
    const on = (box: string, tSeconds: number) => {
      const m = /^drawbox=x=(\d+):y=0:w=32:h=32:color=white:t=fill:enable='mod\(floor\(t\*1000\/(\d+)\)\\,2\)'$/.exec(box);
      assert.ok(m, box);
      return { x: Number(m[1]), bit: Math.floor((tSeconds * 1000) / Number(m[2])) % 2 };
    };
    fc.assert(
      fc.property(fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }), (ms) => {
        // Mid-millisecond, as a real frame time is (an exact ms boundary is at the mercy of float rounding).
        const drawn = boxes.map((b) => on(b, (ms + 0.5) / 1000));
        assert.deepEqual(
          drawn.map((d) => d.x),
          Array.from({ length: STAMP_BITS }, (_, i) => i * 32),
        );
        assert.deepEqual(
          drawn.map((d) => d.bit),
          encodeStamp(ms),
        );
      }),
    );
  });

  it('builds a live source graph with wall-clock timestamps, the bar, then a frame-count timeline', () => {
    const f = stampFilter(25).split(',');
    assert.equal(f[0], 'testsrc2=size=1280x720:rate=25');
    assert.deepEqual(f.slice(1, 4), ['realtime', 'settb=1/1000000', 'setpts=RTCTIME']);
    assert.equal(f[4], 'drawbox=x=0:y=0:w=640:h=32:color=black:t=fill');
    assert.deepEqual(f.slice(-2), ['settb=1/25', 'setpts=N']);
  });

  it('encodes the source with a fixed GOP and no B-frames; MPEG-TS for SRT', () => {
    const flv = stampSourceArgs('rtmp://127.0.0.1:1935/live/x?secret=k', { format: 'flv', fps: 25, gopSeconds: 2, videoKbps: 2500 });
    const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
    assert.equal(after(flv, '-g'), '50');
    assert.equal(after(flv, '-keyint_min'), '50');
    assert.equal(after(flv, '-sc_threshold'), '0');
    assert.equal(after(flv, '-bf'), '0');
    assert.equal(after(flv, '-b:v'), '2500k');
    assert.deepEqual(flv.slice(-3), ['-f', 'flv', 'rtmp://127.0.0.1:1935/live/x?secret=k']);
    assert.ok(!flv.includes('-pes_payload_size'));
    const ts = stampSourceArgs('srt://127.0.0.1:10080?streamid=#!::r=live/x,m=publish', { format: 'mpegts', fps: 30, gopSeconds: 1 });
    assert.equal(after(ts, '-g'), '30');
    assert.equal(after(ts, '-pes_payload_size'), '0');
    assert.deepEqual(ts.slice(-2), ['mpegts', 'srt://127.0.0.1:10080?streamid=#!::r=live/x,m=publish']);
  });

  it('reads with one decoding thread, STAMP_BITS grey bytes per frame', () => {
    const args = stampReaderArgs('srt://h:1?streamid=x', ['-analyzeduration', '1000000']);
    assert.equal(args[args.indexOf('-threads') + 1], '1');
    assert.ok(args.indexOf('-analyzeduration') < args.indexOf('-i'), 'input options come before -i');
    assert.equal(args[args.indexOf('-vf') + 1], 'scale=1280:720,crop=640:32:0:0,scale=20:1:flags=area');
    assert.deepEqual(args.slice(-5), ['-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']);
  });
});
