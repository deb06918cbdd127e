// Many light players in one process, so hundreds of viewers cost the bench little CPU: HTTP-FLV
// readers (the stack's gateway), bare RTMP readers (the engine's own fan-out), HLS players that
// poll and fetch like hls.js, and LL-HLS players that follow the parts with blocking reloads. Each tracks how much media it received, which tells whether it keeps
// up with the live stream. Also the RTMP publish probe that times the engine's publish callback.
// Driven by its parent over IPC: {start} (adds players), then {mark} (window start), then {report}.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FlvParser } from '../server/core/media/flv-tags.js';
import { parseMediaPlaylist } from '../server/features/hls/playlist.js';

export type PlayerKind = 'flv' | 'rtmp' | 'hls' | 'llhls';

export interface HlsCounters {
  /** Media playlist requests. */
  polls: number;
  /** Segments (LL-HLS: parts) fetched completely. */
  fetched: number;
  /** Segments (LL-HLS: parts) that left the playlist before this player fetched them. */
  missed: number;
  /** Failed requests (non-200 or network error). */
  errors: number;
  /** Times playback would have run out of buffer, and for how long in total. */
  stalls: number;
  stalledMs: number;
}

export interface PlayerReport {
  kind: PlayerKind;
  url: string;
  ok: boolean;
  bytes: number;
  /** Bytes received since the mark. */
  bytesSinceMark: number;
  /** Media milliseconds received since the mark (HLS and LL-HLS: durations of what was fetched). */
  mediaMs: number;
  /** ms from request to the first video keyframe (FLV and RTMP). */
  firstKeyframeMs: number;
  closed: boolean;
  /** HLS counters since the mark, and the newest segment fetched. */
  hls?: HlsCounters & { lastSeq: number };
}

export interface Player {
  kind: PlayerKind;
  url: string;
  bytes: number;
  bytesAtMark: number;
  lastTs: number;
  tsAtMark: number;
  firstKeyframeMs: number;
  closed: boolean;
  status: number;
  close(): void;
}

function playerState(kind: PlayerKind, url: string): Omit<Player, 'close'> {
  return { kind, url, bytes: 0, bytesAtMark: 0, lastTs: -1, tsAtMark: -1, firstKeyframeMs: -1, closed: false, status: 0 };
}

export function flvPlayer(url: string): Player {
  const started = Date.now();
  const parser = new FlvParser();
  const p: Player = { ...playerState('flv', url), close: () => req.destroy() };
  const req = http.get(url, { agent: false }, (res) => {
    p.status = res.statusCode ?? 0;
    if (p.status !== 200) {
      res.resume();
      p.closed = true;
      return;
    }
    res.on('data', (chunk: Buffer) => {
      p.bytes += chunk.length;
      let tags;
      try {
        tags = parser.push(chunk);
      } catch {
        p.close(); // corrupt FLV: this player failed, the report says so
        return;
      }
      for (const tag of tags) {
        if (tag.kind === 'video' && !tag.sequenceHeader) {
          if (tag.keyframe && p.firstKeyframeMs < 0) p.firstKeyframeMs = Date.now() - started;
          p.lastTs = tag.timestamp;
        }
      }
    });
    res.on('close', () => (p.closed = true));
  });
  req.on('error', () => (p.closed = true));
  return p;
}

type RtmpSend = (csid: number, type: number, msid: number, payload: Buffer) => void;

/**
 * The smallest RTMP client nginx-rtmp accepts: simple handshake, then `commands` (connect,
 * createStream, play or publish: nginx-rtmp always answers stream id 1), then chunk reassembly
 * with acknowledgements; every complete message goes to `onMessage`.
 */
