// Many light players in one process, so hundreds of viewers cost the bench little CPU: HTTP-FLV
// readers (the stack's gateway) and bare RTMP readers (the engine's own fan-out). Each tracks how
// much media time it received, which tells whether it keeps up with the live stream.
// Driven by its parent over IPC: {start}, then {mark} (window start), then {report}.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { FlvParser } from '../server/engine/flv/flv-tags.js';

export interface PlayerReport {
  ok: boolean;
  bytes: number;
  /** Media milliseconds received since the mark. */
  mediaMs: number;
  /** ms from request to the first video keyframe. */
  firstKeyframeMs: number;
  closed: boolean;
}

export interface Player {
  bytes: number;
  lastTs: number;
  tsAtMark: number;
  firstKeyframeMs: number;
  closed: boolean;
  status: number;
  close(): void;
}

export function flvPlayer(url: string): Player {
  const started = Date.now();
  const parser = new FlvParser();
  const p: Player = { bytes: 0, lastTs: -1, tsAtMark: -1, firstKeyframeMs: -1, closed: false, status: 0, close: () => req.destroy() };
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

/**
 * The smallest RTMP player nginx-rtmp accepts: simple handshake, connect, createStream, play
 * (nginx-rtmp always answers stream id 1), then chunk reassembly to read message timestamps.
 */
export function rtmpPlayer(url: string): Player {
  const started = Date.now();
  const u = new URL(url);
  const [app, stream] = u.pathname.slice(1).split('/') as [string, string];
  const p: Player = { bytes: 0, lastTs: -1, tsAtMark: -1, firstKeyframeMs: -1, closed: false, status: 0, close: () => sock.destroy() };
  const sock = net.connect(Number(u.port || 1935), u.hostname);
  let phase: 'handshake' | 'chunks' = 'handshake';
  let buf: Buffer = Buffer.alloc(0);
  let inChunkSize = 128;
  let unacked = 0;
  const ackWindow = 2_500_000;
  let total = 0;
  const streams = new Map<number, { ts: number; delta: number; length: number; type: number; body: Buffer[]; got: number }>();

  const send = (csid: number, type: number, msid: number, payload: Buffer) => {
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
    p.bytes += data.length;
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
      send(8, 20, 1, amf(['play', 0, null, stream, -1000]));
    }
    readChunks();
  });
  sock.on('close', () => (p.closed = true));
  sock.on('error', () => (p.closed = true));

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
        onMessage(st.type, st.ts, Buffer.concat(st.body));
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

  function onMessage(type: number, ts: number, body: Buffer): void {
    if (type === 1) inChunkSize = body.readUInt32BE(0) & 0x7fffffff;
    if (type === 9 && body.length > 1) {
      const keyframe = (body[0] as number) >> 4 === 1;
      const config = body[1] === 0;
      if (config) return;
      if (keyframe && p.firstKeyframeMs < 0) p.firstKeyframeMs = Date.now() - started;
      p.lastTs = ts;
    }
  }
  return p;
}

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

type Command = { cmd: 'start'; kind: 'flv' | 'rtmp'; url: string; count: number } | { cmd: 'mark' } | { cmd: 'report' } | { cmd: 'stop' };

let players: Player[] = [];
let markAt = 0;
process.on('message', (msg: Command) => {
  if (msg.cmd === 'start') {
    const make = msg.kind === 'flv' ? flvPlayer : rtmpPlayer;
    players = Array.from({ length: msg.count }, () => make(msg.url));
    process.send?.({ started: players.length });
  } else if (msg.cmd === 'mark') {
    markAt = Date.now();
    for (const p of players) p.tsAtMark = p.lastTs;
    process.send?.({ marked: true });
  } else if (msg.cmd === 'report') {
    const wallMs = Date.now() - markAt;
    const reports: PlayerReport[] = players.map((p) => ({
      ok: !p.closed && p.lastTs >= 0,
      bytes: p.bytes,
      mediaMs: p.tsAtMark >= 0 ? p.lastTs - p.tsAtMark : 0,
      firstKeyframeMs: p.firstKeyframeMs,
      closed: p.closed,
    }));
    process.send?.({ wallMs, reports });
  } else if (msg.cmd === 'stop') {
    for (const p of players) p.close();
    players = [];
    process.send?.({ stopped: true });
  }
});
