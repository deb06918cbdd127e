// The SRT gateway: ONE libsrt listener (one UDP port) for every stream, in a worker_thread.
//
// Threading rules (the crux of the koffi design; /work/scratch/i14/REPORT.md, "SRT"):
//  * libsrt calls the listen callback on its receive-queue thread, the thread that processes every
//    UDP packet of the port. koffi runs the JS on THIS worker's thread and blocks libsrt's thread
//    until it returns. So this thread must never block: the one blocking call (srt_epoll_uwait)
//    goes through koffi's `.async` (a koffi pool thread); every socket is non-blocking (RCVSYN and
//    SNDSYN 0 on the listener, inherited by accepted sockets); closing the listener, which takes the
//    lock the receive thread holds while it waits for the callback, is also `.async`.
//  * The callback is synchronous and does no I/O: handshake.ts decides from the streamid and the
//    policy snapshot the main thread pushed. Admission proper (the user's HTTP callback) runs in the
//    main thread after accept; a veto closes the socket.
//  * The main thread never calls libsrt. It starts and stops the ffmpeg children (through the
//    supervisor); media flows between them and this thread over unix sockets in the run directory,
//    so packets never cross the main thread's event loop (which serves HTTP, HLS and FLV).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import koffi from 'koffi';
import { handshakeVerdict, type HandshakePolicy } from './handshake.js';
import {
  decodePeerPointer,
  decodeSockaddr,
  EPOLL,
  getStringOption,
  lastError,
  loadLibSrt,
  setIntOption,
  setStringOption,
  sockaddrIn,
  SRT_EASYNCRCV,
  SRT_EASYNCSND,
  SRTO,
  type LibSrt,
} from './libsrt.js';
import type { ConnInfo, FromWorker, GatewayOptions, ToWorker, WorkerStats } from './protocol.js';
import { parseStreamId, type SrtStreamId } from './streamid.js';
import { codecVerdict, TsProgramSniffer } from './ts-probe.js';

const port = parentPort;
if (!port) throw new Error('gateway-worker runs as a worker thread');
const opts = workerData as GatewayOptions;
const emit = (m: FromWorker) => port.postMessage(m);
const log = (message: string, level: 'info' | 'warn' = 'info') => emit({ type: 'log', level, message });

/** SRT live payload: 7 TS packets. */
const CHUNK = 1316;
/** A publisher must show its program (PAT + PMT) within this time. */
const PROBE_TIMEOUT_MS = 5000;
/** Media held while admission runs or the bridge restarts; beyond it the caller is dropped. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;
/** A bridge that falls this far behind loses data rather than growing memory. */
const MAX_SINK_BACKLOG = 8 * 1024 * 1024;
const EPOLL_WAIT_MS = 200;
const MAX_EVENTS = 64;

interface Feed {
  readonly id: number;
  readonly key: string;
  readonly output: string;
  readonly server: net.Server;
  source: net.Socket | null;
  readonly players: Set<Conn>;
  rest: Buffer;
  bytes: number;
  drops: number;
}

interface Conn {
  readonly id: number;
  readonly sock: number;
  readonly sid: SrtStreamId;
  readonly peer: { ip: string; port: number };
  readonly since: number;
  state: 'probing' | 'admitting' | 'publishing' | 'playing' | 'closed';
  bytes: number;
  // Publisher only:
  sniffer: TsProgramSniffer | null;
  probeTimer: NodeJS.Timeout | null;
  pending: Buffer[];
  pendingBytes: number;
  input: string;
  server: net.Server | null;
  sink: net.Socket | null;
  drops: number;
  // Player only:
  feed: Feed | null;
}

let srt: LibSrt;
try {
  srt = loadLibSrt(opts.libraries);
} catch (err) {
  emit({ type: 'unavailable', reason: (err as Error).message });
  process.exit(0);
}

let policy: HandshakePolicy | null = null;
const conns = new Map<number, Conn>(); // by SRT socket
const publishers = new Map<string, Conn>(); // by app/stream, from accept to close
const feeds = new Map<string, Feed>(); // by app/stream
const hook = { calls: 0, rejected: 0, totalUs: 0, maxUs: 0 };
let nextId = 1;
let stopping = false;

const maskSecret = (streamid: string) => streamid.replace(/(secret=)[^,&]*/g, '$1***');
const info = (c: Conn): ConnInfo => ({
  id: c.id,
  mode: c.sid.mode,
  app: c.sid.app,
  stream: c.sid.stream,
  param: c.sid.param,
  host: c.sid.host,
  peer: c.peer,
});
const keyOf = (c: Conn) => `${c.sid.app}/${c.sid.stream}`;