function rtmpConnect(
  url: string,
  commands: (send: RtmpSend, app: string, stream: string) => void,
  onMessage: (type: number, ts: number, body: Buffer) => void,
  onBytes: (n: number) => void = () => undefined,
): net.Socket {
  const u = new URL(url);
  const [app, ...rest] = u.pathname.slice(1).split('/') as [string, ...string[]];
  // A publish URL's query (?secret=…) travels in the stream name, as ffmpeg sends it.
  const stream = rest.join('/') + u.search;
  // No Nagle: the commands go out as they are written, so a probe times the server, not this client.
  const sock = net.connect({ port: Number(u.port || 1935), host: u.hostname, noDelay: true });
  let phase: 'handshake' | 'chunks' = 'handshake';
  let buf: Buffer = Buffer.alloc(0);
  let inChunkSize = 128;
  let unacked = 0;
  const ackWindow = 2_500_000;
  let total = 0;
  const streams = new Map<number, { ts: number; delta: number; length: number; type: number; body: Buffer[]; got: number }>();

  const send: RtmpSend = (csid, type, msid, payload) => {
    // One chunk: we announced a 64 KB chunk size first.
    const h = Buffer.alloc(12);
    h[0] = csid & 0x3f;
    h.writeUIntBE(payload.length, 4, 3);
    h[7] = type;
    h.writeUInt32LE(msid, 8);
    sock.write(Buffer.concat([h, payload]));
  };
  sock.on('connect', () => {
    sock.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(8), crypto.randomBytes(1528)]));
  });
  sock.on('data', (data: Buffer) => {
    onBytes(data.length);
    buf = buf.length ? Buffer.concat([buf, data]) : data;
    if (phase === 'handshake') {
      if (buf.length < 1 + 1536 * 2) return;
      sock.write(buf.subarray(1, 1537)); // C2 echoes S1
      buf = buf.subarray(1 + 1536 * 2);
      phase = 'chunks';
      const chunkSize = Buffer.alloc(4);
      chunkSize.writeUInt32BE(65536);
      send(2, 1, 0, chunkSize);
      send(
        3,
        20,
        0,
        amf(['connect', 1, { app, tcUrl: `rtmp://${u.host}/${app}`, flashVer: 'LNX 9,0,124,2', fpad: false, capabilities: 15 }]),
      );
      send(3, 20, 0, amf(['createStream', 2, null]));
      commands(send, app, stream);
    }
    readChunks();
  });

  function readChunks(): void {
    for (;;) {
      if (buf.length < 1) return;
      const fmt = (buf[0] as number) >> 6;
      let csid = (buf[0] as number) & 0x3f;
      let off = 1;
      if (csid === 0) {
        if (buf.length < 2) return;
        csid = 64 + (buf[1] as number);
        off = 2;
      } else if (csid === 1) {
        if (buf.length < 3) return;
        csid = 64 + (buf[1] as number) + (buf[2] as number) * 256;
        off = 3;
      }
      const headerLen = [11, 7, 3, 0][fmt] as number;
      if (buf.length < off + headerLen) return;
      const prev = streams.get(csid) ?? { ts: 0, delta: 0, length: 0, type: 0, body: [], got: 0 };
      const st = { ...prev };
      let tsField = -1;
      if (fmt <= 2) tsField = buf.readUIntBE(off, 3);
      if (fmt <= 1) {
        st.length = buf.readUIntBE(off + 3, 3);
        st.type = buf[off + 6] as number;
      }
      off += headerLen;
      const extended = tsField === 0xffffff;
      if (extended) {
        if (buf.length < off + 4) return;
        tsField = buf.readUInt32BE(off);
        off += 4;
      }
      const newMessage = prev.got === 0;
      const want = Math.min(inChunkSize, st.length - (newMessage ? 0 : prev.got));
      if (buf.length < off + want) return;
      if (newMessage) {
        if (fmt === 0) {
          st.ts = tsField;
          st.delta = 0;
        } else if (fmt === 1 || fmt === 2) {
          st.delta = tsField;
          st.ts = prev.ts + tsField;
        } else {
          st.ts = prev.ts + prev.delta;
        }
        st.body = [];
        st.got = 0;
      }
      st.body.push(buf.subarray(off, off + want));
      st.got += want;
      buf = buf.subarray(off + want);
      if (st.got >= st.length) {
        const body = Buffer.concat(st.body);
        if (st.type === 1) inChunkSize = body.readUInt32BE(0) & 0x7fffffff;
        onMessage(st.type, st.ts, body);
        st.got = 0;
        st.body = [];
      }
      streams.set(csid, st);
      total += off + want;
      unacked += off + want;
      if (unacked >= ackWindow) {
        unacked = 0;
        const ack = Buffer.alloc(4);
        ack.writeUInt32BE(total >>> 0);
        send(2, 3, 0, ack);
      }
    }
  }
  return sock;
}

