// SDP handling for a WHIP/WHEP endpoint that speaks only H.264 (packetization-mode=1) and Opus:
// pure functions, unit-tested (test/unit/webrtc.test.ts).
//
// Why filter the offer: browsers offer VP8, VP9, AV1, H.265 and several H.264 profiles; the RTMP
// engine carries H.264 only, and the WHEP feeder sends one H.264 stream to everyone. Handing
// libdatachannel an offer with exactly one H.264 and one Opus payload type forces the answer to
// them, whatever the browser prefers.

export type MediaKind = 'video' | 'audio';

/** The payload type kept for one m-line, with its codec parameters from the offer. */
export interface ChosenCodec {
  readonly pt: number;
  readonly codec: 'h264' | 'opus';
  /** The offer's a=fmtp for that payload type ('' when none). */
  readonly fmtp: string;
}

export interface OfferMedia {
  readonly mid: string;
  readonly kind: MediaKind;
  /** null: the m-line offers nothing we speak (it is rejected with port 0 in the filtered offer). */
  readonly codec: ChosenCodec | null;
}

export interface FilteredOffer {
  readonly sdp: string;
  readonly media: readonly OfferMedia[];
  /** The first usable video and audio m-lines (the ones a session bridges). */
  readonly video: ChosenCodec | null;
  readonly audio: ChosenCodec | null;
}

const OFFER_LIMIT_LINES = 4000;

function sections(sdp: string): { session: string[]; media: string[][] } {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length > OFFER_LIMIT_LINES) throw new Error(`the SDP has more than ${OFFER_LIMIT_LINES} lines`);
  const session: string[] = [];
  const media: string[][] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) media.push([line]);
    else if (media.length) (media.at(-1) as string[]).push(line);
    else session.push(line);
  }
  return { session, media };
}

/** Picks the H.264 payload type to keep: constrained baseline 42e01f first (Chromium and OBS default), then any baseline, then any. */
function pickH264(rtpmap: Map<string, string>, fmtp: Map<string, string>): string | undefined {
  const h264 = [...rtpmap].filter(([pt, codec]) => codec === 'h264' && /packetization-mode=1/.test(fmtp.get(pt) ?? '')).map(([pt]) => pt);
  const profile = (pt: string) => /profile-level-id=([0-9a-f]{6})/i.exec(fmtp.get(pt) ?? '')?.[1]?.toLowerCase() ?? '';
  return h264.find((pt) => profile(pt) === '42e01f') ?? h264.find((pt) => profile(pt).startsWith('42')) ?? h264[0];
}

/**
 * The mux socket is UDP over IPv4: a TCP or IPv6 candidate of the browser can never pair with it,
 * and libjuice logs a failed send for each. (Browsers find our host candidate themselves anyway.)
 */
export function usableCandidate(line: string): boolean {
  const parts = line.split(' ');
  const transport = (parts[2] ?? '').toLowerCase();
  const address = parts[4] ?? '';
  return transport === 'udp' && !address.includes(':');
}

/**
 * Transport-wide congestion control (the `transport-cc` feedback and its header extension). We send
 * no transport-cc feedback, only REMB: a browser that negotiated it would estimate the bandwidth from
 * feedback that never comes, and a WHIP publisher's estimate then decays to ~90 kbit/s and 1–2 fps
 * (measured by `npm run bench:latency`). Without it, the browser follows our REMB.
 */
function isTransportCc(line: string): boolean {
  return /^a=rtcp-fb:\d+ transport-cc\b/.test(line) || /^a=extmap:\d+\S* .*transport-wide-cc/.test(line);
}

/**
 * Keeps one H.264 packetization-mode=1 payload type per video m-line and Opus per audio m-line,
 * with their rtcp-fb (but transport-cc, see isTransportCc) and fmtp lines; an m-line with neither is
 * rejected (port 0). The offer's TCP and
 * IPv6 candidates are dropped (usableCandidate). Throws on an SDP
 * that is not an offer we can read.
 */
