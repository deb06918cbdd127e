import assert from 'node:assert/strict';
import koffi from 'koffi';
import { closeOnExecAll, isCloseOnExec } from '../../server/core/process/cloexec.js';
import { addSpawnHook, runSpawnHooks } from '../../server/core/process/spawn-hooks.js';
import { hasReorderedFrames, parseProbe, probeArgs, whepFeederArgs, whipBridgeArgs } from '../../server/features/webrtc/argv.js';
import { candidateAddresses, hostOnly, type CandidateInputs } from '../../server/features/webrtc/candidates.js';
import { bridgeSdp, filterOffer, isRtcp, setCandidates, usableCandidate, withPayloadType } from '../../server/features/webrtc/sdp.js';

// Shaped like Chromium's offer: VP8, VP9, several H.264 profiles, AV1 in video; Opus, G722, PCMU in audio.
const CHROME_OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=msid-semantic: WMS',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0',
  'c=IN IP4 0.0.0.0',
  'a=candidate:1 1 udp 2122260223 192.168.1.5 54400 typ host generation 0',
  'a=candidate:2 1 tcp 1518280447 192.168.1.5 9 typ host tcptype active generation 0',
  'a=candidate:3 1 udp 2122262783 2001:db8::5 54401 typ host generation 0',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:0123456789012345678901',
  'a=fingerprint:sha-256 00:11',
  'a=setup:actpass',
  'a=mid:0',
  'a=sendonly',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 106 107 108 109 45',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=sendonly',
  'a=rtcp-mux',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000',
  'a=rtcp-fb:102 nack pli',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f',
  'a=rtpmap:103 rtx/90000',
  'a=fmtp:103 apt=102',
  'a=rtpmap:106 H264/90000',
  'a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
  'a=rtpmap:108 H264/90000',
  'a=rtcp-fb:108 nack',
  'a=rtcp-fb:108 nack pli',
  'a=rtcp-fb:108 goog-remb',
  'a=rtcp-fb:108 transport-cc',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:109 rtx/90000',
  'a=fmtp:109 apt=108',
  'a=rtpmap:45 AV1/90000',
  'a=ssrc:1234 cname:x',
  '',
].join('\r\n');

