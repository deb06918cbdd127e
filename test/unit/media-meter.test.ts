// The live tap's media meter (bitrate and frame rate over a recent window, codecs from the tags) and
// how the console shows a stream's media.
import assert from 'node:assert/strict';
import { flvTagOf, type FlvTag } from '../../server/core/media/flv-tags.js';
import { METER_SETTLE_MS, MediaMeter, codecOf } from '../../server/features/live-tap/media-meter.js';
import { mediaOf } from '../../server/features/live-streams/registry.js';
import { bitrateDrop, healthWarnings } from '../../server/features/live-tap/stream-health.js';
import { consolePlayPath, shownBitrate, shownMedia } from '../../server/features/live-streams/stream-view.js';
import type { EngineStream } from '../../server/engine/media-engine.js';

/** A tag whose FLV bytes are exactly `bytes` long (11-byte header and 4-byte size included). */
function tagOf(kind: 'video' | 'audio', bytes: number, first: number[]): FlvTag {
  const data = Buffer.alloc(bytes - 15, 0xaa);
  Buffer.from(first).copy(data);
  return flvTagOf(kind === 'video' ? 9 : 8, 0, data) as FlvTag;
}
const avcFrame = (bytes: number) => tagOf('video', bytes, [0x27, 0x01]);
const avcConfig = () => tagOf('video', 40, [0x17, 0x00]);
const aac = (bytes: number) => tagOf('audio', bytes, [0xaf, 0x01]);

describe('live tap: media meter', () => {
  it('reads the codecs from the tags: H.264, H.265, Enhanced RTMP FourCCs, AAC, MP3', () => {
    assert.equal(codecOf(avcFrame(100)), 'H.264');
    assert.equal(codecOf(tagOf('video', 100, [0x1c, 0x00])), 'H.265');
    assert.equal(codecOf(tagOf('video', 100, [0x90, ...Buffer.from('av01')])), 'AV1');
    assert.equal(codecOf(tagOf('video', 100, [0x90, ...Buffer.from('hvc1')])), 'H.265');
    assert.equal(codecOf(aac(100)), 'AAC');
    assert.equal(codecOf(tagOf('audio', 100, [0x2f])), 'MP3');
    assert.equal(codecOf(tagOf('video', 100, [0x13])), '', 'an unknown codec id is not guessed');
  });

  it('a steady stream reads its bitrate and frame rate, the configuration not counted as a frame', () => {
    const meter = new MediaMeter();
    const start = 1_000_000;
    meter.add(avcConfig(), start);
    // 25 fps of 1000-byte frames and 50 AAC frames of 200 bytes per second, for 30 s: 280 kbit/s.
    for (let ms = 0; ms < 30_000; ms += 20) {
      if (ms % 40 === 0) meter.add(avcFrame(1000), start + ms);
      meter.add(aac(200), start + ms);
    }
    const r = meter.read(start + 30_000);
    assert.equal(r.videoCodec, 'H.264');
    assert.equal(r.audioCodec, 'AAC');
    assert.ok(Math.abs(r.kbps - 280) <= 3, `kbps ${r.kbps}`);
    assert.ok(Math.abs(r.fps - 25) <= 0.3, `fps ${r.fps}`);
  });

  it('reads 0 (unknown) while the stream is young, then its rate, not a fraction of it', () => {
    const meter = new MediaMeter();
    const start = 5_000_500;
    for (let ms = 0; ms <= 3000; ms += 100) meter.add(avcFrame(1000), start + ms); // 80 kbit/s, 10 fps
    assert.deepEqual([meter.read(start + METER_SETTLE_MS - 1).kbps, meter.read(start + METER_SETTLE_MS - 1).fps], [0, 0]);
    const r = meter.read(start + 3000);
    assert.ok(Math.abs(r.kbps - 80) <= 3, `kbps ${r.kbps}`);
    assert.ok(Math.abs(r.fps - 10) <= 0.4, `fps ${r.fps}`);
  });

  it('follows a change of rate within the window, and falls to 0 once the media stops', () => {
    const meter = new MediaMeter();
    const start = 2_000_000;
    for (let ms = 0; ms < 20_000; ms += 100) meter.add(avcFrame(ms < 10_000 ? 5000 : 1000), start + ms);
    // The last 10 s were 1000-byte frames at 10 fps: 80 kbit/s, nothing left of the 400 before.
    assert.ok(Math.abs(meter.read(start + 20_000).kbps - 80) <= 3, `kbps ${meter.read(start + 20_000).kbps}`);
    assert.equal(meter.read(start + 40_000).kbps, 0);
    assert.equal(meter.read(start + 40_000).videoCodec, 'H.264', 'the codec stays known');
  });
});

