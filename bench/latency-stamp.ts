// Wall-clock stamps for glass-to-glass latency (port of the issue-14 prototype, bench/stamp.mjs).
//
// The publisher draws the low 20 bits of the wall clock in milliseconds, taken when the frame is
// made, as 20 black/white 32×32 blocks along the top-left 640×32 corner of a 1280×720 picture
// (block i, left to right, is bit i; white = 1). The player side measures the grey level of each
// block in the frame it shows and subtracts the decoded stamp from its own clock: the same
// machine's clock, so no sync is needed. 2^20 ms ≈ 17.5 min wraps far above any latency measured.
//
// Pure functions only (unit-tested in test/unit/latency-stamp.test.ts): the ffmpeg source argv,
// the bits a stamp draws, decoding grey levels back to a stamp, and the latency of a reading.

export const STAMP_BITS = 20;
export const STAMP_MOD = 2 ** STAMP_BITS;
/** The stamp's geometry in the reference 1280×720 picture; readers scale frames of other sizes to it. */
export const STAMP_GEOMETRY = { frameWidth: 1280, frameHeight: 720, block: 32 } as const;
/** Grey levels between these two are neither black nor white: the frame is not read (blur, a scene cut). */
export const AMBIGUOUS_LEVELS = { low: 64, high: 192 } as const;

/** The bits (0/1, bit 0 first) a stamp draws for wall-clock time `ms`. */
export function encodeStamp(ms: number): number[] {
  const v = Math.floor(ms) % STAMP_MOD;
  return Array.from({ length: STAMP_BITS }, (_, i) => Math.floor(v / 2 ** i) % 2);
}

/** Grey levels 0–255 that encodeStamp's bits draw (black 0, white 255), the reader's input when nothing is lost. */
export function stampLevels(ms: number): number[] {
  return encodeStamp(ms).map((bit) => bit * 255);
}

/**
 * The stamp held by the blocks' grey levels (bit 0 first), or null when a block is neither black
 * nor white enough to trust (the reading is dropped rather than guessed).
 */
export function decodeStamp(levels: ArrayLike<number>): number | null {
  if (levels.length < STAMP_BITS) return null;
  let v = 0;
  for (let i = 0; i < STAMP_BITS; i++) {
    const level = levels[i] as number;
    if (!(level <= AMBIGUOUS_LEVELS.low || level >= AMBIGUOUS_LEVELS.high)) return null;
    if (level >= AMBIGUOUS_LEVELS.high) v += 2 ** i;
  }
  return v;
}

/** Milliseconds from a stamp to the moment `nowMs` (wall clock) it was seen, modulo the stamp's wrap. */
export function latencyMs(stamp: number, nowMs: number): number {
  return ((((Math.round(nowMs) % STAMP_MOD) - stamp) % STAMP_MOD) + STAMP_MOD) % STAMP_MOD;
}

/** One drawbox per bit: block i is white when bit i of the frame's wall-clock ms (t, seconds since the epoch) is 1. */
export function stampDrawboxes(): string[] {
  const { block } = STAMP_GEOMETRY;
  return Array.from(
    { length: STAMP_BITS },
    (_, i) => `drawbox=x=${i * block}:y=0:w=${block}:h=${block}:color=white:t=fill:enable='mod(floor(t*1000/${2 ** i})\\,2)'`,
  );
}

/**
 * lavfi graph of a live stamped picture: testsrc2 paced to real time (`realtime`), timestamps set to
 * the wall clock at that moment (`setpts=RTCTIME`, µs) so the drawboxes' `t` is the wall clock, then
 * a plain frame-count timeline again for the encoder.
 */
export function stampFilter(fps = 25): string {
  const { frameWidth, frameHeight, block } = STAMP_GEOMETRY;
  return [
    `testsrc2=size=${frameWidth}x${frameHeight}:rate=${fps}`,
    'realtime',
    'settb=1/1000000',
    'setpts=RTCTIME',
    `drawbox=x=0:y=0:w=${block * STAMP_BITS}:h=${block}:color=black:t=fill`,
    ...stampDrawboxes(),
    `settb=1/${fps}`,
    'setpts=N',
  ].join(',');
}

export interface StampSourceOptions {
  /** Output format: 'flv' for RTMP, 'mpegts' for SRT. */
  format: 'flv' | 'mpegts';
  fps?: number;
  gopSeconds?: number;
  videoKbps?: number;
}

/**
 * ffmpeg argv of a live stamped source: H.264 (x264 veryfast, zerolatency: no B-frames, no
 * lookahead), a fixed GOP (keyframe every gopSeconds, no scene-cut keyframes), AAC audio (a sine).
 */
export function stampSourceArgs(url: string, o: StampSourceOptions): string[] {
  const fps = o.fps ?? 25;
  const gop = String(Math.round((o.gopSeconds ?? 2) * fps));
  const kbps = `${o.videoKbps ?? 2500}k`;
  return [
    ...['-hide_banner', '-loglevel', 'error'],
    ...['-f', 'lavfi', '-i', stampFilter(fps)],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-bf', '0', '-pix_fmt', 'yuv420p'],
    ...['-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-b:v', kbps, '-maxrate', kbps, '-bufsize', kbps],
    ...['-c:a', 'aac', '-b:a', '128k'],
    ...(o.format === 'mpegts' ? ['-pes_payload_size', '0', '-flush_packets', '1'] : []),
    ...['-f', o.format, url],
  ];
}

/**
 * ffmpeg argv of a reader: decodes `input` on one thread (frame threads would add a frame of delay
 * each), scales the picture to the reference size, keeps the bar and averages each block to one grey
 * byte: STAMP_BITS bytes per frame on stdout.
 */
export function stampReaderArgs(input: string, extraInputArgs: string[] = []): string[] {
  const { frameWidth, frameHeight, block } = STAMP_GEOMETRY;
  return [
    ...['-hide_banner', '-loglevel', 'error', '-fflags', 'nobuffer', '-flags', 'low_delay', '-threads', '1'],
    ...extraInputArgs,
    ...['-i', input, '-an'],
    ...['-vf', `scale=${frameWidth}:${frameHeight},crop=${block * STAMP_BITS}:${block}:0:0,scale=${STAMP_BITS}:1:flags=area`],
    ...['-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
  ];
}