// ---- the listener ----

if (srt.fn.startup() < 0) {
  emit({ type: 'failed', reason: `srt_startup: ${lastError(srt).message}` });
  process.exit(0);
}
const lsn = Number(srt.fn.create_socket());
const eid = Number(srt.fn.epoll_create());
try {
  setIntOption(srt, lsn, SRTO.RCVSYN, 0);
  setIntOption(srt, lsn, SRTO.SNDSYN, 0);
  setIntOption(srt, lsn, SRTO.LATENCY, opts.latencyMs);
  if (opts.passphrase) setStringOption(srt, lsn, SRTO.PASSPHRASE, opts.passphrase);
  const sa = sockaddrIn(opts.host, opts.port);
  if (srt.fn.bind(lsn, sa, sa.length) < 0) throw new Error(`cannot bind udp ${opts.host}:${opts.port}: ${lastError(srt).message}`);
  if (srt.fn.listen(lsn, 128) < 0) throw new Error(`srt_listen: ${lastError(srt).message}`);
} catch (err) {
  srt.fn.close(lsn);
  srt.fn.cleanup();
  emit({ type: 'failed', reason: (err as Error).message });
  process.exit(0);
}

/** Runs on this thread while libsrt's receive thread waits: synchronous, no I/O, never throws. */
function onHandshake(_opaque: unknown, ns: number, hsVersion: number, peerAddr: unknown, streamid: string | null): number {
  const t0 = process.hrtime.bigint();
  try {
    const verdict = handshakeVerdict(streamid ?? '', hsVersion, stopping ? null : policy, (key) => publishers.has(key));
    if (verdict.accept) return 0;
    hook.rejected += 1;
    srt.fn.setrejectreason(ns, verdict.code);
    const peer = decodePeerPointer(peerAddr);
    emit({
      type: 'rejected',
      streamid: maskSecret(streamid ?? ''),
      code: verdict.code,
      reason: verdict.reason,
      peer: `${peer.ip}:${peer.port}`,
    });
    return -1;
  } catch {
    return -1;
  } finally {
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    hook.calls += 1;
    hook.totalUs += us;
    if (us > hook.maxUs) hook.maxUs = us;
  }
}
const hookPointer = koffi.register(onHandshake, koffi.pointer(srt.listenCallbackType));
if (srt.fn.listen_callback(lsn, hookPointer, null) < 0) {
  emit({ type: 'failed', reason: `srt_listen_callback: ${lastError(srt).message}` });
  process.exit(0);
}
srt.fn.epoll_add_usock(eid, lsn, new Int32Array([EPOLL.IN | EPOLL.ERR]));
emit({ type: 'ready', library: srt.name, version: srt.version });

// ---- connections ----

function accept(): void {
  // One accept per readiness event: epoll is level-triggered, the next caller comes back on the
  // next wait (looping until EASYNCRCV makes libsrt log an error line each time).
  const addr = Buffer.alloc(128);
  const ns = Number(srt.fn.accept(lsn, addr, [addr.length]));
  if (ns < 0) return;
  const parsed = parseStreamId(getStringOption(srt, ns, SRTO.STREAMID));
  if (!parsed.ok) {
    srt.fn.close(ns); // the callback let it through, so this cannot happen; never trust it
    return;
  }
  const c: Conn = {
    id: nextId++,
    sock: ns,
    sid: parsed.id,
    peer: decodeSockaddr(addr),
    since: Date.now(),
    // A player waits in 'admitting' for the main thread's play authentication ('admit' or 'close').
    state: parsed.id.mode === 'publish' ? 'probing' : 'admitting',
    bytes: 0,
    sniffer: null,
    probeTimer: null,
    pending: [],
    pendingBytes: 0,
    input: '',
    server: null,
    sink: null,
    drops: 0,
    feed: null,
  };
  conns.set(ns, c);
  if (c.sid.mode === 'publish') {
    if (publishers.has(keyOf(c))) return closeConn(c, 'already publishing');
    publishers.set(keyOf(c), c);
    c.sniffer = new TsProgramSniffer();
    c.probeTimer = setTimeout(() => refuse(c, `no MPEG-TS program (PAT/PMT) within ${PROBE_TIMEOUT_MS / 1000} s`), PROBE_TIMEOUT_MS);
    srt.fn.epoll_add_usock(eid, ns, new Int32Array([EPOLL.IN | EPOLL.ERR]));
  } else {
    srt.fn.epoll_add_usock(eid, ns, new Int32Array([EPOLL.ERR]));
    join(c);
  }
}

