// WebRTC ingest and delivery (WHIP publish, WHEP play) on node-datachannel, every session on one
// UDP port (RTC_LISTEN, ICE UDP mux). Research, measurements and pitfalls: scratch/i14/REPORT.md.
//
// WHIP:  browser/OBS ─H.264+Opus─► PeerConnection ─RTP on loopback─► ffmpeg (SDP file; -c:v copy,
//        Opus→AAC) ─RTMP ?upstream=rtc&bridge=…─► engine. The publish is admitted first through
//        the one admission path (name, secret, the user's HTTP callback) as protocol 'webrtc'; the
//        bridge's own RTMP publish carries the bridge token so the engine's hook does not admit it
//        twice. The session is the publisher: its end (DELETE, ICE failure, kickoff) ends the
//        stream, after its bridge ffmpeg has exited (a republish of the name would otherwise meet
//        the old bridge still in the engine: report pitfall 7).
// WHEP:  engine ─RTMP─► one feeder ffmpeg per stream (feeder.ts) ─RTP─► every viewer's track.
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PeerConnection, Track } from 'node-datachannel';
import { AppError, NotFoundError, NotReadyError, ValidationError } from '../../core/errors.js';
import type { EventHub, StreamInfo } from '../../core/events.js';
import { createLogger } from '../../core/logger.js';
import { closeOnExecAll } from '../../core/process/cloexec.js';
import { addSpawnHook } from '../../core/process/spawn-hooks.js';
import type { Supervisor } from '../../core/process/supervisor.js';
import { DEFAULT_VHOST, loopbackRtmpUrl } from '../../core/stream-names.js';
import type { StreamRequest } from '../../core/stream-request.js';
import type { Admission } from '../live-streams/admission.js';
import type { LiveRegistry } from '../live-streams/registry.js';
import { FEEDER_AUDIO_PT, FEEDER_AUDIO_SSRC, FEEDER_VIDEO_PT, FEEDER_VIDEO_SSRC, whipBridgeArgs } from './argv.js';
import { candidateAddresses, type CandidateInputs } from './candidates.js';
import { WhepFeeder } from './feeder.js';
import { gatheredDescription, guard, loadDataChannel, peerConfig, type DataChannelLibrary } from './peer.js';
import { freeUdpPair, loopbackSocket } from './ports.js';
import { bridgeSdp, filterOffer, isRtcp, setCandidates, withPayloadType, type FilteredOffer } from './sdp.js';

const log = createLogger('webrtc');

/** Sessions at once (both kinds): each holds a PeerConnection, a WHIP one an ffmpeg too. */
const MAX_SESSIONS = 500;
/** A session whose ICE never connects is dropped after this. */
const CONNECT_TIMEOUT_MS = 20_000;
/** ICE "disconnected" may recover (consent checks); past this it is the end. */
const DISCONNECTED_GRACE_MS = 5000;
/** Key-frame requests to a WHIP publisher: right after its video opens, then periodically. */
const PLI_AFTER_OPEN_MS = [100, 400, 900] as const;
const PLI_INTERVAL_MS = 2000;
/** Receiver estimate sent to WHIP publishers (REMB): without it Chromium stays near 90 kbit/s. */
const REMB_BPS = 2_500_000;
/** A played stream's feeder outlives its last viewer this long (a page reload reuses it). */
const FEEDER_LINGER_MS = 3000;
/** How long a WHIP publish waits for the previous session of its name to finish ending. */
const REPUBLISH_WAIT_MS = 8000;

export interface WebRtcOptions {
  /** RTC_LISTEN. */
  readonly listen: number;
  /** The port put in candidates (RTC_PORT, the public one). */
  readonly candidatePort: number;
  readonly candidate: string;
  readonly nameLookup: boolean;
  readonly rtmpPort: number;
  readonly ffmpeg: string;
  readonly ffprobe: string;
  /** Where the bridges' SDP files go. */
  readonly workDir: string;
}

export interface WebRtcDeps {
  readonly supervisor: Supervisor;
  readonly admission: Pick<Admission, 'publish' | 'unpublish' | 'bridgeParam'>;
  readonly registry: Pick<LiveRegistry, 'isLive' | 'addViewerSource' | 'addIngest' | 'countPlay'>;
  readonly events: EventHub;
}

