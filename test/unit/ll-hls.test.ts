import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlvParser, type FlvHeader, type FlvTag } from '../../server/core/media/flv-tags.js';
import { parseAudioSpecificConfig, parseAvcConfig, UnsupportedMediaError } from '../../server/core/media/fmp4.js';
import {
  blockingAnswer,
  parseLlFile,
  partAnswer,
  renderPlaylist,
  type PlaylistView,
  type SegmentView,
} from '../../server/features/ll-hls/playlist.js';
import { DEFAULT_SEGMENTER_OPTIONS, LlHlsSegmenter, type SegmenterOptions } from '../../server/features/ll-hls/segmenter.js';
import { blockingParam } from '../../server/features/ll-hls/service.js';
import { AVC_CONFIG_TAG_DATA, flvTagBytes } from '../helpers/flv-bytes.js';

const AVC_CONFIG = AVC_CONFIG_TAG_DATA;
const AAC_CONFIG = Buffer.from('af001210', 'hex'); // AAC-LC, 44.1 kHz, stereo

function flvBytes(hasAudio: boolean, hasVideo: boolean, tags: Array<[number, number, Buffer]>): Buffer {
  const header = Buffer.from([0x46, 0x4c, 0x56, 1, (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0), 0, 0, 0, 9, 0, 0, 0, 0]);
  const body = tags.map(([type, ts, data]) => flvTagBytes(type, ts, data));
  return Buffer.concat([header, ...body]);
}

interface Synth {
  seconds: number;
  fps?: number;
  gopS?: number;
  audio?: boolean;
  video?: boolean;
  /** Milliseconds at which the AVC configuration changes (a new SPS). */
  configChangeAt?: number;
  /** Which frames are keyframes (default: every gopS). */
  keyframeAt?: (ms: number) => boolean;
}

/** FLV header and tags of a synthetic stream, parsed by the real FlvParser. */
function synth(o: Synth): { header: FlvHeader; tags: FlvTag[] } {
  const fps = o.fps ?? 25;
  const gop = Math.round((o.gopS ?? 2) * fps);
  const video = o.video ?? true;
  const audio = o.audio ?? true;
  const tags: Array<[number, number, Buffer]> = [];
  if (video) tags.push([9, 0, AVC_CONFIG]);
  if (audio) tags.push([8, 0, AAC_CONFIG]);
  const events: Array<[number, number, Buffer]> = [];
  let changed = false;
  for (let i = 0; i * (1000 / fps) < o.seconds * 1000 && video; i++) {
    const ts = Math.round((i * 1000) / fps);
    if (o.configChangeAt !== undefined && !changed && ts >= o.configChangeAt && i % gop === 0) {
      changed = true;
      const other = Buffer.from(AVC_CONFIG);
      other.writeUInt8((other.at(-5) as number) ^ 0x01, other.length - 5); // a different PPS byte: a new configuration
      events.push([9, ts, other]);
    }
    const key = o.keyframeAt ? o.keyframeAt(ts) : i % gop === 0;
    events.push([9, ts, Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0, 0, 0, 0, 4]), Buffer.alloc(4, i & 0xff)])]);
  }
  for (let i = 0; audio && (i * 1024 * 1000) / 44100 < o.seconds * 1000; i++) {
    events.push([8, Math.round((i * 1024 * 1000) / 44100), Buffer.from([0xaf, 1, 0x21, 0x10, i & 0xff])]);
  }
  events.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const parser = new FlvParser();
  const parsed = parser.push(flvBytes(audio, video, [...tags, ...events]));
  return { header: parser.header as FlvHeader, tags: parsed };
}

function segment(o: Synth, opts: Partial<SegmenterOptions> = {}, end = true): LlHlsSegmenter {
  const { header, tags } = synth(o);
  let clock = 1_700_000_000_000;
  const s = new LlHlsSegmenter({ ...DEFAULT_SEGMENTER_OPTIONS, windowSegments: 100, now: () => clock++, ...opts });
  s.setHeader(header);
  s.push(tags);
  if (end) s.end('test');
  return s;
}

const close = (a: number, b: number, eps = 1e-6) => Math.abs(a - b) < eps;

