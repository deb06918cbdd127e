import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildConfig } from '../../server/config.js';
import { FlvFormatError, FlvParser, describeTag, parseFlvHeader, type FlvTag } from '../../server/core/media/flv-tags.js';
import { GopCache } from '../../server/core/media/gop-cache.js';
import { flvTagBytes } from '../helpers/flv-bytes.js';

function flvHeader(flags = 0x05, dataOffset = 9): Buffer {
  const b = Buffer.alloc(dataOffset + 4);
  b.write('FLV', 0, 'latin1');
  b[3] = 1;
  b[4] = flags;
  b.writeUInt32BE(dataOffset, 5);
  return b;
}

const tag = flvTagBytes;

const avcConfig = (ts = 0) => tag(9, ts, Buffer.from([0x17, 0x00, 0, 0, 0, 1, 0x64, 0, 0x1f]));
const avcKey = (ts: number, size = 20) => tag(9, ts, Buffer.concat([Buffer.from([0x17, 0x01, 0, 0, 0]), Buffer.alloc(size, 0xaa)]));
const avcInter = (ts: number, size = 10) => tag(9, ts, Buffer.concat([Buffer.from([0x27, 0x01, 0, 0, 0]), Buffer.alloc(size, 0xbb)]));
const aacConfig = () => tag(8, 0, Buffer.from([0xaf, 0x00, 0x12, 0x10]));
const aacFrame = (ts: number) => tag(8, ts, Buffer.from([0xaf, 0x01, 1, 2, 3, 4]));
const metadata = () => tag(18, 0, Buffer.from([0x02, 0x00, 0x0a, ...Buffer.from('onMetaData'), 0x08, 0, 0, 0, 0, 0, 0, 9]));

const sample = () => [metadata(), avcConfig(), aacConfig(), avcKey(0), aacFrame(10), avcInter(40), aacFrame(33), avcKey(80), avcInter(120)];

function parseAll(chunks: Buffer[]): { tags: FlvTag[]; parser: FlvParser } {
  const parser = new FlvParser();
  const tags = chunks.flatMap((c) => parser.push(c));
  return { tags, parser };
}

describe('FLV tag parser', () => {
  it('reads the header flags and insists on the signature', () => {
    assert.deepEqual(parseFlvHeader(flvHeader(0x05)), { version: 1, hasAudio: true, hasVideo: true, dataOffset: 9 });
    assert.deepEqual(parseFlvHeader(flvHeader(0x04)), { version: 1, hasAudio: true, hasVideo: false, dataOffset: 9 });
    assert.throws(() => parseFlvHeader(Buffer.from('GIF89a....')), FlvFormatError);
    assert.throws(() => new FlvParser().push(Buffer.from('HTTP/1.1 404 Not Found\r\n')), /signature/);
  });

  it('splits a stream into typed tags with timestamps, keyframes and sequence headers', () => {
    const { tags, parser } = parseAll([flvHeader(), ...sample()]);
    assert.equal(parser.header?.hasVideo, true);
    assert.deepEqual(
      tags.map((t) => [t.kind, t.timestamp, t.keyframe, t.sequenceHeader]),
      [
        ['script', 0, false, false],
        ['video', 0, true, true],
        ['audio', 0, false, true],
        ['video', 0, true, false],
        ['audio', 10, false, false],
        ['video', 40, false, false],
        ['audio', 33, false, false],
        ['video', 80, true, false],
        ['video', 120, false, false],
      ],
    );
    // Each tag carries its own bytes, PreviousTagSize included, ready to forward.
    assert.deepEqual(Buffer.concat(tags.map((t) => t.bytes)), Buffer.concat(sample()));
  });

  it('gives the same tags however the bytes are split', () => {
    const whole = Buffer.concat([flvHeader(), ...sample()]);
    const expected = parseAll([whole]).tags.map((t) => t.bytes.toString('hex'));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: whole.length - 1 }), { maxLength: 12 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), whole.length];
        const chunks = points.slice(1).map((end, i) => whole.subarray(points[i], end));
        assert.deepEqual(
          parseAll(chunks).tags.map((t) => t.bytes.toString('hex')),
          expected,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('reads 32-bit timestamps through the extension byte', () => {
    const { tags } = parseAll([flvHeader(), aacFrame(0x12345678)]);
    assert.equal(tags[0]?.timestamp, 0x12345678);
  });

  it('skips extra header bytes and unknown tag types', () => {
    const { tags } = parseAll([flvHeader(0x05, 13), tag(15, 0, Buffer.from([1, 2])), avcKey(0)]);
    assert.deepEqual(
      tags.map((t) => t.kind),
      ['video'],
    );
  });

  it('refuses corruption instead of forwarding it', () => {
    const bad = avcKey(0);
    bad.writeUInt32BE(7, bad.length - 4);
    assert.throws(() => parseAll([flvHeader(), bad]), /PreviousTagSize/);
    const huge = Buffer.alloc(11);
    huge[0] = 9;
    huge.writeUIntBE(0xffffff, 1, 3);
    assert.throws(() => parseAll([flvHeader(), huge]), /corrupt/);
  });

  it('classifies HEVC, Enhanced RTMP and non-AAC audio', () => {
    assert.deepEqual(describeTag(9, Buffer.from([0x1c, 0x00])), { kind: 'video', keyframe: true, sequenceHeader: true });
    assert.deepEqual(describeTag(9, Buffer.from([0x2c, 0x01])), { kind: 'video', keyframe: false, sequenceHeader: false });
    // Enhanced RTMP: isExHeader, frame type 1, packet type 0 (SequenceStart) / 1 (CodedFrames).
    assert.deepEqual(describeTag(9, Buffer.from([0x90, 0x68, 0x76, 0x63, 0x31])), { kind: 'video', keyframe: true, sequenceHeader: true });
    assert.deepEqual(describeTag(9, Buffer.from([0xa1, 0x68, 0x76, 0x63, 0x31])), {
      kind: 'video',
      keyframe: false,
      sequenceHeader: false,
    });
    // A video info/command frame (type 5) is not somewhere to start decoding.
    assert.equal(describeTag(9, Buffer.from([0x57, 0x00])).keyframe, false);
    assert.deepEqual(describeTag(8, Buffer.from([0x2f, 0x00])), { kind: 'audio', keyframe: false, sequenceHeader: false });
    assert.deepEqual(describeTag(18, Buffer.from([2])), { kind: 'script', keyframe: false, sequenceHeader: false });
  });
});