/** What the HTTP handlers hand in, protocol-neutral. */
export interface OfferRequest {
  readonly offer: string;
  readonly app: string;
  readonly stream: string;
  /** The publish secret from `?secret=` or `Authorization: Bearer` ('' when none). */
  readonly secret: string;
  readonly clientAddress: string;
  readonly candidates: Omit<CandidateInputs, 'configCandidate' | 'nameLookup'>;
}

export interface Answer {
  readonly id: string;
  readonly sdp: string;
}

interface BaseSession {
  readonly id: string;
  readonly app: string;
  readonly stream: string;
  readonly pc: PeerConnection;
  readonly createdAt: number;
  connected: boolean;
  closed: boolean;
  timers: NodeJS.Timeout[];
}

interface WhipSession extends BaseSession {
  readonly kind: 'whip';
  readonly request: StreamRequest;
  readonly out: dgram.Socket;
  readonly tracks: Track[];
  bridge: string;
  sdpFile: string;
  bytesIn: number;
}

interface WhepSession extends BaseSession {
  readonly kind: 'whep';
  /** Play authentication's "the viewer left" (on_stop), when it admitted this viewer by callback. */
  readonly left?: () => void;
  feeder: WhepFeeder | null;
  readonly send: Partial<Record<'video' | 'audio', { track: Track; pt: number }>>;
}

type Session = WhipSession | WhepSession;

export interface SessionState {
  id: string;
  kind: 'whip' | 'whep';
  app: string;
  stream: string;
  state: string;
  connected: boolean;
  bytesIn?: number;
  feederVideo?: string | null;
}

export class WebRtcService {
  private readonly sessions = new Map<string, Session>();
  private readonly feeders = new Map<string, WhepFeeder>();
  /** Per stream key, the end of a WHIP session in progress (its bridge still exiting). */
  private readonly ending = new Map<string, Promise<void>>();
  private listener: { stop(): void } | null = null;
  /** Holds RTC_LISTEN from start until the first session hands it to libdatachannel (start()). */
  private placeholder: dgram.Socket | null = null;
  /** node-datachannel once the first session loaded it, and the load in progress. */
  private nd: DataChannelLibrary | null = null;
  private loading: Promise<DataChannelLibrary> | null = null;
  private unavailable = 'WebRTC is starting';
  private removeSpawnHook: (() => void) | null = null;

  constructor(
    private readonly options: WebRtcOptions,
    private readonly deps: WebRtcDeps,
  ) {
    deps.registry.addViewerSource('webrtc', (app, stream) => this.viewers(app, stream));
    deps.registry.addIngest('webrtc', (info) => this.kick(info));
    deps.events.on('stream.unpublished', (info) => this.onUnpublished(info));
  }

  /** WHIP and WHEP serve sessions now (the Streaming page shows their URLs only then). */
  get available(): boolean {
    return this.unavailable === '';
  }