export function filterOffer(offer: string): FilteredOffer {
  const { session, media } = sections(offer);
  if (!session[0]?.startsWith('v=0')) throw new Error('not an SDP: it must start with v=0');
  if (!media.length) throw new Error('the SDP has no media (m=) lines');
  const out = [...session];
  const found: OfferMedia[] = [];
  for (const section of media) {
    const mline = section[0] as string;
    const parts = mline.slice(2).split(' ');
    const kindText = parts[0] ?? '';
    const rtpmap = new Map<string, string>();
    const fmtp = new Map<string, string>();
    let mid = '';
    for (const l of section) {
      let m = /^a=rtpmap:(\d+) ([^/\s]+)\//.exec(l);
      if (m) rtpmap.set(m[1] as string, (m[2] as string).toLowerCase());
      m = /^a=fmtp:(\d+) (.*)$/.exec(l);
      if (m) fmtp.set(m[1] as string, m[2] as string);
      m = /^a=mid:(\S+)/.exec(l);
      if (m) mid = m[1] as string;
    }
    let keep: string | undefined;
    if (kindText === 'video') keep = pickH264(rtpmap, fmtp);
    else if (kindText === 'audio') keep = [...rtpmap].find(([, codec]) => codec === 'opus')?.[0];
    const kind: MediaKind | null = kindText === 'video' || kindText === 'audio' ? kindText : null;
    if (!keep || !kind) {
      // Rejected m-line: port 0, one format, no codec attributes (RFC 8866 §5.14).
      out.push(`m=${kindText} 0 ${parts[2] ?? 'UDP/TLS/RTP/SAVPF'} ${parts[3] ?? '0'}`);
      out.push(...section.slice(1).filter((l) => !/^a=(rtpmap|fmtp|rtcp-fb):/.test(l)));
      if (kind) found.push({ mid, kind, codec: null });
      continue;
    }
    const codec: ChosenCodec = { pt: Number(keep), codec: kind === 'video' ? 'h264' : 'opus', fmtp: fmtp.get(keep) ?? '' };
    found.push({ mid, kind, codec });
    out.push([...parts.slice(0, 3).map((p, i) => (i === 0 ? `m=${p}` : p)), keep].join(' '));
    for (const l of section.slice(1)) {
      const m = /^a=(rtpmap|fmtp|rtcp-fb):(\d+)/.exec(l);
      if (m && m[2] !== keep) continue;
      if (l.startsWith('a=candidate:') && !usableCandidate(l)) continue;
      if (isTransportCc(l)) continue;
      out.push(l);
    }
  }
  const first = (kind: MediaKind) => found.find((m) => m.kind === kind && m.codec)?.codec ?? null;
  return { sdp: `${out.join('\r\n')}\r\n`, media: found, video: first('video'), audio: first('audio') };
}

/**
 * Replaces every candidate of an answer with ours: one host candidate per address, on the one
 * RTC UDP port (ICE UDP mux). libdatachannel's own candidates name this host's interfaces, which
 * are wrong behind NAT, in Docker or on a cloud server; SRS Stack's rules choose the addresses
 * (candidates.ts).
 */
export function setCandidates(answer: string, addresses: readonly string[], port: number): string {
  const lines = answer
    .split(/\r?\n/)
    .filter((l) => l.length > 0)
    .filter((l) => !l.startsWith('a=candidate') && l !== 'a=end-of-candidates');
  const out: string[] = [];
  for (const line of lines) {
    out.push(line);
    if (line.startsWith('a=mid:')) {
      addresses.forEach((ip, i) => out.push(`a=candidate:${i + 1} 1 udp ${2130706431 - i} ${ip} ${port} typ host`));
      out.push('a=end-of-candidates');
    }
  }
  return `${out.join('\r\n')}\r\n`;
}

/**
 * The SDP ffmpeg reads a WHIP session's media from: each track's RTP on a loopback port, its RTCP
 * on port + 1 (ffmpeg's rtp demuxer listens on both).
 */
export function bridgeSdp(tracks: { video: ChosenCodec | null; audio: ChosenCodec | null }, videoPort: number, audioPort: number): string {
  const s = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=whip', 'c=IN IP4 127.0.0.1', 't=0 0'];
  const { video, audio } = tracks;
  if (video) {
    s.push(`m=video ${videoPort} RTP/AVP ${video.pt}`, `a=rtpmap:${video.pt} H264/90000`);
    if (video.fmtp) s.push(`a=fmtp:${video.pt} ${video.fmtp}`);
  }
  if (audio) s.push(`m=audio ${audioPort} RTP/AVP ${audio.pt}`, `a=rtpmap:${audio.pt} opus/48000/2`);
  return `${s.join('\n')}\n`;
}

/** RTCP (RFC 5761 §4): payload types 200–206 in the second byte; everything else is RTP. */
export function isRtcp(packet: Uint8Array): boolean {
  const pt = packet[1];
  return packet.length > 1 && pt !== undefined && pt >= 200 && pt <= 206;
}

/** A copy of an RTP packet with another payload type (the marker bit kept); RTCP is returned as is. */
export function withPayloadType(packet: Buffer, pt: number): Buffer {
  const second = packet[1];
  if (second === undefined || isRtcp(packet) || (second & 0x7f) === pt) return packet;
  const copy = Buffer.from(packet);
  copy[1] = (second & 0x80) | (pt & 0x7f);
  return copy;
}