describe('live streams: a stream’s media as the registry and the console give it', () => {
  const engine = (video: EngineStream['video'], audio: EngineStream['audio'] = null) => ({ video, audio }) as EngineStream;

  it('takes the size from the engine and the rate, fps and codecs from the meter', () => {
    const m = mediaOf(engine({ codec: 'H264', width: 640, height: 360, fps: 30 }, { codec: 'AAC', sampleRate: 44100, channels: 2 }), {
      kbps: 470,
      fps: 15,
      videoCodec: 'H.264',
      audioCodec: 'AAC',
    });
    assert.deepEqual(m, {
      kbps: 470,
      video: { codec: 'H.264', width: 640, height: 360, fps: 15 },
      audio: { codec: 'AAC', sample_rate: 44100, channel: 2 },
    });
    assert.deepEqual(mediaOf(undefined, null), { kbps: 0, video: null, audio: null });
    assert.deepEqual(mediaOf(undefined, { kbps: 64, fps: 0, videoCodec: '', audioCodec: 'AAC' }).video, null, 'audio only');
  });

  it('shows size, frame rate, codecs and bitrate as people read them', () => {
    assert.deepEqual(
      shownMedia({
        kbps: 1234,
        video: { codec: 'H.264', width: 640, height: 360, fps: 14.96 },
        audio: { codec: 'AAC', sample_rate: 0, channel: 0 },
      }),
      {
        resolution: '640x360',
        fps: '15.0 fps',
        codecs: 'H.264 / AAC',
        bitrate: '1.23 Mbps',
      },
    );
    assert.deepEqual(shownMedia({ kbps: 0, video: null, audio: null }), { resolution: '', fps: '', codecs: '', bitrate: '' });
    assert.equal(shownBitrate(470.4), '470 kbps');
    assert.equal(shownBitrate(25_000), '25.0 Mbps');
    assert.equal(consolePlayPath('live', 'a b'), '/live/a%20b.flv');
  });
});