describe('GOP cache', () => {
  const feed = (cache: GopCache, buffers: Buffer[], header = flvHeader()) => {
    const parser = new FlvParser();
    parser.push(header);
    if (parser.header) cache.setHeader(parser.header);
    for (const b of buffers) for (const t of parser.push(b)) cache.add(t);
    return parser;
  };
  const hex = (bufs: Buffer[] | null) => bufs?.map((b) => b.toString('hex'));

  it('has nothing to offer before the first keyframe', () => {
    const cache = new GopCache();
    feed(cache, [metadata(), avcConfig(), aacConfig(), avcInter(0), aacFrame(5)]);
    assert.equal(cache.startBurst(), null);
    assert.equal(cache.bytes, 0);
  });

  it('starts a player with header, metadata, configs and the GOP from the last keyframe', () => {
    const cache = new GopCache();
    feed(cache, sample());
    const header = flvHeader().subarray(0, 13);
    assert.deepEqual(hex(cache.startBurst()), hex([header, metadata(), avcConfig(), aacConfig(), avcKey(80), avcInter(120)]));
  });

  it('forgets the GOP on a new decoder configuration until the next keyframe', () => {
    const cache = new GopCache();
    feed(cache, [...sample(), avcConfig(130), avcInter(140)]);
    assert.equal(cache.startBurst(), null);
    const cache2 = new GopCache();
    feed(cache2, [...sample(), avcConfig(130), avcKey(160)]);
    assert.equal(cache2.startBurst()?.at(-1)?.toString('hex'), avcKey(160).toString('hex'));
  });

  it('starts audio-only streams at once and caches no frames', () => {
    const cache = new GopCache();
    feed(cache, [metadata(), aacConfig(), aacFrame(0), aacFrame(23)], flvHeader(0x04));
    assert.deepEqual(hex(cache.startBurst()), hex([flvHeader(0x04).subarray(0, 13), metadata(), aacConfig()]));
  });

  it('gives the same burst as tags, for consumers that need to know each one', () => {
    const cache = new GopCache();
    feed(cache, sample());
    const start = cache.startTags();
    assert.deepEqual(start?.header.bytes.toString('hex'), flvHeader().subarray(0, 13).toString('hex'));
    assert.deepEqual(
      start?.tags.map((t) => [t.kind, t.timestamp, t.keyframe, t.sequenceHeader]),
      [
        ['script', 0, false, false],
        ['video', 0, true, true],
        ['audio', 0, false, true],
        ['video', 80, true, false],
        ['video', 120, false, false],
      ],
    );
  });

  it('holds at most its byte budget when keyframes stop coming', () => {
    const cache = new GopCache(1000);
    feed(cache, [avcConfig(), avcKey(0, 100), ...Array.from({ length: 30 }, (_, i) => avcInter(40 * (i + 1), 50))]);
    assert.ok(cache.bytes <= 1000, `held ${cache.bytes} bytes`);
    assert.equal(cache.startBurst(), null, 'a truncated GOP is useless: wait for a keyframe');
    feed(cache, [avcKey(2000, 100)]);
    assert.ok(cache.startBurst());
  });
});

describe('HTTP-FLV settings', () => {
  it('reads HTTP_FLV_QUEUE_KB and refuses nonsense', () => {
    assert.equal(buildConfig({ DATA_DIR: '/data' }).flvClientQueueBytes, 4096 * 1024);
    assert.equal(buildConfig({ DATA_DIR: '/data', HTTP_FLV_QUEUE_KB: '256' }).flvClientQueueBytes, 256 * 1024);
    for (const bad of ['0', '10', 'lots', '-5'])
      assert.throws(() => buildConfig({ DATA_DIR: '/data', HTTP_FLV_QUEUE_KB: bad }), /HTTP_FLV_QUEUE_KB/);
  });
});
