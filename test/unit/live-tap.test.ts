import assert from 'node:assert/strict';
import fc from 'fast-check';
import AMF from 'node-media-server/src/protocol/amf.js';
import { setLogLevel } from '../../server/core/logger.js';
import { FlvParser, flvHeaderOf, flvTagOf, type FlvTag } from '../../server/core/media/flv-tags.js';
import { HeaderDecision } from '../../server/core/media/header-decision.js';
import { LiveTap } from '../../server/features/live-tap/live-tap.js';
import { RtmpLimitError, RtmpReceiver } from '../../server/features/live-tap/rtmp-receiver.js';
import { parseTapApp } from '../../server/features/live-tap/tap-server.js';

const meta = (keys: string[]) => {
  const parts = keys.map((k) => Buffer.concat([Buffer.from([0, k.length]), Buffer.from(k), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0])]));
  return flvTagOf(
    18,
    0,
    Buffer.concat([Buffer.from([2, 0, 10]), Buffer.from('onMetaData'), Buffer.from([8, 0, 0, 0, keys.length]), ...parts]),
  );
};
const avcConfig = () => flvTagOf(9, 0, Buffer.from([0x17, 0x00, 0, 0, 0, 1, 0x64]));
const avcKey = (ts: number) => flvTagOf(9, ts, Buffer.from([0x17, 0x01, 0, 0, 0, 0xaa]));
const avcInter = (ts: number) => flvTagOf(9, ts, Buffer.from([0x27, 0x01, 0, 0, 0, 0xbb]));
const aacConfig = () => flvTagOf(8, 0, Buffer.from([0xaf, 0x00, 0x12, 0x10]));
const aac = (ts: number) => flvTagOf(8, ts, Buffer.from([0xaf, 0x01, 1, 2]));
const tags = (...t: Array<FlvTag | null>) => t.map((x) => x as FlvTag);

describe('live tap: RTMP messages as FLV tags', () => {
  it('wraps a message as the FLV tag a parser reads back, 32-bit timestamps included', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8, 9, 18),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ minLength: 2, maxLength: 300 }),
        (type, ts, data) => {
          const tag = flvTagOf(type, ts, Buffer.from(data)) as FlvTag;
          const parser = new FlvParser();
          const [back] = parser.push(Buffer.concat([flvHeaderOf(true, true).bytes, tag.bytes]));
          assert.deepEqual(back, { ...tag, bytes: back?.bytes });
          assert.equal(back?.bytes.toString('hex'), tag.bytes.toString('hex'));
          assert.equal(back?.timestamp, ts);
        },
      ),
    );
  });

  it('copies the payload (the RTMP parser reuses its buffer) and skips message types FLV has no tag for', () => {
    const payload = Buffer.from([0x17, 0x01, 0, 0, 0, 1]);
    const tag = flvTagOf(9, 40, payload) as FlvTag;
    payload.fill(0);
    assert.equal(tag.bytes[11], 0x17);
    assert.ok(tag.keyframe);
    assert.equal(flvTagOf(20, 0, Buffer.from([2, 0, 1, 0x61])), null);
  });
});