describe('LL-HLS: codec configurations from FLV', () => {
  it('reads an AVCDecoderConfigurationRecord: SPS, PPS, picture size, codec name', () => {
    const c = parseAvcConfig(AVC_CONFIG.subarray(5));
    assert.equal(c.codec, 'avc1.64000c');
    assert.deepEqual([c.width, c.height, c.sps.length, c.pps.length], [320, 180, 1, 1]);
  });

  it('reads an AudioSpecificConfig', () => {
    const c = parseAudioSpecificConfig(AAC_CONFIG.subarray(2));
    assert.deepEqual([c.objectType, c.sampleRate, c.channels, c.codec], [2, 44100, 2, 'mp4a.40.2']);
  });

  it('refuses what the fMP4 writer cannot carry', () => {
    const twoByteLengths = Buffer.from(AVC_CONFIG.subarray(5));
    twoByteLengths[4] = 0xfd;
    assert.throws(() => parseAvcConfig(twoByteLengths), UnsupportedMediaError);
    assert.throws(() => parseAvcConfig(Buffer.from([1, 0x64, 0, 0x0c])), UnsupportedMediaError);
    assert.throws(() => parseAudioSpecificConfig(Buffer.from([0x17, 0x80])), UnsupportedMediaError); // explicit rate
  });
});

describe('LL-HLS: segmenter (synthetic FLV tags)', () => {
  it('cuts segments at keyframes and parts within the part target, independent only on keyframes', () => {
    const s = segment({ seconds: 6.5, gopS: 2 });
    const segs = s.segments;
    assert.deepEqual(
      segs.map((g) => g.duration.toFixed(2)),
      ['2.00', '2.00', '2.00', '0.52'], // the last frame (6.48 s) lasts as long as the one before,
    );
    assert.equal(s.targetDuration, 2);
    for (const g of segs) {
      assert.ok(g.complete);
      assert.deepEqual(
        g.parts.map((p) => p.index),
        g.parts.map((_, i) => i),
      );
      assert.ok(g.parts.every((p) => p.duration <= DEFAULT_SEGMENTER_OPTIONS.partTargetS + 1e-9));
      assert.deepEqual(
        g.parts.map((p) => p.independent),
        g.parts.map((_, i) => i === 0),
      );
      assert.ok(
        close(
          g.parts.reduce((sum, p) => sum + p.duration, 0),
          g.duration,
        ),
      );
      assert.deepEqual(g.bytes, Buffer.concat(g.parts.map((p) => p.bytes)));
      assert.equal(g.parts[0]?.bytes.subarray(4, 8).toString('latin1'), 'moof');
    }
    assert.deepEqual(s.codecs, ['avc1.64000c', 'mp4a.40.2']);
    assert.equal(s.init?.bytes.subarray(4, 8).toString('latin1'), 'ftyp');
  });

  it('dates segments from the wall clock at the first frame plus media time', () => {
    const s = segment({ seconds: 4.5 });
    const [a, b] = s.segments;
    assert.ok(a && b);
    assert.equal(b.programDateTime - a.programDateTime, 2000);
  });

  it('keeps a bounded window: old segments and their bytes go', () => {
    const s = segment({ seconds: 30, gopS: 1 }, { windowSegments: 4 });
    assert.equal(s.segments.length, 4);
    assert.deepEqual(
      s.segments.map((g) => g.msn),
      [26, 27, 28, 29],
    );
  });

  it('still writes segments when keyframes stop coming (cut after maxSegmentS, then within the target)', () => {
    const s = segment({ seconds: 25, gopS: 100 }, { maxSegmentS: 4 });
    assert.ok(s.segments.length >= 5);
    assert.equal(s.targetDuration, 4);
    assert.ok(s.segments.every((g) => Math.round(g.duration) <= 4));
  });

  it('never changes the target duration: a longer GOP later is cut at a part boundary', () => {
    // Keyframes every 2 s for 6 s, then every 6 s.
    const s = segment({ seconds: 20, keyframeAt: (ms) => (ms < 6000 ? ms % 2000 === 0 : ms % 6000 === 0) });
    assert.equal(s.targetDuration, 2);
    assert.ok(
      s.segments.every((g) => Math.round(g.duration) <= 2),
      s.segments.map((g) => g.duration).join(),
    );
    const cutInGop = s.segments.filter((g) => !g.parts[0]?.independent);
    assert.ok(cutInGop.length > 0, 'segments that start inside a GOP');
  });

  it('audio only: every part independent, segments of about audioSegmentS', () => {
    const s = segment({ seconds: 7, video: false });
    assert.deepEqual(s.codecs, ['mp4a.40.2']);
    assert.ok(s.segments.length >= 3);
    for (const g of s.segments.slice(0, -1)) {
      assert.ok(Math.abs(g.duration - 2) < 0.35, `segment of ${g.duration} s`);
      assert.ok(g.parts.every((p) => p.independent && p.duration <= 0.334));
    }
  });

  it('video only: one track', () => {
    const s = segment({ seconds: 5, audio: false });
    assert.deepEqual(s.codecs, ['avc1.64000c']);
    assert.equal(s.segments.length, 3);
  });

  it('a stream announcing audio that never configures it starts without audio after audioWaitMs', () => {
    const { tags } = synth({ seconds: 5, audio: false });
    const s = new LlHlsSegmenter({ ...DEFAULT_SEGMENTER_OPTIONS, audioWaitMs: 1000 });
    s.setHeader({ version: 1, hasAudio: true, hasVideo: true, bytes: Buffer.alloc(13) });
    s.push(tags);
    s.end('test');
    assert.deepEqual(s.codecs, ['avc1.64000c']);
    // The keyframe at 0 s came while it still waited: the stream starts at the next one (2 s),
    // so 5 s make two segments (2–4 s, 4–5 s) instead of three.
    assert.deepEqual(
      s.segments.map((g) => g.duration.toFixed(2)),
      ['2.00', '1.00'],
    );
  });

  it('a new codec configuration starts a new init segment behind a discontinuity', () => {
    const s = segment({ seconds: 8, configChangeAt: 4000 });
    assert.deepEqual(
      s.segments.map((g) => [g.initId, g.discontinuity]),
      [
        [1, false],
        [1, false],
        [2, true],
        [2, false],
      ],
    );
    assert.ok(s.initFor(1) && s.initFor(2));
    const text = renderPlaylist(s.view());
    assert.match(text, /seg-1\.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-2\.mp4"/);
  });

  it('tells listeners about every part, segment and the end', () => {
    const { header, tags } = synth({ seconds: 4.5 });
    const s = new LlHlsSegmenter();
    const heard: string[] = [];
    s.onChange((e) => heard.push(e));
    s.setHeader(header);
    s.push(tags);
    s.end('test');
    assert.equal(heard.filter((e) => e === 'segment').length, 3);
    assert.equal(
      heard.filter((e) => e === 'part').length,
      s.segments.reduce((n, g) => n + g.parts.length, 0),
    );
    assert.equal(heard.at(-1), 'end');
  });

  it('any frame rate and GOP: parts within target, segments are their parts, keyframe segments', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 60 }), fc.integer({ min: 1, max: 4 }), (fps, gopS) => {
        const s = segment({ seconds: 9, fps, gopS, audio: false }, {}, false);
        const frame = 1 / fps + 0.001;
        for (const g of s.segments) {
          assert.ok(g.parts.every((p) => p.duration <= DEFAULT_SEGMENTER_OPTIONS.partTargetS + frame * 0.05));
          assert.ok(g.parts[0]?.independent);
          assert.ok(
            close(
              g.parts.reduce((sum, p) => sum + p.duration, 0),
              g.duration,
            ),
          );
        }
      }),
      { numRuns: 25 },
    );
  });
});

