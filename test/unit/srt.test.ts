// The SRT gateway's pure parts: streamid routing (SRS's forms), the handshake decision, the ffmpeg
// argv, the TS program sniffer that refuses codecs the RTMP engine cannot carry.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildConfig } from '../../server/config.js';
import { bridgePublishUrl, srtBridgeArgs, srtPlayArgs, unixUrl } from '../../server/features/srt/argv.js';
import { ffmpegTimeMarker, srtSocketDir } from '../../server/features/srt/gateway.js';
import { handshakeVerdict, REJECT, type HandshakePolicy } from '../../server/features/srt/handshake.js';
import { parseStreamId, type SrtStreamId } from '../../server/features/srt/streamid.js';
import { codecOf, codecVerdict, TsProgramSniffer, type EsInfo } from '../../server/features/srt/ts-probe.js';

function id(sid: string): SrtStreamId {
  const r = parseStreamId(sid);
  if (!r.ok) assert.fail(`${sid}: ${r.error}`);
  return r.id;
}

describe('SRT streamid', () => {
  it("reads SRS Stack's publish form, with upstream=srt in the param", () => {
    const r = id('#!::r=live/livestream?secret=abc,m=publish');
    assert.deepEqual(r, { app: 'live', stream: 'livestream', mode: 'publish', host: '', secret: 'abc', param: '?secret=abc&upstream=srt' });
  });

  it('reads the play form; m defaults to request', () => {
    assert.equal(id('#!::r=live/s1,m=request').mode, 'request');
    assert.equal(id('#!::r=live/s1').mode, 'request');
    assert.equal(id('#!::r=live/s1').param, '?upstream=srt');
  });

  it('keeps h= as the host, and takes the resource from h= in the SRS 4 form', () => {
    const r = id('#!::h=srs.local,r=live/s2?secret=k,m=publish');
    assert.equal(r.host, 'srs.local');
    assert.equal(r.stream, 's2');
    const legacy = id('#!::h=live/s3,m=publish');
    assert.deepEqual([legacy.app, legacy.stream, legacy.host, legacy.mode], ['live', 's3', '', 'publish']);
  });

  it('reads vhost/app/stream paths', () => {
    const r = id('#!::r=example.com/live/s4,m=request');
    assert.deepEqual([r.host, r.app, r.stream], ['example.com', 'live', 's4']);
  });

  it('plain form: publish with a secret, play without; m= in the query wins', () => {
    assert.equal(id('live/s5?secret=k').mode, 'publish');
    assert.equal(id('live/s5').mode, 'request');
    assert.equal(id('live/s5?secret=k&m=request').mode, 'request');
    assert.equal(id('live/s5?secret=k&m=request').param, '?secret=k&upstream=srt');
  });

  it('keeps other #!:: keys in the param and never trusts a caller-sent upstream', () => {
    assert.equal(id('#!::r=live/s6,u=alice,latency=20,m=publish').param, '?u=alice&latency=20&upstream=srt');
    assert.equal(id('#!::r=live/s6?upstream=rtc,m=publish').param, '?upstream=srt');
  });

  it('refuses what is not a stream', () => {
    for (const sid of [
      '',
      '#!::m=publish',
      '#!::r=live,m=publish',
      '#!::r=live/s,m=play',
      'a/b/c/d',
      '#!::r=live/a b,m=publish',
      '#!::r=live/..,m=publish',
    ]) {
      assert.equal(parseStreamId(sid).ok, false, sid);
    }
    assert.equal(parseStreamId(`live/${'x'.repeat(600)}`).ok, false);
  });

  it('never throws, whatever the caller sends', () => {
    fc.assert(fc.property(fc.string({ maxLength: 600 }), (s) => void parseStreamId(s)));
  });
});