export function rtmpPlayer(url: string): Player {
  const started = Date.now();
  const p: Player = { ...playerState('rtmp', url), close: () => sock.destroy() };
  const sock = rtmpConnect(
    url,
    (send, _app, stream) => send(8, 20, 1, amf(['play', 0, null, stream, -1000])),
    (type, ts, body) => {
      if (type !== 9 || body.length < 2) return;
      const keyframe = (body[0] as number) >> 4 === 1;
      if (body[1] === 0) return; // sequence header
      if (keyframe && p.firstKeyframeMs < 0) p.firstKeyframeMs = Date.now() - started;
      p.lastTs = ts;
    },
    (n) => (p.bytes += n),
  );
  sock.on('close', () => (p.closed = true));
  sock.on('error', () => (p.closed = true));
  return p;
}

/**
 * When an RTMP `publish` command was sent and when nginx-rtmp answered NetStream.Publish.Start
 * (performance.now() of this process). nginx-rtmp holds the publish until its on_publish callback
 * answers, so the difference is the engine's publish hook as a publisher feels it: the stack's
 * verification plus the user's HTTP callback. Sends no media.
 */
export function rtmpPublishTiming(url: string, timeoutMs = 15_000): Promise<{ sentAt: number; acceptedAt: number }> {
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    let settled = false;
    let ackTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => finish(new Error(`no answer to publish within ${timeoutMs} ms`)), timeoutMs);
    const finish = (result: number | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(ackTimer);
      sock.destroy();
      if (typeof result === 'number') resolve({ sentAt, acceptedAt: result });
      else reject(result);
    };
    const sock = rtmpConnect(
      url,
      (send, _app, stream) => {
        sentAt = performance.now();
        send(8, 20, 1, amf(['publish', 0, null, stream, 'live']));
        // nginx-rtmp writes its small replies with Nagle on: each waits for the ACK of the previous
        // one, which this end would delay by 40 ms. Sending a harmless message every 2 ms carries
        // the ACKs at once, so the timing is the server's, not TCP's.
        const chunkSize = Buffer.alloc(4);
        chunkSize.writeUInt32BE(65536);
        ackTimer = setInterval(() => send(2, 1, 0, chunkSize), 2);
      },
      (type, _ts, body) => {
        if (type !== 20) return;
        if (body.includes('NetStream.Publish.Start')) finish(performance.now());
        else if (body.includes('_error') || body.includes('NetStream.Publish.BadName')) finish(new Error('publish refused'));
      },
    );
    sock.on('close', () => finish(new Error('connection closed before the publish was accepted')));
    sock.on('error', (err) => finish(err));
  });
}

/** Starts 3 segments behind the live edge and plays from the first segment fetched, as hls.js does. */
const HLS_START_SEGMENTS_FROM_END = 3;

interface HlsPlayer extends Player {
  counters: HlsCounters;
  atMark: HlsCounters;
  lastSeq: number;
  /** How long playback has been starved right now (0 while it plays). */
  stalledNow(): number;
}

/**
 * What the HLS and LL-HLS players share: the player's state, a fetch on one keep-alive agent that
 * counts bytes, and the simulated playhead — playback starts with the first segment (or part)
 * fetched, and a stall is a moment the playhead ran past what was fetched.
 */