describe('WebRTC SDP (H.264 packetization-mode=1 + Opus only)', () => {
  it('keeps one H.264 payload type (constrained baseline 42e01f, mode 1) and Opus, with their attributes', () => {
    const f = filterOffer(CHROME_OFFER);
    assert.deepEqual(f.video, {
      pt: 108,
      codec: 'h264',
      fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    });
    assert.deepEqual(f.audio, { pt: 111, codec: 'opus', fmtp: 'minptime=10;useinbandfec=1' });
    assert.deepEqual(
      f.media.map((m) => [m.mid, m.kind]),
      [
        ['0', 'audio'],
        ['1', 'video'],
      ],
    );
    const lines = f.sdp.split('\r\n');
    assert.ok(lines.includes('m=audio 9 UDP/TLS/RTP/SAVPF 111'));
    assert.ok(lines.includes('m=video 9 UDP/TLS/RTP/SAVPF 108'));
    assert.ok(lines.includes('a=rtcp-fb:108 nack pli'));
    // The browser follows our REMB: no transport-wide congestion control, whose feedback we never send.
    assert.ok(lines.includes('a=rtcp-fb:108 goog-remb'));
    assert.ok(!lines.some((l) => /transport-cc|transport-wide-cc/.test(l)), f.sdp);
    assert.ok(!lines.some((l) => /^a=(rtpmap|fmtp|rtcp-fb):(96|97|102|103|106|109|45|63|9|0) /.test(l)), f.sdp);
    // Session-level and non-codec attributes survive; TCP and IPv6 candidates do not.
    assert.ok(lines.includes('a=group:BUNDLE 0 1'));
    assert.ok(lines.includes('a=ice-ufrag:abcd'));
    assert.ok(lines.includes('a=ssrc:1234 cname:x'));
    assert.deepEqual(
      lines.filter((l) => l.startsWith('a=candidate')),
      ['a=candidate:1 1 udp 2122260223 192.168.1.5 54400 typ host generation 0'],
    );
    assert.ok(f.sdp.endsWith('\r\n'));
  });

  it('prefers any baseline, then any mode-1 H.264; rejects an m-line without a usable codec (port 0)', () => {
    const only = (fmtps: string[]) =>
      filterOffer(
        [
          'v=0',
          's=-',
          'm=video 9 UDP/TLS/RTP/SAVPF 1 2',
          'a=mid:v',
          ...fmtps.flatMap((f, i) => [`a=rtpmap:${i + 1} H264/90000`, `a=fmtp:${i + 1} ${f}`]),
        ].join('\n'),
      ).video?.pt ?? null;
    assert.equal(only(['packetization-mode=1;profile-level-id=640032', 'packetization-mode=1;profile-level-id=42001f']), 2);
    assert.equal(only(['packetization-mode=1;profile-level-id=640032']), 1);
    assert.equal(only(['packetization-mode=0;profile-level-id=42e01f']), null);
    const vp8only = filterOffer(
      ['v=0', 's=-', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:0', 'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack'].join('\n'),
    );
    assert.equal(vp8only.video, null);
    assert.deepEqual(vp8only.media, [{ mid: '0', kind: 'video', codec: null }]);
    assert.match(vp8only.sdp, /^m=video 0 UDP\/TLS\/RTP\/SAVPF 96\r$/m);
    assert.doesNotMatch(vp8only.sdp, /rtpmap|rtcp-fb/);
  });

  it('refuses what is not an SDP offer', () => {
    assert.throws(() => filterOffer('hello'), /v=0/);
    assert.throws(() => filterOffer('v=0\r\ns=-\r\n'), /no media/);
    assert.throws(() => filterOffer(`v=0\n${'a=x\n'.repeat(5000)}`), /more than/);
  });

  it('usableCandidate keeps UDP over IPv4 only', () => {
    assert.equal(usableCandidate('a=candidate:1 1 udp 1 10.0.0.1 5000 typ host'), true);
    assert.equal(usableCandidate('a=candidate:1 1 UDP 1 10.0.0.1 5000 typ host'), true);
    assert.equal(usableCandidate('a=candidate:1 1 tcp 1 10.0.0.1 9 typ host tcptype active'), false);
    assert.equal(usableCandidate('a=candidate:1 1 udp 1 fe80::1 5000 typ host'), false);
  });

  it('setCandidates replaces every candidate by ours on the mux port, once per m-line', () => {
    const answer = [
      'v=0',
      'm=audio 9 X 111',
      'a=mid:0',
      'a=candidate:9 1 UDP 1 10.1.1.1 40000 typ host',
      'a=end-of-candidates',
      'm=video 9 X 108',
      'a=mid:1',
      '',
    ].join('\r\n');
    const out = setCandidates(answer, ['203.0.113.7', '10.0.0.2'], 8000);
    assert.equal(
      out,
      [
        'v=0',
        'm=audio 9 X 111',
        'a=mid:0',
        'a=candidate:1 1 udp 2130706431 203.0.113.7 8000 typ host',
        'a=candidate:2 1 udp 2130706430 10.0.0.2 8000 typ host',
        'a=end-of-candidates',
        'm=video 9 X 108',
        'a=mid:1',
        'a=candidate:1 1 udp 2130706431 203.0.113.7 8000 typ host',
        'a=candidate:2 1 udp 2130706430 10.0.0.2 8000 typ host',
        'a=end-of-candidates',
        '',
      ].join('\r\n'),
    );
  });

  it("bridgeSdp describes the session's tracks on loopback ports for ffmpeg", () => {
    const f = filterOffer(CHROME_OFFER);
    assert.equal(
      bridgeSdp(f, 40000, 40002),
      [
        'v=0',
        'o=- 0 0 IN IP4 127.0.0.1',
        's=whip',
        'c=IN IP4 127.0.0.1',
        't=0 0',
        'm=video 40000 RTP/AVP 108',
        'a=rtpmap:108 H264/90000',
        'a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
        'm=audio 40002 RTP/AVP 111',
        'a=rtpmap:111 opus/48000/2',
        '',
      ].join('\n'),
    );
    assert.doesNotMatch(bridgeSdp({ video: f.video, audio: null }, 1, 2), /audio/);
  });

  it('tells RTCP from RTP and rewrites payload types of RTP only, on a copy', () => {
    const rtp = Buffer.from([0x80, 0x80 | 102, 0, 1]);
    const sr = Buffer.from([0x80, 200, 0, 6]);
    assert.equal(isRtcp(rtp), false);
    assert.equal(isRtcp(sr), true);
    assert.equal(isRtcp(Buffer.from([0x80])), false);
    const rewritten = withPayloadType(rtp, 108);
    assert.deepEqual([...rewritten], [0x80, 0x80 | 108, 0, 1]);
    assert.notEqual(rewritten, rtp);
    assert.equal(rtp[1], 0x80 | 102);
    assert.equal(withPayloadType(rtp, 102), rtp);
    assert.equal(withPayloadType(sr, 108), sr);
  });
});

describe('WebRTC candidates (SRS Stack rules)', () => {
  const env = (lookups: Record<string, string> = {}, own: string[] = ['192.168.1.10']) => ({
    lookup: async (name: string) => lookups[name] ?? null,
    interfaces: () => own,
  });
  const inputs = (o: Partial<CandidateInputs>): CandidateInputs => ({
    eip: '',
    xRealHost: '',
    host: '',
    configCandidate: '',
    nameLookup: true,
    ...o,
  });

  it('takes eip, then X-Real-Host, then CANDIDATE, then the Host header, then the host addresses', async () => {
    const all = inputs({ eip: '1.1.1.1:8000', xRealHost: '2.2.2.2', configCandidate: '3.3.3.3', host: '4.4.4.4:2022' });
    assert.deepEqual(await candidateAddresses(all, env()), ['1.1.1.1']);
    assert.deepEqual(await candidateAddresses({ ...all, eip: '' }, env()), ['2.2.2.2']);
    assert.deepEqual(await candidateAddresses({ ...all, eip: '', xRealHost: '' }, env()), ['3.3.3.3']);
    assert.deepEqual(await candidateAddresses({ ...all, eip: '', xRealHost: '', configCandidate: '' }, env()), ['4.4.4.4']);
    assert.deepEqual(await candidateAddresses(inputs({}), env()), ['192.168.1.10']);
    assert.deepEqual(await candidateAddresses(inputs({}), env({}, [])), ['127.0.0.1']);
  });

  it('resolves host names by DNS unless NAME_LOOKUP is off; localhost means this host; eip must be an IP', async () => {
    const dns = env({ 'live.example.com': '203.0.113.9' });
    assert.deepEqual(await candidateAddresses(inputs({ host: 'live.example.com:2022' }), dns), ['203.0.113.9']);
    assert.deepEqual(await candidateAddresses(inputs({ xRealHost: 'live.example.com' }), dns), ['203.0.113.9']);
    assert.deepEqual(await candidateAddresses(inputs({ host: 'live.example.com', nameLookup: false }), dns), ['192.168.1.10']);
    assert.deepEqual(await candidateAddresses(inputs({ host: 'unknown.example.com' }), dns), ['192.168.1.10']);
    assert.deepEqual(await candidateAddresses(inputs({ host: 'localhost:2022' }), dns), ['192.168.1.10']);
    assert.deepEqual(await candidateAddresses(inputs({ host: 'localhost', configCandidate: '3.3.3.3' }), dns), ['3.3.3.3']);
    assert.deepEqual(await candidateAddresses(inputs({ eip: 'evil name', host: '5.5.5.5' }), dns), ['5.5.5.5']);
    assert.deepEqual(await candidateAddresses(inputs({ host: 'bad host!' }), dns), ['192.168.1.10']);
  });

  it('hostOnly strips ports and brackets', () => {
    assert.equal(hostOnly('1.2.3.4:80'), '1.2.3.4');
    assert.equal(hostOnly('[2001:db8::1]:80'), '2001:db8::1');
    assert.equal(hostOnly('2001:db8::1'), '2001:db8::1');
    assert.equal(hostOnly('example.com'), 'example.com');
  });
});

describe('WebRTC ffmpeg argv', () => {
  it('WHIP bridge: SDP on loopback in, H.264 copied and Opus to AAC out, to the bridge URL', () => {
    const args = whipBridgeArgs('/run/webrtc/x.sdp', 'rtmp://127.0.0.1:1935/live/s?upstream=rtc&bridge=t', true);
    const s = args.join(' ');
    assert.match(
      s,
      /-protocol_whitelist file,udp,rtp .*-i \/run\/webrtc\/x\.sdp -c:v copy -c:a aac -b:a 128k -ar 48000 -f flv rtmp:\/\/127\.0\.0\.1:1935\/live\/s\?upstream=rtc&bridge=t$/,
    );
    assert.doesNotMatch(whipBridgeArgs('/x.sdp', 'rtmp://h/live/s', false).join(' '), /aac/);
  });

  it('WHEP feeder: copy with annexb, or re-encode without B-frames; Opus audio; every port pinned', () => {
    const ports = { videoDest: 50000, audioDest: 50002, videoLocal: 41000, audioLocal: 41002 };
    const copy = whepFeederArgs('rtmp://127.0.0.1:1935/live/s', ports, 'copy', true).join(' ');
    assert.match(copy, /-map 0:v:0 -c:v copy -bsf:v h264_mp4toannexb -payload_type 102 -ssrc 1001 -f rtp /);
    assert.match(copy, /rtp:\/\/127\.0\.0\.1:50000\?pkt_size=1200&rtcpport=50000&localrtpport=41000&localrtcpport=41001/);
    assert.match(
      copy,
      /-map 0:a:0 -c:a libopus .*-payload_type 111 -ssrc 1002 -f rtp rtp:\/\/127\.0\.0\.1:50002\?pkt_size=1200&rtcpport=50002&localrtpport=41002&localrtcpport=41003$/,
    );
    const transcode = whepFeederArgs('rtmp://h/live/s', ports, 'transcode', false).join(' ');
    assert.match(transcode, /-c:v libx264 .*-tune zerolatency -bf 0 -g 50 /);
    assert.doesNotMatch(transcode, /h264_mp4toannexb|libopus|0:a:0/);
  });

  it('B-frames: detected from packet timestamps in decode order, without decoding', () => {
    assert.equal(hasReorderedFrames([80, 240, 160, 120, 200]), true);
    assert.equal(hasReorderedFrames([0, 40, 80, 120]), false);
    // A constant composition offset is not reordering.
    assert.equal(hasReorderedFrames([66, 106, 146, 186]), false);
    assert.deepEqual(probeArgs('rtmp://h/live/s', 40).slice(-7), [
      '-read_intervals',
      '%+#40',
      '-show_entries',
      'stream=index,codec_type,codec_name,has_b_frames:packet=stream_index,pts,dts',
      '-of',
      'json',
      'rtmp://h/live/s',
    ]);
    const doc = (pts: number[], extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        streams: [
          { index: 0, codec_type: 'video', codec_name: 'h264', has_b_frames: 2, ...extra },
          { index: 1, codec_type: 'audio', codec_name: 'aac' },
        ],
        packets: [...pts.map((p) => ({ stream_index: 0, pts: p })), { stream_index: 1, pts: 0 }],
      });
    assert.deepEqual(parseProbe(doc([80, 240, 160, 120])), { hasVideo: true, hasAudio: true, videoCodec: 'h264', bframes: true });
    assert.equal(parseProbe(doc([0, 40, 80, 120])).bframes, false);
    // Too few packets: the decoder's reorder depth decides.
    assert.equal(parseProbe(doc([0])).bframes, true);
    assert.equal(parseProbe(doc([0], { has_b_frames: 0 })).bframes, false);
    assert.deepEqual(parseProbe('{}'), { hasVideo: false, hasAudio: false, videoCodec: '', bframes: true });
    assert.equal(parseProbe('not json').hasVideo, false);
  });
});

describe('spawn hooks and close-on-exec', () => {
  it('runs every hook before a spawn; a failing hook does not stop the others', () => {
    const seen: string[] = [];
    const offA = addSpawnHook('a', () => {
      seen.push('a');
      throw new Error('boom');
    });
    const offB = addSpawnHook('b', () => seen.push('b'));
    runSpawnHooks();
    offA();
    offB();
    runSpawnHooks();
    assert.deepEqual(seen, ['a', 'b']);
  });

  it('closeOnExecAll marks a descriptor a native library opened without O_CLOEXEC', () => {
    const libc = koffi.load('libc.so.6');
    const dup = libc.func('int dup(int fd)') as (fd: number) => number;
    const close = libc.func('int close(int fd)') as (fd: number) => number;
    const fd = dup(1); // dup() never sets FD_CLOEXEC, like libjuice's socket()
    try {
      assert.ok(fd > 2);
      assert.equal(isCloseOnExec(fd), false);
      assert.ok(closeOnExecAll() >= 1);
      assert.equal(isCloseOnExec(fd), true);
    } finally {
      close(fd);
    }
  });
});