describe('SRT handshake decision', () => {
  const policy: HandshakePolicy = { apps: ['live'], authDisabled: false, secret: 'k9x7q2', rooms: { room1: 'RS' }, live: ['live/on'] };
  const none = (_key: string) => false;
  const code = (sid: string, p: HandshakePolicy | null = policy, reserved = none, hs = 5) => {
    const v = handshakeVerdict(sid, hs, p, reserved);
    return v.accept ? 0 : v.code;
  };

  it('accepts the right secret, refuses a wrong or missing one (401)', () => {
    assert.equal(code('#!::r=live/a?secret=k9x7q2,m=publish'), 0);
    assert.equal(code('#!::r=live/a?secret=bad,m=publish'), REJECT.UNAUTHORIZED);
    assert.equal(code('#!::r=live/a,m=publish'), REJECT.UNAUTHORIZED);
  });

  it("a live room's stream takes only its own secret", () => {
    assert.equal(code('#!::r=live/room1?secret=RS,m=publish'), 0);
    assert.equal(code('#!::r=live/room1?secret=k9x7q2,m=publish'), REJECT.UNAUTHORIZED);
  });

  it('no secret needed when publish auth is off', () => {
    assert.equal(code('#!::r=live/a,m=publish', { ...policy, authDisabled: true }), 0);
  });

  it('refuses a stream already live or reserved (409), an unknown app (404), a bad streamid (400)', () => {
    assert.equal(code('#!::r=live/on?secret=k9x7q2,m=publish'), REJECT.CONFLICT);
    assert.equal(
      code('#!::r=live/b?secret=k9x7q2,m=publish', policy, (k) => k === 'live/b'),
      REJECT.CONFLICT,
    );
    assert.equal(code('#!::r=other/a?secret=k9x7q2,m=publish'), REJECT.NOT_FOUND);
    assert.equal(code('nonsense'), REJECT.BAD_REQUEST);
    assert.equal(code('#!::r=live/a?secret=k9x7q2,m=publish', policy, none, 4), REJECT.BAD_REQUEST);
  });

  it('plays only live streams, without a secret', () => {
    assert.equal(code('#!::r=live/on,m=request'), 0);
    assert.equal(code('#!::r=live/off,m=request'), REJECT.NOT_FOUND);
  });

  it('refuses everything until the first policy arrives (503)', () => {
    assert.equal(code('#!::r=live/a?secret=k9x7q2,m=publish', null), REJECT.UNAVAILABLE);
  });
});

describe('SRT ffmpeg argv', () => {
  it('bridges the caller TS from a unix socket into the engine, marked as an admitted SRT stream', () => {
    const out = bridgePublishUrl('rtmp://127.0.0.1:1935/live/s', 'bridge=tok');
    assert.equal(out, 'rtmp://127.0.0.1:1935/live/s?upstream=srt&bridge=tok');
    const args = srtBridgeArgs(unixUrl('/data/run/srt-in-1.sock'), out);
    assert.deepEqual(args.slice(args.indexOf('-f'), args.indexOf('-f') + 4), ['-f', 'mpegts', '-i', 'unix:/data/run/srt-in-1.sock']);
    assert.deepEqual(args.slice(-5), ['-c', 'copy', '-f', 'flv', out]);
    assert.ok(args.includes('-stats'), 'progress for the stall watchdog');
  });

  it('feeds players MPEG-TS with unsplit PES, a bounded probe', () => {
    const args = srtPlayArgs('rtmp://127.0.0.1:1935/live/s', 'unix:/x.sock');
    assert.equal(args[args.indexOf('-analyzeduration') + 1], '3000000');
    assert.equal(args[args.indexOf('-pes_payload_size') + 1], '0');
    assert.equal(args[args.indexOf('-i') + 1], 'rtmp://127.0.0.1:1935/live/s');
    assert.equal(args.at(-1), 'unix:/x.sock');
  });

  it('reads the progress marker and keeps socket paths short', () => {
    assert.equal(ffmpegTimeMarker('frame=  10 fps=0.0 q=-1.0 size= 1kB time=00:00:01.20 bitrate'), '00:00:01.20');
    assert.equal(srtSocketDir('/data/run'), '/data/run');
    assert.notEqual(srtSocketDir(`/${'d'.repeat(120)}`), `/${'d'.repeat(120)}`);
  });
});

// ---- TS packets, built by hand ----