describe('live tap: the FLV header from what arrives', () => {
  const decide = (...t: FlvTag[]) => {
    const d = new HeaderDecision();
    for (const [i, tag] of t.entries()) {
      const h = d.add(tag);
      if (h) return { at: i, hasAudio: h.hasAudio, hasVideo: h.hasVideo };
    }
    return null;
  };

  it('decides an audio and video stream at its first keyframe', () => {
    assert.deepEqual(decide(...tags(meta(['videocodecid', 'audiocodecid']), avcConfig(), aacConfig(), aac(0), avcKey(0))), {
      at: 4,
      hasAudio: true,
      hasVideo: true,
    });
    // The metadata names the audio codec even when no audio frame came before the keyframe.
    assert.deepEqual(decide(...tags(meta(['videocodecid', 'audiocodecid']), avcConfig(), avcKey(0)))?.hasAudio, true);
    assert.deepEqual(decide(...tags(avcConfig(), avcKey(0))), { at: 1, hasAudio: false, hasVideo: true });
  });

  it('keeps waiting for video through audio when the metadata names a video codec', () => {
    const audio = Array.from({ length: 200 }, (_, i) => aac(i * 23) as FlvTag);
    assert.equal(decide(...tags(meta(['videocodecid', 'audiocodecid'])), ...audio), null);
  });

  it('decides audio only from the metadata at once, or after a second of audio without metadata', () => {
    assert.deepEqual(decide(...tags(meta(['audiocodecid']), aacConfig(), aac(0))), { at: 1, hasAudio: true, hasVideo: false });
    assert.deepEqual(decide(...tags(aacConfig(), aac(0), aac(500), aac(1000))), { at: 3, hasAudio: true, hasVideo: false });
  });
});

describe('live tap: streams and subscribers', () => {
  before(() => setLogLevel('error'));
  after(() => setLogLevel('info'));

  it('hands a subscriber from the start every tag, and a late one the GOP from its keyframe', () => {
    const tap = new LiveTap(1024 * 1024);
    const early: FlvTag[] = [];
    let earlySub = null as ReturnType<LiveTap['subscribe']>;
    tap.onStreamStart(({ app, stream }) => {
      earlySub = tap.subscribe(app, stream, { write: (t) => early.push(...t), end: () => undefined });
    });
    const stream = tap.begin('live', 's');
    assert.equal(earlySub?.startTags(), null, 'nothing to start from yet');
    const all = tags(
      meta(['videocodecid', 'audiocodecid']),
      avcConfig(),
      aacConfig(),
      avcKey(0),
      aac(10),
      avcInter(40),
      avcKey(80),
      avcInter(120),
    );
    stream.ingest(all.slice(0, 4));
    stream.ingest(all.slice(4));
    assert.deepEqual(early, all);
    const late = tap.subscribe('live', 's', { write: () => undefined, end: () => undefined });
    const start = late?.startTags();
    assert.deepEqual([start?.header.hasAudio, start?.header.hasVideo], [true, true]);
    assert.deepEqual(
      start?.tags.map((t) => `${t.kind}@${t.timestamp}`),
      ['script@0', 'video@0', 'audio@0', 'video@80', 'video@120'],
    );
    assert.equal(tap.subscribe('live', 'other', { write: () => undefined, end: () => undefined }), null);
  });

  it('drops a subscriber that throws and keeps feeding the others; ends everyone when the push ends', () => {
    const tap = new LiveTap(1024 * 1024);
    const ended: string[] = [];
    const stops: string[] = [];
    tap.onStreamEnd((e) => stops.push(`${e.app}/${e.stream}: ${e.reason}`));
    const stream = tap.begin('live', 's');
    let good = 0;
    tap.subscribe('live', 's', {
      write: () => {
        throw new Error('broken');
      },
      end: (r) => ended.push(`bad: ${r}`),
    });
    tap.subscribe('live', 's', { write: (t) => (good += t.length), end: (r) => ended.push(`good: ${r}`) });
    stream.ingest(tags(avcConfig(), avcKey(0)));
    stream.ingest(tags(avcInter(40)));
    assert.equal(good, 3);
    assert.deepEqual(ended, ['bad: the subscriber failed: broken']);
    // The engine pushes the stream again (it lost the first connection): the old one ends.
    const again = tap.begin('live', 's');
    assert.deepEqual(ended.at(-1), 'good: the engine pushed the stream again');
    tap.finish(again, 'the engine closed the push');
    assert.equal(tap.has('live', 's'), false);
    assert.deepEqual(stops, ['live/s: the engine pushed the stream again', 'live/s: the engine closed the push']);
  });
});