describe('live tap: stream health (issue 18)', () => {
  // A 25 fps H.264 stream with AAC, a keyframe every `gopS` seconds, `ms` of it from `start` (media time: start's ms past the million).
  const feed = (
    meter: MediaMeter,
    start: number,
    ms: number,
    o: { gopS?: number; audio?: boolean; videoBytes?: (t: number) => number } = {},
  ) => {
    for (let t = 0; t < ms; t += 40) {
      const key = t % ((o.gopS ?? 2) * 1000) === 0;
      meter.add(
        flvTagOf(
          9,
          (start % 1_000_000) + t,
          Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 0x01]), Buffer.alloc((o.videoBytes?.(t) ?? 1000) - 17)]),
        ) as FlvTag,
        start + t,
      );
      if (o.audio !== false)
        meter.add(flvTagOf(8, (start % 1_000_000) + t, Buffer.concat([Buffer.from([0xaf, 0x01]), Buffer.alloc(183)])) as FlvTag, start + t);
    }
  };

  it('measures the keyframe interval and warns above 4 s in words a streamer understands', () => {
    const meter = new MediaMeter();
    feed(meter, 1_000_000, 20_000, { gopS: 8 });
    const { health } = meter.read(1_020_000);
    assert.equal(health.keyframeIntervalSeconds, 8);
    assert.deepEqual(
      health.warnings.map((w) => w.message),
      ['keyframe interval 8 s: YouTube asks for 2 s'],
    );
    const good = new MediaMeter();
    feed(good, 1_000_000, 20_000, { gopS: 2 });
    assert.deepEqual(good.read(1_020_000).health.warnings, []);
    assert.equal(good.read(1_020_000).health.keyframeIntervalSeconds, 2);
  });

  it('says there is no audio track once video flowed a while without one', () => {
    const meter = new MediaMeter();
    feed(meter, 1_000_000, 3000, { audio: false });
    assert.deepEqual(meter.read(1_003_000).health.warnings, [], 'too early to tell');
    feed(meter, 1_003_000, 6000, { audio: false });
    assert.deepEqual(
      meter.read(1_009_000).health.warnings.map((w) => w.code),
      ['noAudio'],
    );
  });

  it('tells a bitrate drop against the seconds before it, and how long it lasts', () => {
    const meter = new MediaMeter();
    // 30 s at 1000-byte frames, then 12 s at 300 bytes: a drop of about 70 %.
    feed(meter, 2_000_000, 42_000, { videoBytes: (t) => (t < 30_000 ? 1000 : 300) });
    const h = meter.read(2_042_000).health;
    assert.equal(h.bitrateDrop?.seconds, 12);
    assert.ok(h.bitrateDrop && h.bitrateDrop.percent >= 55 && h.bitrateDrop.percent <= 70, JSON.stringify(h.bitrateDrop));
    assert.match(h.warnings.find((w) => w.code === 'bitrateDrop')?.message ?? '', /^bitrate dropped \d+ % for 12 s$/);
  });

  it('counts timestamp jumps (back, or ahead of the wall clock) and audio/video drift', () => {
    const meter = new MediaMeter();
    feed(meter, 3_000_000, 5000);
    meter.add(flvTagOf(9, 100, Buffer.from([0x17, 0x01, 0, 0])) as FlvTag, 3_005_000); // back to 0.1 s: an encoder restart
    let h = meter.read(3_005_000).health;
    assert.equal(h.timestampJumps, 1);
    assert.equal(h.avDriftMs, 4960 - 100);
    assert.deepEqual(
      h.warnings.map((w) => w.code),
      ['avDrift', 'timestampJumps'],
    );
    h = meter.read(3_070_000).health;
    assert.equal(h.timestampJumps, 0, 'a minute later the jump is history');
  });
});

describe('stream health warnings', () => {
  it('a bitrate that holds is no drop; a short dip is not one either', () => {
    assert.equal(bitrateDrop(Array(30).fill(100)), null);
    assert.equal(bitrateDrop([...Array(30).fill(100), 10, 10, 10]), null);
    assert.deepEqual(bitrateDrop([...Array(30).fill(100), ...Array(6).fill(30)]), { percent: 70, seconds: 6 });
    assert.equal(bitrateDrop(Array(8).fill(0)), null, 'no baseline yet');
  });

  it('each warning has an i18n key with its parameters', () => {
    const w = healthWarnings({
      keyframeIntervalSeconds: 10,
      timestampJumps: 2,
      avDriftMs: -1500,
      bitrateDrop: { percent: 80, seconds: 9 },
      hasVideo: true,
      hasAudio: true,
      flowingMs: 60_000,
    });
    assert.deepEqual(
      w.map((x) => [x.code, x.params]),
      [
        ['keyframeInterval', { seconds: 10, asked: 2 }],
        ['bitrateDrop', { percent: 80, seconds: 9 }],
        ['avDrift', { seconds: 1.5 }],
        ['timestampJumps', { count: 2 }],
      ],
    );
  });
});