function playlistPlayer(kind: 'hls' | 'llhls', url: string, maxSockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const counters: HlsCounters = { polls: 0, fetched: 0, missed: 0, errors: 0, stalls: 0, stalledMs: 0 };
  let playStartedAt = -1;
  let bufferedMs = 0;
  const played = (now: number) => now - playStartedAt - counters.stalledMs;
  const p: HlsPlayer = {
    ...playerState(kind, url),
    counters,
    atMark: { ...counters },
    lastSeq: -1,
    stalledNow: () => (playStartedAt >= 0 ? Math.max(0, played(performance.now()) - bufferedMs) : 0),
    close: () => {
      p.closed = true;
      agent.destroy();
    },
  };
  const get = (target: string): Promise<Buffer | null> =>
    new Promise((resolve) => {
      const req = http.get(target, { agent }, (res) => {
        p.status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          p.bytes += c.length;
        });
        res.on('end', () => resolve(p.status === 200 ? Buffer.concat(chunks) : null));
        res.on('error', () => resolve(null));
      });
      req.on('error', () => resolve(null));
    });
  /** `seconds` of media arrived. */
  const onMedia = (seconds: number) => {
    const now = performance.now();
    if (playStartedAt < 0) playStartedAt = now;
    else if (played(now) > bufferedMs) {
      counters.stalls += 1;
      counters.stalledMs += played(now) - bufferedMs;
    }
    bufferedMs += seconds * 1000;
    p.lastTs = bufferedMs;
  };
  return { p, counters, get, onMedia };
}

/**
 * An HLS player without decoding: it follows the variant playlist to its session playlist, reloads
 * it every target duration (half when unchanged, like hls.js) and fetches each new segment in order
 * on one keep-alive connection. Playback is simulated on the wall clock from the first segment: a
 * stall is a moment the playhead would have reached the end of what was fetched.
 */
export function hlsPlayer(url: string): HlsPlayer {
  const { p, counters, get, onMedia: onSegment } = playlistPlayer('hls', url, 1);

  void (async () => {
    const variant = await get(url);
    const mediaLine = variant
      ?.toString('utf8')
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l && !l.startsWith('#'));
    const mediaUrl = variant && mediaLine?.includes('.m3u8') ? new URL(mediaLine, url).href : url;
    let next = -1;
    while (!p.closed) {
      const polledAt = Date.now();
      counters.polls += 1;
      const text = await get(mediaUrl);
      const playlist = text ? parseMediaPlaylist(text.toString('utf8')) : null;
      if (!playlist || playlist.segments.length === 0) {
        if (!text) counters.errors += 1;
        await sleepMs(1000);
        continue;
      }
      const { segments } = playlist;
      if (next < 0) next = (segments[Math.max(0, segments.length - HLS_START_SEGMENTS_FROM_END)] as { seq: number }).seq;
      const oldest = (segments[0] as { seq: number }).seq;
      if (oldest > next) {
        counters.missed += oldest - next;
        next = oldest;
      }
      const fresh = segments.filter((s) => s.seq >= next);
      for (const segment of fresh) {
        if (p.closed) break;
        const data = await get(new URL(segment.uri, mediaUrl).href);
        next = segment.seq + 1;
        if (!data) {
          counters.errors += 1;
          continue;
        }
        counters.fetched += 1;
        p.lastSeq = segment.seq;
        onSegment(segment.duration);
      }
      const reloadMs = fresh.length > 0 ? (segments.at(-1)?.duration ?? playlist.targetDuration) * 1000 : playlist.targetDuration * 500;
      await sleepMs(Math.max(100, reloadMs - (Date.now() - polledAt)));
    }
  })();
  return p;
}

/** One `#EXT-X-PART` of an LL-HLS playlist, with the segment (msn) it belongs to. */
interface ListedPart {
  msn: number;
  index: number;
  duration: number;
  uri: string;
}