describe('live tap: RTMP session limits and answers', () => {
  const C0C1 = Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 7)]);
  const C2 = Buffer.alloc(1536);
  /** One RTMP message as chunks of 128 bytes (the default chunk size) on chunk stream `csid`. */
  const message = (csid: number, type: number, payload: Buffer, streamId = 0) => {
    const header = Buffer.alloc(12);
    header[0] = csid;
    header.writeUIntBE(payload.length, 4, 3);
    header[7] = type;
    header.writeUInt32LE(streamId, 8);
    const parts: Buffer[] = [header];
    for (let at = 0; at < payload.length; at += 128) {
      if (at) parts.push(Buffer.from([0xc0 | csid]));
      parts.push(payload.subarray(at, at + 128));
    }
    return Buffer.concat(parts);
  };
  const command = (o: Record<string, unknown>, streamId = 0) => message(3, 20, AMF.encodeAmf0Cmd(o), streamId);
  const session = () => {
    const rtmp = new RtmpReceiver();
    const out: Buffer[] = [];
    rtmp.onOutputCallback = (b) => out.push(b);
    return { rtmp, out, text: () => Buffer.concat(out).toString('latin1') };
  };
  const count = (text: string, s: string) => text.split(s).length - 1;

  it("answers the engine's connect and createStream with the handshake, and not again when they come", () => {
    const { rtmp, out, text } = session();
    const connected: string[] = [];
    rtmp.onConnectCallback = (req) => connected.push(`${req.app} ${req.name}`);
    rtmp.parserData(C0C1);
    assert.equal(out[0]?.length, 3073, 'S0S1S2 first');
    assert.equal(count(text(), '_result'), 2, 'connect and createStream answered ahead');
    const before = out.length;
    rtmp.parserData(
      Buffer.concat([
        C2,
        command({
          cmd: 'connect',
          transId: 1,
          cmdObj: { app: 'live?tap=t', tcUrl: 'rtmp://127.0.0.1:1/live?tap=t', flashVer: 'ngx-local-relay' },
        }),
        command({ cmd: 'createStream', transId: 2, cmdObj: null }),
        command({ cmd: 'publish', transId: 0, cmdObj: null, streamName: 's', type: 'live' }, 1),
      ]),
    );
    const later = Buffer.concat(out.slice(before)).toString('latin1');
    assert.equal(count(later, '_result'), 0, 'no second answer (nginx would create a second stream)');
    assert.match(later, /NetStream\.Publish\.Start/);
    assert.deepEqual(connected, ['live?tap=t s']);
  });

  it("answers the engine's pings (nginx drops a push it pings without answer)", () => {
    const { rtmp, out } = session();
    rtmp.parserData(Buffer.concat([C0C1, C2]));
    out.length = 0;
    rtmp.parserData(message(2, 4, Buffer.from([0, 6, 0xde, 0xad, 0xbe, 0xef])));
    assert.equal(out.length, 1);
    assert.equal(out[0]?.subarray(12).toString('hex'), '0007deadbeef');
  });

  it('refuses messages larger than a command before the publish is accepted, and too many chunk streams', () => {
    const big = session();
    big.rtmp.parserData(Buffer.concat([C0C1, C2]));
    const header = Buffer.from([0x03, 0, 0, 0, 0x10, 0x00, 0x00, 0x14, 0, 0, 0, 0, 0x02]); // a 1 MB command
    assert.throws(() => big.rtmp.parserData(header), RtmpLimitError);
    const many = session();
    many.rtmp.parserData(Buffer.concat([C0C1, C2]));
    const streams = Buffer.concat(Array.from({ length: 40 }, (_, i) => message(10 + i, 20, Buffer.from([5]))));
    assert.throws(() => many.rtmp.parserData(streams), RtmpLimitError);
  });

  it('reads the engine token from the app it connects to', () => {
    assert.deepEqual(parseTapApp('live?tap=abc'), { app: 'live', token: 'abc' });
    assert.equal(parseTapApp('live'), null);
    assert.equal(parseTapApp('live?other=1'), null);
  });
});