const rbuf = Buffer.alloc(1500);
function readPublisher(c: Conn): void {
  const parts: Buffer[] = [];
  for (;;) {
    const n = Number(srt.fn.recvmsg(c.sock, rbuf, rbuf.length));
    if (n > 0) {
      parts.push(Buffer.from(rbuf.subarray(0, n)));
      continue;
    }
    if (n < 0) {
      const e = lastError(srt);
      if (e.code !== SRT_EASYNCRCV) return closeConn(c, `caller gone: ${e.message}`);
    }
    break;
  }
  if (!parts.length) return;
  const data = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  c.bytes += data.length;
  if (c.state === 'probing' && c.sniffer) {
    const streams = c.sniffer.push(data);
    hold(c, data);
    if (!streams) return;
    const verdict = codecVerdict(streams);
    if (!verdict.ok) return refuse(c, verdict.reason);
    if (c.probeTimer) clearTimeout(c.probeTimer);
    c.sniffer = null;
    c.state = 'admitting';
    openBridgeSocket(c);
    emit({ type: 'publish', conn: info(c), codecs: verdict.codecs, input: c.input });
    return;
  }
  if (c.sink) {
    if (c.sink.writableLength > MAX_SINK_BACKLOG) c.drops += 1;
    else c.sink.write(data);
  } else {
    hold(c, data);
  }
}

/** Keeps media until the bridge reads it; a caller whose bridge never comes is dropped. */
function hold(c: Conn, data: Buffer): void {
  c.pending.push(data);
  c.pendingBytes += data.length;
  if (c.pendingBytes > MAX_PENDING_BYTES) closeConn(c, `the bridge into the engine did not read ${MAX_PENDING_BYTES >> 20} MB of media`);
}

function socketPath(kind: string, id: number): string {
  return path.join(opts.socketDir, `srt-${kind}-${id}.sock`);
}

function listenUnix(file: string, onConnection: (s: net.Socket) => void): net.Server {
  fs.rmSync(file, { force: true });
  const server = net.createServer(onConnection);
  server.on('error', (err) => log(`unix socket ${file}: ${err.message}`, 'warn'));
  server.listen(file);
  return server;
}

/** The bridge ffmpeg connects here and reads the caller's TS (again after each restart). */
function openBridgeSocket(c: Conn): void {
  c.input = socketPath('in', c.id);
  c.server = listenUnix(c.input, (s) => {
    s.on('error', () => undefined);
    if (c.state === 'closed' || c.sink) return void s.destroy();
    c.sink = s;
    if (c.state === 'admitting') c.state = 'publishing';
    if (c.pending.length) s.write(Buffer.concat(c.pending));
    c.pending = [];
    c.pendingBytes = 0;
    s.on('close', () => {
      if (c.sink === s) c.sink = null;
    });
  });
}

function refuse(c: Conn, reason: string): void {
  if (c.state === 'closed') return;
  emit({ type: 'refused', conn: info(c), reason });
  closeConn(c, reason, false);
}

// ---- players: one feed (RTMP → TS ffmpeg) per played stream, fanned out ----

let nextFeedId = 1;
function join(c: Conn): void {
  const key = keyOf(c);
  let feed = feeds.get(key);
  const fresh = !feed;
  if (!feed) {
    const id = nextFeedId++;
    const output = socketPath('out', id);
    const f: Feed = {
      id,
      key,
      output,
      server: null as unknown as net.Server,
      source: null,
      players: new Set(),
      rest: Buffer.alloc(0),
      bytes: 0,
      drops: 0,
    };
    (f as { server: net.Server }).server = listenUnix(output, (s) => {
      s.on('error', () => undefined);
      if (f.source || feeds.get(key) !== f) return void s.destroy();
      f.source = s;
      s.on('data', (d: Buffer) => fanout(f, d));
      s.on('close', () => {
        if (f.source === s) f.source = null;
      });
    });
    feeds.set(key, (feed = f));
  }
  feed.players.add(c);
  c.feed = feed;
  emit({ type: 'play', conn: info(c), feed: { id: feed.id, output: feed.output, fresh } });
}