function crcless(section: number[]): Buffer {
  return Buffer.from([...section, 0, 0, 0, 0]); // the sniffer does not check the CRC
}
function psiPacket(pid: number, section: Buffer): Buffer {
  const p = Buffer.alloc(188, 0xff);
  p[0] = 0x47;
  p[1] = 0x40 | ((pid >> 8) & 0x1f);
  p[2] = pid & 0xff;
  p[3] = 0x10;
  p[4] = 0; // pointer field
  section.copy(p, 5);
  return p;
}
function pat(pmtPid: number): Buffer {
  const body = [0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xe0 | (pmtPid >> 8), pmtPid & 0xff];
  const len = body.length + 4;
  return psiPacket(0, crcless([0x00, 0xb0, len, ...body]));
}
function pmt(pmtPid: number, streams: Array<{ type: number; pid: number; reg?: string }>): Buffer {
  const es: number[] = [];
  for (const s of streams) {
    const desc = s.reg ? [0x05, 4, ...Buffer.from(s.reg, 'latin1')] : [];
    es.push(s.type, 0xe0 | (s.pid >> 8), s.pid & 0xff, 0xf0, desc.length, ...desc);
  }
  const body = [0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00, ...es];
  return psiPacket(pmtPid, crcless([0x02, 0xb0, body.length + 4, ...body]));
}
function pes(pid: number): Buffer {
  const p = Buffer.alloc(188, 0);
  p[0] = 0x47;
  p[1] = 0x40 | (pid >> 8);
  p[2] = pid & 0xff;
  p[3] = 0x10;
  return p;
}

describe('TS program sniffer', () => {
  const h264aac = Buffer.concat([
    pes(0x100),
    pat(0x1000),
    pes(0x100),
    pmt(0x1000, [
      { type: 0x1b, pid: 0x100 },
      { type: 0x0f, pid: 0x101 },
    ]),
  ]);

  it('finds the PMT across any chunking, after garbage', () => {
    for (const size of [1, 7, 100, 188, 1316]) {
      const sniffer = new TsProgramSniffer();
      const data = Buffer.concat([Buffer.from('garbage!'), h264aac]);
      let streams: EsInfo[] | null = null;
      for (let off = 0; off < data.length && !streams; off += size) streams = sniffer.push(data.subarray(off, off + size));
      assert.deepEqual(
        streams?.map((s) => s.streamType),
        [0x1b, 0x0f],
        `chunks of ${size}`,
      );
    }
  });

  it('accepts H.264 with AAC or MP3, or audio alone', () => {
    assert.deepEqual(
      codecVerdict([
        { pid: 1, streamType: 0x1b, registration: '' },
        { pid: 2, streamType: 0x0f, registration: '' },
      ]),
      {
        ok: true,
        codecs: ['H.264', 'AAC'],
      },
    );
    assert.equal(codecVerdict([{ pid: 2, streamType: 0x03, registration: '' }]).ok, true);
    assert.equal(
      codecVerdict([
        { pid: 1, streamType: 0x1b, registration: '' },
        { pid: 9, streamType: 0x15, registration: '' },
      ]).ok,
      true,
      'data streams are ignored',
    );
  });

  it('refuses H.265 (0x24) and says why', () => {
    const sniffer = new TsProgramSniffer();
    const streams = sniffer.push(
      Buffer.concat([
        pat(0x1000),
        pmt(0x1000, [
          { type: 0x24, pid: 0x100 },
          { type: 0x0f, pid: 0x101 },
        ]),
      ]),
    );
    const v = codecVerdict(streams ?? []);
    assert.equal(v.ok, false);
    assert.match(v.ok ? '' : v.reason, /H\.265\/HEVC cannot be carried by the RTMP engine .*H\.264/);
  });

  it('names Opus and AC-3 from their registration descriptors, and refuses a program with no media', () => {
    assert.equal(codecOf({ pid: 1, streamType: 0x06, registration: 'Opus' }).name, 'Opus');
    assert.equal(codecOf({ pid: 1, streamType: 0x81, registration: '' }).supported, false);
    assert.equal(codecVerdict([]).ok, false);
  });

  it('never throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => void new TsProgramSniffer().push(Buffer.from(bytes))));
  });
});

describe('SRT config', () => {
  it('defaults to udp 10080, 20 ms, no passphrase; 0 turns SRT off; a short passphrase is refused', () => {
    assert.deepEqual(buildConfig({}).srt, { listen: 10080, latencyMs: 20, passphrase: '', library: '' });
    assert.equal(buildConfig({ SRT_LISTEN: '0' }).srt.listen, 0);
    assert.throws(() => buildConfig({ SRT_PASSPHRASE: 'short' }), /SRT_PASSPHRASE/);
    assert.throws(() => buildConfig({ SRT_LISTEN: '70000' }), /SRT_LISTEN/);
  });
});