  /**
   * Binds the UDP port now (not at the first session): a port in use is reported at boot, and no
   * child spawned in between can take it. Failing leaves the rest of the stack running.
   *
   * The port is held by a plain UDP socket until the first WHIP or WHEP session loads
   * node-datachannel (libdatachannel is 3 MB of an idle stack's RSS; docs/architecture.md, "Memory
   * at idle"); that session closes it and binds libdatachannel's ICE UDP mux listener on the same
   * port in the same synchronous step (libjuice binds without SO_REUSEADDR, so the two cannot
   * overlap). Until then nothing answers on the port, as before: the mux listener answers only
   * the STUN of sessions it has.
   */
  async start(): Promise<void> {
    // libjuice opens its sockets without close-on-exec: mark every descriptor before any spawn.
    this.removeSpawnHook = addSpawnHook('webrtc close-on-exec', () => closeOnExecAll());
    try {
      fs.mkdirSync(this.options.workDir, { recursive: true });
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(this.options.listen, '0.0.0.0', () => {
          socket.off('error', reject);
          resolve();
        });
      });
      // Nothing is read from it; an error it reports (none expected once bound) must not go unhandled.
      socket.on('error', (err) => log.warn(`udp/${this.options.listen} placeholder socket`, err));
      this.placeholder = socket;
      this.unavailable = '';
      log.info(`WebRTC (WHIP/WHEP) media on udp/${this.options.listen} (libdatachannel loads at the first session)`);
    } catch (err) {
      this.unavailable = `WebRTC is unavailable: cannot use udp/${this.options.listen} (${(err as Error).message})`;
      log.error(this.unavailable);
    }
  }

  /** node-datachannel and its listener on the port, from the first session on. */
  private library(): Promise<DataChannelLibrary> {
    this.loading ??= this.loadLibrary();
    return this.loading;
  }

  private async loadLibrary(): Promise<DataChannelLibrary> {
    try {
      const nd = await loadDataChannel();
      if (this.unavailable) throw new NotReadyError(this.unavailable); // stopped meanwhile
      this.placeholder?.close();
      this.placeholder = null;
      const listener = new nd.IceUdpMuxListener(this.options.listen, '0.0.0.0');
      listener.onUnhandledStunRequest(guard('unhandled STUN', () => undefined));
      this.listener = listener;
      closeOnExecAll();
      this.nd = nd;
      log.info(`WebRTC: libdatachannel ${nd.getLibraryVersion()} loaded, listening on udp/${this.options.listen}`);
      return nd;
    } catch (err) {
      if (err instanceof NotReadyError) throw err;
      this.unavailable = `WebRTC is unavailable: cannot use udp/${this.options.listen} (${(err as Error).message})`;
      log.error(this.unavailable);
      throw new NotReadyError(this.unavailable);
    }
  }

  /** The loaded library (every session holds a PeerConnection, so it was loaded before). */
  private get lib(): DataChannelLibrary {
    if (!this.nd) throw new NotReadyError('WebRTC is starting');
    return this.nd;
  }

  async stop(): Promise<void> {
    this.unavailable = 'WebRTC is stopping';
    await Promise.all([...this.sessions.keys()].map((id) => this.end(id, 'the stack is stopping')));
    await Promise.all([...this.feeders.values()].map((f) => f.stop()));
    this.feeders.clear();
    await Promise.all(this.ending.values());
    this.placeholder?.close();
    this.placeholder = null;
    try {
      this.listener?.stop();
    } catch {
      /* already stopped */
    }
    this.listener = null;
    this.removeSpawnHook?.();
  }

  /** WebRTC players of a stream (the registry's viewer source). */
  viewers(app: string, stream: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.kind === 'whep' && s.app === app && s.stream === stream && !s.closed) n += 1;
    return n;
  }

  list(): SessionState[] {
    return [...this.sessions.values()].map((s) => ({
      id: s.id,
      kind: s.kind,
      app: s.app,
      stream: s.stream,
      state: safeState(s.pc),
      connected: s.connected,
      ...(s.kind === 'whip' ? { bytesIn: s.bytesIn } : { feederVideo: s.feeder?.video ?? null }),
    }));
  }

  has(id: string, kind: 'whip' | 'whep'): boolean {
    return this.sessions.get(id)?.kind === kind;
  }

  // WHIP

  async publish(req: OfferRequest): Promise<Answer> {
    this.ensureAvailable();
    const nd = await this.library();
    const offer = readOffer(req.offer);
    if (!offer.video)
      throw new ValidationError('the offer has no H.264 video with packetization-mode=1: WHIP needs H.264 (and Opus audio)');
    const key = `${req.app}/${req.stream}`;
    // The previous session of this name is still ending (its bridge flushing into the engine).
    const previous = this.ending.get(key);
    if (previous) await Promise.race([previous, new Promise((r) => setTimeout(r, REPUBLISH_WAIT_MS).unref())]);
    const id = crypto.randomUUID();
    const request: StreamRequest = {
      protocol: 'webrtc',
      vhost: DEFAULT_VHOST,
      app: req.app,
      stream: req.stream,
      // SRS marks WHIP publishes with upstream=rtc; the user's callback and ingestOf read it.
      param: `?${new URLSearchParams([...(req.secret ? [['secret', req.secret]] : []), ['upstream', 'rtc']]).toString()}`,
      clientId: id,
      clientAddress: req.clientAddress,
    };
    // The gates (name, secret, the user's callback) and the registry; a refusal throws 403/409.
    await this.deps.admission.publish(request);
    const pc = new nd.PeerConnection(`whip-${id}`, peerConfig(this.options.listen));
    const session: WhipSession = {
      kind: 'whip',
      id,
      app: req.app,
      stream: req.stream,
      pc,
      request,
      createdAt: Date.now(),
      connected: false,
      closed: false,
      timers: [],
      out: await loopbackSocket(),
      tracks: [],
      bridge: '',
      sdpFile: '',
      bytesIn: 0,
    };
    this.sessions.set(id, session);
    try {
      const [videoPort, audioPort] = [await freeUdpPair(), await freeUdpPair()];
      // Only the first usable m-line of each kind is bridged (the SDP file has one of each).
      const kinds = new Map<string, 'video' | 'audio'>();
      for (const m of offer.media) if (m.codec && ![...kinds.values()].includes(m.kind)) kinds.set(m.mid, m.kind);
      pc.onTrack(
        guard('WHIP track', (track: Track) => {
          const kind = kinds.get(track.mid());
          if (!kind) return;
          this.receiveTrack(session, track, kind === 'video' ? videoPort : audioPort, kind);
        }),
      );
      this.watchState(session);
      pc.setRemoteDescription(offer.sdp, 'offer');
      const answer = await this.answer(pc, req);
      session.sdpFile = path.join(this.options.workDir, `whip-${id}.sdp`);
      fs.writeFileSync(session.sdpFile, bridgeSdp(offer, videoPort, audioPort));
      this.startBridge(session, !!offer.audio);
      log.info(
        `WHIP ${key}: session ${id} from ${req.clientAddress || 'unknown'} (video pt ${offer.video.pt}, audio ${offer.audio ? `pt ${offer.audio.pt}` : 'none'})`,
      );
      return { id, sdp: answer };
    } catch (err) {
      await this.end(id, `setup failed: ${(err as Error).message}`);
      throw err;
    }
  }

  private receiveTrack(session: WhipSession, track: Track, port: number, kind: 'video' | 'audio'): void {
    track.setMediaHandler(new this.lib.RtcpReceivingSession()); // receiver reports, and PLI/REMB to send
    session.tracks.push(track);
    track.onMessage(
      guard('WHIP media', (buf: Buffer) => {
        if (session.closed) return;
        session.bytesIn += buf.length;
        session.out.send(buf, isRtcp(buf) ? port + 1 : port, '127.0.0.1');
      }),
    );
    if (kind !== 'video') return;
    // Browsers send key frames only on request: ffmpeg's probe needs SPS/PPS and an IDR, HLS players
    // a key frame per segment. REMB lifts the browser's bitrate estimate (report pitfall 6).
    const feedback = () => {
      if (session.closed || !track.isOpen()) return;
      track.requestKeyframe();
      track.requestBitrate(REMB_BPS);
    };
    track.onOpen(
      guard('WHIP track open', () => {
        for (const ms of PLI_AFTER_OPEN_MS) session.timers.push(setTimeout(guard('PLI', feedback), ms));
      }),
    );
    session.timers.push(setInterval(guard('PLI', feedback), PLI_INTERVAL_MS));
  }

  private startBridge(session: WhipSession, hasAudio: boolean): void {
    const bridge = this.deps.admission.bridgeParam();
    const url = `${loopbackRtmpUrl(this.options.rtmpPort, session.app, session.stream)}?upstream=rtc&${bridge}`;
    session.bridge = `whip-${session.app}-${session.stream}-${session.id.slice(0, 8)}`;
    this.deps.supervisor
      .add({
        name: session.bridge,
        command: this.options.ffmpeg,
        args: whipBridgeArgs(session.sdpFile, url, hasAudio),
        restart: 'never',
        // Killed outright: once its input stops, ffmpeg blocks in the RTP read and ignores a first
        // SIGINT/SIGTERM for 10 s (its interrupt callback wants two signals after start-up), and an
        // RTMP publish has no trailer worth waiting for. A quick exit frees the name for a republish.
        stopSignal: 'SIGKILL',
        stopTimeoutMs: 1000,
        secrets: [bridge.split('=')[1] ?? ''],
        onExit: (exit) => {
          if (!session.closed) void this.end(session.id, `its bridge ffmpeg ${exit.reason}`);
        },
      })
      .start();
  }

  // WHEP

  async play(req: OfferRequest, left?: () => void): Promise<Answer> {
    this.ensureAvailable();
    const nd = await this.library();
    const offer = readOffer(req.offer);
    if (!offer.video) throw new ValidationError('the offer has no H.264 video with packetization-mode=1: WHEP plays H.264');
    if (!this.deps.registry.isLive(req.app, req.stream)) throw new NotFoundError(`stream ${req.app}/${req.stream} is not live`);
    const id = crypto.randomUUID();
    const pc = new nd.PeerConnection(`whep-${id}`, peerConfig(this.options.listen));
    const session: WhepSession = {
      kind: 'whep',
      id,
      app: req.app,
      stream: req.stream,
      pc,
      createdAt: Date.now(),
      connected: false,
      closed: false,
      timers: [],
      feeder: null,
      send: {},
      left,
    };
    this.sessions.set(id, session);
    try {
      // Our send tracks, created before the offer is applied, so the answer signals our SSRCs:
      // ffmpeg's RTP carries no MID extension, and Chromium drops unsignalled SSRCs in a BUNDLE
      // (report pitfall 4).
      for (const m of offer.media) {
        if (!m.codec || session.send[m.kind]) continue;
        const media = m.kind === 'video' ? new nd.Video(m.mid, 'SendOnly') : new nd.Audio(m.mid, 'SendOnly');
        if (media instanceof nd.Video) media.addH264Codec(m.codec.pt, m.codec.fmtp || undefined);
        else media.addOpusCodec(m.codec.pt);
        const ssrc = m.kind === 'video' ? FEEDER_VIDEO_SSRC : FEEDER_AUDIO_SSRC;
        media.addSSRC(ssrc, `srs-${m.kind}`, `${req.app}-${req.stream}`, `${m.kind}-${req.stream}`);
        const track = pc.addTrack(media);
        track.setMediaHandler(new nd.RtcpNackResponder(512)); // retransmits on the browser's NACK
        session.send[m.kind] = { track, pt: m.codec.pt };
      }
      this.watchState(session);
      pc.setRemoteDescription(offer.sdp, 'offer');
      const answer = await this.answer(pc, req);
      this.attachFeeder(session);
      void this.deps.registry.countPlay().catch(() => undefined);
      log.info(`WHEP ${req.app}/${req.stream}: viewer ${id} from ${req.clientAddress || 'unknown'}`);
      return { id, sdp: answer };
    } catch (err) {
      await this.end(id, `setup failed: ${(err as Error).message}`);
      throw err;
    }
  }

  private attachFeeder(session: WhepSession): void {
    const key = `${session.app}/${session.stream}`;
    let feeder = this.feeders.get(key);
    if (!feeder || feeder.isStopped) {
      const created = new WhepFeeder(key, {
        supervisor: this.deps.supervisor,
        ffmpeg: this.options.ffmpeg,
        ffprobe: this.options.ffprobe,
        // Marked as the stack's own connection: play authentication admitted the WHEP viewer already.
        playUrl: `${loopbackRtmpUrl(this.options.rtmpPort, session.app, session.stream)}?${this.deps.admission.bridgeParam()}`,
        onGone: (f) => {
          if (this.feeders.get(key) === f) this.feeders.delete(key);
          for (const id of f.viewers.keys()) void this.end(id, 'the stream ended');
        },
      });
      feeder = created;
      this.feeders.set(key, created);
      created.start().catch((err) => {
        log.warn(`WHEP ${key}: feeder failed to start`, err);
        void created.stop().then(() => {
          if (this.feeders.get(key) === created) this.feeders.delete(key);
          for (const id of created.viewers.keys()) void this.end(id, 'the feeder failed');
        });
      });
    }
    session.feeder = feeder;
    const { send } = session;
    feeder.add({
      id: session.id,
      send: (kind, packet) => {
        const target = send[kind];
        if (session.closed || !target) return;
        try {
          if (!target.track.isOpen()) return;
          const pt = kind === 'video' ? FEEDER_VIDEO_PT : FEEDER_AUDIO_PT;
          target.track.sendMessageBinary(pt === target.pt ? packet : withPayloadType(packet, target.pt));
        } catch {
          /* the track is closing */
        }
      },
    });
  }

  // Both

  private async answer(pc: PeerConnection, req: OfferRequest): Promise<string> {
    const gathered = await gatheredDescription(pc);
    // The mux socket exists once a PeerConnection gathered: make sure no child inherits it.
    closeOnExecAll();
    const addresses = await candidateAddresses(
      { ...req.candidates, configCandidate: this.options.candidate, nameLookup: this.options.nameLookup },
      { lookup: lookupIPv4, interfaces: ownIPv4 },
    );
    return setCandidates(gathered, addresses, this.options.candidatePort);
  }

  private watchState(session: Session): void {
    let disconnectedTimer: NodeJS.Timeout | null = null;
    const connectTimer = setTimeout(() => {
      if (!session.connected) void this.end(session.id, `ICE did not connect within ${CONNECT_TIMEOUT_MS / 1000} s`);
    }, CONNECT_TIMEOUT_MS);
    session.timers.push(connectTimer);
    session.pc.onStateChange(
      guard('state callback', (state: string) => {
        if (session.closed) return;
        if (state === 'connected') {
          session.connected = true;
          if (disconnectedTimer) clearTimeout(disconnectedTimer);
          disconnectedTimer = null;
        } else if (state === 'disconnected') {
          disconnectedTimer ??= setTimeout(() => void this.end(session.id, 'ICE disconnected'), DISCONNECTED_GRACE_MS);
          session.timers.push(disconnectedTimer);
        } else if (state === 'failed' || state === 'closed') {
          // Never close a PeerConnection inside its own callback (report pitfall 3).
          setImmediate(() => void this.end(session.id, `ICE ${state}`));
        }
      }),
    );
  }

  /** Ends a session (DELETE, ICE, kickoff, unpublish); a WHIP one ends its stream after its bridge exited. */
  end(id: string, why: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session || session.closed) return Promise.resolve();
    session.closed = true;
    this.sessions.delete(id);
    for (const t of session.timers) clearTimeout(t);
    setImmediate(() => {
      try {
        session.pc.close();
      } catch {
        /* closed */
      }
    });
    log.info(`${session.kind.toUpperCase()} ${session.app}/${session.stream}: session ${id} ended: ${why}`);
    if (session.kind === 'whep') {
      session.feeder?.remove(id, FEEDER_LINGER_MS);
      session.left?.();
      return Promise.resolve();
    }
    const key = `${session.app}/${session.stream}`;
    const done = (async () => {
      if (session.bridge) await this.deps.supervisor.remove(session.bridge);
      session.out.close();
      if (session.sdpFile) fs.rmSync(session.sdpFile, { force: true });
      await this.deps.admission.unpublish(session.request).catch((err) => log.warn(`unpublishing ${key} failed`, err));
    })();
    const tracked = done.finally(() => {
      if (this.ending.get(key) === tracked) this.ending.delete(key);
    });
    this.ending.set(key, tracked);
    return tracked;
  }

  /** Kickoff of a WHIP-published stream: close its publisher's PeerConnection. */
  private async kick(info: StreamInfo): Promise<void> {
    for (const s of this.sessions.values()) {
      if (s.kind === 'whip' && s.id === info.client_id) await this.end(s.id, 'kicked off');
    }
  }

  /** A stream ended (any ingest, any reason): its WHEP viewers go, and a WHIP publisher it had. */
  private onUnpublished(info: StreamInfo): void {
    for (const s of [...this.sessions.values()]) {
      if (s.app !== info.app || s.stream !== info.stream) continue;
      if (s.kind === 'whep' || s.id === info.client_id) void this.end(s.id, 'the stream ended');
    }
    const feeder = this.feeders.get(`${info.app}/${info.stream}`);
    if (feeder) {
      this.feeders.delete(`${info.app}/${info.stream}`);
      void feeder.stop();
    }
  }

  private ensureAvailable(): void {
    if (this.unavailable) throw new NotReadyError(this.unavailable);
    if (this.sessions.size >= MAX_SESSIONS) throw new AppError(503, `too many WebRTC sessions (${MAX_SESSIONS})`);
  }
}

function readOffer(sdp: string): FilteredOffer {
  try {
    return filterOffer(sdp);
  } catch (err) {
    throw new ValidationError(`cannot read the SDP offer: ${(err as Error).message}`);
  }
}

function safeState(pc: PeerConnection): string {
  try {
    return pc.state();
  } catch {
    return 'closed';
  }
}

/** DNS for a candidate: the first IPv4 address, given up after 2 s (the answer must not wait on a slow resolver). */
async function lookupIPv4(name: string): Promise<string | null> {
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), 2000).unref());
  const found = dns.lookup(name, { family: 4 }).then(
    (r) => r.address || null,
    () => null,
  );
  return Promise.race([found, timeout]);
}

function ownIPv4(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
    .map((i) => (i as os.NetworkInterfaceInfo).address);
}