function fanout(f: Feed, data: Buffer): void {
  f.bytes += data.length;
  const buf = f.rest.length ? Buffer.concat([f.rest, data]) : data;
  let off = 0;
  const send = (msg: Buffer) => {
    for (const p of f.players) {
      if (p.state !== 'playing') continue;
      const n = Number(srt.fn.sendmsg(p.sock, msg, msg.length, -1, 0));
      if (n >= 0) p.bytes += n;
      else if (lastError(srt).code === SRT_EASYNCSND) f.drops += 1;
      else closeConn(p, 'player gone');
    }
  };
  for (; off + CHUNK <= buf.length; off += CHUNK) send(buf.subarray(off, off + CHUNK));
  // Flush whole TS packets left over, so a trickle (audio-only moments) is not held back.
  const tail = buf.length - off;
  const aligned = tail - (tail % 188);
  if (aligned > 0) {
    send(buf.subarray(off, off + aligned));
    off += aligned;
  }
  f.rest = Buffer.from(buf.subarray(off));
}

function closeFeed(f: Feed, why: string): void {
  if (feeds.get(f.key) === f) feeds.delete(f.key);
  f.source?.destroy();
  f.server.close();
  fs.rmSync(f.output, { force: true });
  for (const p of [...f.players]) closeConn(p, why);
}

// ---- closing ----

function closeConn(c: Conn, why: string, announce = true): void {
  if (c.state === 'closed') return;
  c.state = 'closed';
  if (c.probeTimer) clearTimeout(c.probeTimer);
  srt.fn.epoll_remove_usock(eid, c.sock);
  srt.fn.close(c.sock);
  conns.delete(c.sock);
  if (c.sid.mode === 'publish') {
    if (publishers.get(keyOf(c)) === c) publishers.delete(keyOf(c));
    c.sink?.end();
    c.sink = null;
    c.pending = [];
    if (c.server) {
      c.server.close();
      fs.rmSync(c.input, { force: true });
    }
  } else if (c.feed) {
    const f = c.feed;
    f.players.delete(c);
    if (f.players.size === 0 && feeds.get(f.key) === f) {
      closeFeed(f, 'no players');
      emit({ type: 'feed-idle', feedId: f.id });
    }
  }
  if (announce) emit({ type: 'closed', conn: info(c), why, bytes: c.bytes });
}

function stats(): WorkerStats {
  return {
    handshakes: { calls: hook.calls, rejected: hook.rejected, avgUs: hook.calls ? hook.totalUs / hook.calls : 0, maxUs: hook.maxUs },
    connections: [...conns.values()].map((c) => ({ ...info(c), state: c.state, bytes: c.bytes, since: new Date(c.since).toISOString() })),
    feeds: [...feeds.values()].map((f) => ({ id: f.id, key: f.key, players: f.players.size, bytes: f.bytes, drops: f.drops })),
  };
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'policy':
      policy = m.policy;
      break;
    case 'close':
      for (const c of conns.values()) if (c.id === m.id) closeConn(c, m.why);
      break;
    case 'admit':
      for (const c of conns.values()) if (c.id === m.id && c.state === 'admitting' && c.sid.mode === 'request') c.state = 'playing';
      break;
    case 'feed-gone':
      for (const f of feeds.values()) if (f.id === m.feedId) closeFeed(f, m.why);
      break;
    case 'stats':
      emit({ type: 'stats', reqId: m.reqId, ...stats() });
      break;
    case 'stop':
      stopping = true;
      break;
  }
});

// ---- the loop: wait on a koffi thread, handle events here without blocking ----

const events = Buffer.alloc(MAX_EVENTS * 8);
const wait = () =>
  new Promise<number>((resolve, reject) =>
    srt.fn.epoll_uwait.async(eid, events, MAX_EVENTS, EPOLL_WAIT_MS, (err: unknown, n: number) => (err ? reject(err) : resolve(Number(n)))),
  );
const callAsync = (fn: LibSrt['fn'][keyof LibSrt['fn']], ...args: unknown[]) =>
  new Promise<void>((resolve) => fn.async(...args, () => resolve()));

while (!stopping) {
  const n = await wait();
  for (let i = 0; i < n; i++) {
    const fd = events.readInt32LE(i * 8);
    const ev = events.readInt32LE(i * 8 + 4);
    if (fd === lsn) {
      accept();
      continue;
    }
    const c = conns.get(fd);
    if (!c) continue;
    if (ev & EPOLL.IN && c.sid.mode === 'publish') readPublisher(c);
    if (ev & EPOLL.ERR) closeConn(c, 'caller disconnected');
  }
}
for (const c of [...conns.values()]) closeConn(c, 'the stack is stopping');
for (const f of [...feeds.values()]) closeFeed(f, 'the stack is stopping');
// Off this thread: closing the listener takes the lock a receive thread in the callback holds.
await callAsync(srt.fn.close, lsn);
srt.fn.epoll_release(eid);
await callAsync(srt.fn.cleanup);
emit({ type: 'stopped' });
process.exit(0);