const seg = (msn: number, parts: number, complete: boolean, extra: Partial<SegmentView> = {}): SegmentView => ({
  msn,
  parts: Array.from({ length: parts }, (_, i) => ({ index: i, duration: 0.5, independent: i === 0 })),
  duration: parts * 0.5,
  complete,
  programDateTime: Date.UTC(2026, 0, 1, 0, 0, msn * 2),
  initId: 1,
  discontinuity: false,
  ...extra,
});

const view = (segments: SegmentView[], extra: Partial<PlaylistView> = {}): PlaylistView => ({
  segments,
  targetDuration: 2,
  partTarget: 0.5,
  discontinuitySequence: 0,
  ended: false,
  ...extra,
});

describe('LL-HLS: playlist rendering', () => {
  it('renders server control, part info, map, date time, parts, segments and the preload hint', () => {
    assert.equal(
      renderPlaylist(view([seg(7, 4, true), seg(8, 2, false)])),
      [
        '#EXTM3U',
        '#EXT-X-VERSION:9',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5',
        '#EXT-X-PART-INF:PART-TARGET=0.5',
        '#EXT-X-MEDIA-SEQUENCE:7',
        '#EXT-X-MAP:URI="init-1.mp4"',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:14.000Z',
        '#EXT-X-PART:DURATION=0.5,URI="part-7.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.5,URI="part-7.1.m4s"',
        '#EXT-X-PART:DURATION=0.5,URI="part-7.2.m4s"',
        '#EXT-X-PART:DURATION=0.5,URI="part-7.3.m4s"',
        '#EXTINF:2.0,',
        'seg-7.m4s',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:16.000Z',
        '#EXT-X-PART:DURATION=0.5,URI="part-8.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.5,URI="part-8.1.m4s"',
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-8.2.m4s"',
        '',
      ].join('\n'),
    );
  });

  it('lists parts only within three target durations of the end', () => {
    const text = renderPlaylist(view([1, 2, 3, 4, 5].map((n) => seg(n, 4, true))));
    assert.ok(!text.includes('part-1.'));
    assert.ok(!text.includes('part-2.'));
    assert.ok(text.includes('part-3.0.m4s'));
    assert.ok(text.includes('seg-1.m4s'));
  });

  it('an ended stream: ENDLIST and no preload hint; the hint of a closed last segment is the next one', () => {
    const ended = renderPlaylist(view([seg(1, 4, true)], { ended: true }));
    assert.match(ended, /#EXT-X-ENDLIST\n$/);
    assert.ok(!ended.includes('PRELOAD-HINT'));
    assert.match(renderPlaylist(view([seg(1, 4, true)])), /PRELOAD-HINT:TYPE=PART,URI="part-2\.0\.m4s"/);
  });

  it('carries the discontinuity sequence', () => {
    assert.match(renderPlaylist(view([seg(4, 4, true)], { discontinuitySequence: 2 })), /#EXT-X-DISCONTINUITY-SEQUENCE:2\n/);
  });

  it('names files it serves, and nothing else', () => {
    assert.deepEqual(parseLlFile('ll.m3u8'), { kind: 'playlist' });
    assert.deepEqual(parseLlFile('init-3.mp4'), { kind: 'init', id: 3 });
    assert.deepEqual(parseLlFile('seg-12.m4s'), { kind: 'segment', msn: 12 });
    assert.deepEqual(parseLlFile('part-12.3.m4s'), { kind: 'part', msn: 12, index: 3 });
    for (const other of ['livestream-3.ts', 'll.m3u8x', 'seg-1.ts', 'part-1.m4s', 'index.m3u8']) assert.equal(parseLlFile(other), null);
  });
});

describe('LL-HLS: blocking playlist reload and preload hints', () => {
  const v = view([seg(5, 4, true), seg(6, 4, true), seg(7, 2, false)]);

  it('answers at once what the window holds or passed', () => {
    assert.equal(blockingAnswer(v, 6, null), 'ready');
    assert.equal(blockingAnswer(v, 7, 1), 'ready');
    assert.equal(blockingAnswer(v, 6, 9), 'ready', 'a later segment has parts');
    assert.equal(blockingAnswer(v, 2, 0), 'ready', 'gone from the window');
  });

  it('waits for what comes next', () => {
    assert.equal(blockingAnswer(v, 7, null), 'wait');
    assert.equal(blockingAnswer(v, 7, 2), 'wait');
    assert.equal(blockingAnswer(v, 8, 0), 'wait');
    assert.equal(blockingAnswer(v, 9, null), 'wait');
  });

  it("the part after a closed segment's last one is the next segment's first part", () => {
    const closed = view([seg(5, 4, true), seg(6, 0, false)]);
    assert.equal(blockingAnswer(closed, 5, 4), 'wait');
    assert.equal(blockingAnswer(view([seg(5, 4, true), seg(6, 1, false)]), 5, 4), 'ready');
  });

  it('refuses a request beyond the last segment plus two, or beyond the Advance Part Limit; an ended stream answers at once', () => {
    assert.equal(blockingAnswer(v, 10, null), 'bad-request');
    // PART-TARGET 0.5 s: the limit is 3 / 0.5 = 6 parts beyond the last one (7.1).
    assert.equal(blockingAnswer(v, 7, 7), 'wait');
    assert.equal(blockingAnswer(v, 7, 8), 'bad-request');
    assert.equal(blockingAnswer(v, 8, 5), 'wait');
    assert.equal(blockingAnswer(v, 8, 6), 'bad-request');
    assert.equal(blockingAnswer({ ...v, ended: true }, 8, 0), 'ready');
  });

  it('a part request waits only for the part being made (or right after it)', () => {
    assert.equal(partAnswer(v, 7, 1), 'ready');
    assert.equal(partAnswer(v, 7, 2), 'wait');
    assert.equal(partAnswer(v, 7, 3), 'wait');
    assert.equal(partAnswer(v, 8, 0), 'wait');
    assert.equal(partAnswer(v, 7, 9), 'missing');
    assert.equal(partAnswer(v, 1, 0), 'missing');
    assert.equal(partAnswer({ ...v, ended: true }, 7, 2), 'missing');
  });

  it('parses _HLS_msn and _HLS_part strictly', () => {
    assert.equal(blockingParam(undefined), null);
    assert.equal(blockingParam('12'), 12);
    for (const bad of ['', '-1', '1.5', 'x', ['1', '2']]) assert.throws(() => blockingParam(bad), /decimal/);
  });
});