/** The parts an LL-HLS media playlist lists, in order, and its init section (RFC 8216bis §4.4.4.9). */
export function listedParts(text: string): { init: string | null; parts: ListedPart[]; partTarget: number } {
  let msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  const partTarget = Number(/PART-TARGET=([\d.]+)/.exec(text)?.[1] ?? 1);
  let init: string | null = null;
  let index = 0;
  const parts: ListedPart[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-MAP:')) init = /URI="([^"]+)"/.exec(line)?.[1] ?? init;
    else if (line.startsWith('#EXT-X-PART:')) {
      const uri = /URI="([^"]+)"/.exec(line)?.[1];
      const duration = Number(/DURATION=([\d.]+)/.exec(line)?.[1]);
      if (uri && Number.isFinite(duration)) parts.push({ msn, index: index++, duration, uri });
    } else if (line && !line.startsWith('#')) {
      // A segment URI closes segment msn: the parts listed from here on belong to the next one.
      msn += 1;
      index = 0;
    }
  }
  return { init, parts, partTarget };
}

/**
 * An LL-HLS player without decoding, as hls.js plays in low-latency mode: it follows the variant
 * playlist to its session playlist, starts PART-HOLD-BACK (3 parts) behind the newest part, fetches
 * every part in order and asks for the next one with a blocking reload (`_HLS_msn`/`_HLS_part`),
 * so the server answers when that part exists. Playback is simulated as for HLS: a stall is a moment
 * the playhead would have run past what was fetched.
 */
export function llHlsPlayer(url: string): HlsPlayer {
  // Two sockets: a blocking playlist request may be held while a part is fetched.
  const { p, counters, get, onMedia: onPart } = playlistPlayer('llhls', url, 2);

  void (async () => {
    const variant = (await get(url))?.toString('utf8') ?? '';
    const mediaLine = variant
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l && !l.startsWith('#'));
    const mediaUrl = mediaLine?.includes('.m3u8') ? new URL(mediaLine, url).href : url;
    let initUri: string | null = null;
    // The next part to fetch, as (msn, index); null until the first playlist.
    let next: { msn: number; index: number } | null = null;
    const at = (part: ListedPart) => part.msn * 1e6 + part.index;
    while (!p.closed) {
      counters.polls += 1;
      const blocking = next ? `${mediaUrl.includes('?') ? '&' : '?'}_HLS_msn=${next.msn}&_HLS_part=${next.index}` : '';
      const text = await get(mediaUrl + blocking);
      const listed = text ? listedParts(text.toString('utf8')) : null;
      if (!listed || listed.parts.length === 0) {
        if (!text) counters.errors += 1;
        await sleepMs(500);
        continue;
      }
      if (listed.init && listed.init !== initUri) {
        initUri = listed.init;
        if (!(await get(new URL(initUri, mediaUrl).href))) counters.errors += 1;
      }
      if (!next) {
        const start = listed.parts[Math.max(0, listed.parts.length - 3)] as ListedPart;
        next = { msn: start.msn, index: start.index };
      }
      const wanted: number = next.msn * 1e6 + next.index;
      const fresh: ListedPart[] = listed.parts.filter((part) => at(part) >= wanted);
      // The part asked for, or the first of the next segment (a segment's part count is not known ahead).
      const after = next;
      const continues = (part: ListedPart) => at(part) === wanted || (part.msn === after.msn + 1 && part.index === 0);
      if (fresh.length && !continues(fresh[0] as ListedPart)) counters.missed += 1;
      for (const part of fresh) {
        if (p.closed) break;
        const data = await get(new URL(part.uri, mediaUrl).href);
        if (!data) counters.errors += 1;
        else {
          counters.fetched += 1;
          p.lastSeq = part.msn;
          onPart(part.duration);
        }
        next = { msn: part.msn, index: part.index + 1 };
      }
      if (!fresh.length) await sleepMs(Math.max(50, listed.partTarget * 500));
    }
  })();
  return p;
}

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** AMF0 for the few value kinds the commands need. */
function amf(values: unknown[]): Buffer {
  const parts: Buffer[] = [];
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(2);
    h.writeUInt16BE(b.length);
    return Buffer.concat([h, b]);
  };
  const value = (v: unknown): void => {
    if (typeof v === 'number') {
      const b = Buffer.alloc(9);
      b[0] = 0;
      b.writeDoubleBE(v, 1);
      parts.push(b);
    } else if (typeof v === 'boolean') parts.push(Buffer.from([1, v ? 1 : 0]));
    else if (typeof v === 'string') parts.push(Buffer.from([2]), str(v));
    else if (v === null) parts.push(Buffer.from([5]));
    else {
      parts.push(Buffer.from([3]));
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        parts.push(str(k));
        value(x);
      }
      parts.push(Buffer.from([0, 0, 9]));
    }
  };
  for (const v of values) value(v);
  return Buffer.concat(parts);
}

// A normal exit on SIGTERM (Swarm.kill), so a --cpu-prof run (SWARM_CPU_PROF) writes its profile.
process.on('SIGTERM', () => process.exit(0));

type Command = { cmd: 'start'; kind: PlayerKind; url: string; count: number } | { cmd: 'mark' } | { cmd: 'report' } | { cmd: 'stop' };

const makers: Record<PlayerKind, (url: string) => Player> = { flv: flvPlayer, rtmp: rtmpPlayer, hls: hlsPlayer, llhls: llHlsPlayer };
const isHls = (p: Player): p is HlsPlayer => p.kind === 'hls' || p.kind === 'llhls';

function hlsSinceMark(p: HlsPlayer): HlsCounters & { lastSeq: number } {
  const stalledNow = p.stalledNow();
  const since = Object.fromEntries(
    Object.entries(p.counters).map(([k, v]) => [k, v - p.atMark[k as keyof HlsCounters]]),
  ) as unknown as HlsCounters;
  // A stall still going on at the report counts too.
  return { ...since, stalls: since.stalls + (stalledNow > 0 ? 1 : 0), stalledMs: since.stalledMs + stalledNow, lastSeq: p.lastSeq };
}

let players: Player[] = [];
let markAt = 0;
// The swarm's own event-loop delay: a late player may be the swarm's fault, not the server's.
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
process.on('message', (msg: Command) => {
  if (msg.cmd === 'start') {
    loopDelay.enable();
    players.push(...Array.from({ length: msg.count }, () => makers[msg.kind](msg.url)));
    process.send?.({ started: players.length });
  } else if (msg.cmd === 'mark') {
    markAt = Date.now();
    loopDelay.reset();
    for (const p of players) {
      p.tsAtMark = p.lastTs;
      p.bytesAtMark = p.bytes;
      if (isHls(p)) p.atMark = { ...p.counters };
    }
    process.send?.({ marked: true });
  } else if (msg.cmd === 'report') {
    const wallMs = Date.now() - markAt;
    const reports: PlayerReport[] = players.map((p) => {
      const hls = isHls(p) ? hlsSinceMark(p) : undefined;
      return {
        kind: p.kind,
        url: p.url,
        ok: !p.closed && (hls ? hls.fetched > 0 : p.lastTs >= 0),
        bytes: p.bytes,
        bytesSinceMark: p.bytes - p.bytesAtMark,
        mediaMs: p.tsAtMark >= 0 ? p.lastTs - p.tsAtMark : 0,
        firstKeyframeMs: p.firstKeyframeMs,
        closed: p.closed,
        hls,
      };
    });
    process.send?.({ wallMs, reports, loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6 });
  } else if (msg.cmd === 'stop') {
    for (const p of players) p.close();
    players = [];
    loopDelay.disable();
    process.send?.({ stopped: true });
  }
});
