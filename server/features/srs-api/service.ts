// SRS's own HTTP API (`/api/v1/…`), the part SRS-ecosystem tools read (the SRS console, exporters,
// monitoring scripts): versions, summaries, streams, clients and a client's kickoff, in SRS 5's
// shapes and field names (docs/compatibility.md, "SRS HTTP API"). It is a view: streams come from
// the live registry (the one answer to "is it live?"), connections from the engine's stats through
// the MediaEngine interface, and a kickoff goes through the registry like the console's.
import crypto from 'node:crypto';
import os from 'node:os';
import type { StreamInfo } from '../../core/events.js';
import { ingestOf } from '../../core/stream-request.js';
import type { EngineClient, EngineStream, MediaEngine } from '../../engine/media-engine.js';
import type { EdgePull } from '../flv/flv-gateway.js';
import type { ActiveStream, LiveRegistry } from '../live-streams/registry.js';

/** The SRS API level implemented: SRS 5's `/api/v1` (SRS Stack 5.x bundles SRS 5). */
export const SRS_API_VERSION = { major: 5, minor: 0, revision: 0 } as const;
export const SRS_API_VERSION_TEXT = `${SRS_API_VERSION.major}.${SRS_API_VERSION.minor}.${SRS_API_VERSION.revision}`;

/** SRS's `ERROR_RTMP_CLIENT_NOT_FOUND`, answered (HTTP 200, as SRS does) for an unknown client id. */
export const SRS_CLIENT_NOT_FOUND = 2049;

export type SrsApiRegistry = Pick<LiveRegistry, 'query' | 'list' | 'kickoff'>;
export type SrsApiEngine = Pick<MediaEngine, 'serverId' | 'streams'>;

/** The fields SRS puts beside `code` in every answer: server, service (per boot) and process ids. */
export interface SrsIds {
  code: number;
  server: string;
  service: string;
  pid: string;
}

export interface SrsStream {
  id: string;
  name: string;
  vhost: string;
  app: string;
  tcUrl: string;
  url: string;
  live_ms: number;
  clients: number;
  frames: number;
  send_bytes: number;
  recv_bytes: number;
  kbps: { recv_30s: number; send_30s: number };
  publish: { active: boolean; cid?: string };
  video: { codec: string; width: number; height: number } | null;
  audio: { codec: string; sample_rate: number; channel: number } | null;
}

export interface SrsClient {
  id: string;
  vhost: string;
  stream: string;
  ip: string;
  pageUrl: string;
  swfUrl: string;
  tcUrl: string;
  url: string;
  name: string;
  type: string;
  publish: boolean;
  alive: number;
  send_bytes: number;
  recv_bytes: number;
  kbps: { recv_30s: number; send_30s: number };
}

/** SRS's client types (`srs_client_type_string`) for the ingests a publisher can come over. */
const PUBLISH_TYPE = { rtmp: 'fmle-publish', srt: 'srt-publish', webrtc: 'rtc-publish' } as const;

const isLoopback = (address: string) => address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';

/** kbit/s over the whole connection (the engine keeps no 30 s window). */
function kbps(bytes: number, ms: number): number {
  return ms > 0 ? Math.round((bytes * 8) / ms) : 0;
}

/** SRS-style object id (`vid-…`), stable for a name. */
function objectId(kind: string, name: string): string {
  return `vid-${crypto.createHash('sha1').update(`${kind}\0${name}`).digest('hex').slice(0, 8)}`;
}

export class SrsApi {
  /** SRS's `service`: changes on every start, so a tool sees a restart. */
  private readonly serviceId = crypto.randomBytes(4).toString('hex');
  private readonly startedAt = Date.now();
  private lastCpu: { at: number; usage: NodeJS.CpuUsage; system: { idle: number; total: number } } | null = null;

  constructor(
    private readonly registry: SrsApiRegistry,
    private readonly engine: SrsApiEngine,
    /** Edges pulling streams over HTTP-FLV (features/flv: the pull's X-SRS-Edge header), listed as clients. */
    private readonly edgePulls: () => readonly EdgePull[] = () => [],
  ) {}

  ids(code = 0): SrsIds {
    return { code, server: this.engine.serverId, service: this.serviceId, pid: String(process.pid) };
  }

  versions(): SrsIds & { data: typeof SRS_API_VERSION & { version: string } } {
    return { ...this.ids(), data: { ...SRS_API_VERSION, version: SRS_API_VERSION_TEXT } };
  }

  async summaries(): Promise<SrsIds & { data: Record<string, unknown> }> {
    const now = Date.now();
    const cpus = os.cpus();
    const { selfCpu, systemCpu } = this.cpuPercents(now, cpus);
    const rss = process.memoryUsage().rss;
    const total = os.totalmem();
    const free = os.freemem();
    const [load1, load5, load15] = os.loadavg();
    const conns = (await this.engineStreams()).reduce((n, s) => n + s.clients.filter((c) => !c.relay).length, 0);
    return {
      ...this.ids(),
      data: {
        ok: true,
        now_ms: now,
        self: {
          version: SRS_API_VERSION_TEXT,
          pid: process.pid,
          ppid: process.ppid,
          argv: process.argv.join(' '),
          cwd: process.cwd(),
          mem_kbyte: Math.round(rss / 1024),
          mem_percent: total ? rss / total : 0,
          cpu_percent: selfCpu,
          srs_uptime: Math.round((now - this.startedAt) / 1000),
        },
        system: {
          cpu_percent: systemCpu,
          mem_ram_kbyte: Math.round(total / 1024),
          mem_ram_percent: total ? (total - free) / total : 0,
          cpus: cpus.length,
          cpus_online: cpus.length,
          uptime: Math.round(os.uptime()),
          load_1m: load1 ?? 0,
          load_5m: load5 ?? 0,
          load_15m: load15 ?? 0,
          conn_srs: conns,
        },
      },
    };
  }

  async streams(): Promise<SrsIds & { streams: SrsStream[] }> {
    const [live, engine] = await Promise.all([this.registry.query(), this.engineStreams()]);
    const byName = new Map(engine.map((s) => [`${s.app}/${s.stream}`, s]));
    return { ...this.ids(), streams: live.map((info) => this.stream(info, byName.get(`${info.app}/${info.stream}`))) };
  }

  async clients(): Promise<SrsIds & { clients: SrsClient[] }> {
    return { ...this.ids(), clients: await this.listClients() };
  }

  /** One client, or SRS's 2049 code when there is none by that id. */
  async client(id: string): Promise<SrsIds & { client?: SrsClient }> {
    const client = (await this.listClients()).find((c) => c.id === id);
    return client ? { ...this.ids(), client } : this.ids(SRS_CLIENT_NOT_FOUND);
  }

  /**
   * Kicks the publisher with this client id off (through the registry: its own ingest drops it,
   * callbacks and tasks see the unpublish). A player or unknown id answers SRS's 2049.
   */
  async kickoff(id: string): Promise<SrsIds> {
    const info = this.registry.list().find((s) => s.client_id === id);
    if (!info) return this.ids(SRS_CLIENT_NOT_FOUND);
    await this.registry.kickoff(info.vhost, info.app, info.stream);
    return this.ids();
  }

  private async engineStreams(): Promise<EngineStream[]> {
    return this.engine.streams().catch(() => []);
  }

  private stream(info: ActiveStream, engine: EngineStream | undefined): SrsStream {
    const uptime = engine?.uptimeMs ?? Date.now() - Date.parse(info.update);
    const recv = engine?.bytesIn ?? 0;
    const sent = engine?.clients.reduce((n, c) => n + c.bytesOut, 0) ?? 0;
    return {
      id: objectId('stream', `${info.vhost}/${info.app}/${info.stream}`),
      name: info.stream,
      vhost: objectId('vhost', info.vhost),
      app: info.app,
      tcUrl: `rtmp://${info.vhost}/${info.app}`,
      url: `/${info.app}/${info.stream}`,
      live_ms: Date.now(),
      // The publisher and every player the stack counts (RTMP, HLS, FLV, SRT, WebRTC).
      clients: 1 + info.viewers,
      frames: 0,
      send_bytes: sent,
      recv_bytes: recv,
      kbps: { recv_30s: kbps(recv, uptime), send_30s: kbps(sent, uptime) },
      publish: info.client_id ? { active: true, cid: info.client_id } : { active: true },
      video: engine?.video ? { codec: engine.video.codec, width: engine.video.width, height: engine.video.height } : null,
      audio: engine?.audio ? { codec: engine.audio.codec, sample_rate: engine.audio.sampleRate, channel: engine.audio.channels } : null,
    };
  }

  /** Every live stream's publisher (whatever its ingest) and its RTMP players from other hosts. */
  private async listClients(): Promise<SrsClient[]> {
    const engine = await this.engineStreams();
    const byName = new Map(engine.map((s) => [`${s.app}/${s.stream}`, s]));
    const out: SrsClient[] = [];
    for (const info of this.registry.list()) {
      const es = byName.get(`${info.app}/${info.stream}`);
      const publisher = es?.clients.find((c) => c.publishing);
      out.push(this.client1(info, info.client_id ?? publisher?.id ?? '', PUBLISH_TYPE[ingestOf(info.param)], true, publisher));
      for (const c of es?.clients ?? []) {
        if (c.publishing || c.relay || isLoopback(c.address)) continue;
        out.push(this.client1(info, c.id, 'rtmp-play', false, c));
      }
      // An edge's HTTP-FLV pull, named like its RTMP pull (pageUrl srs-stack-edge:<host>).
      for (const pull of this.edgePulls()) {
        if (pull.app !== info.app || pull.stream !== info.stream) continue;
        const c: EngineClient = {
          id: pull.id,
          address: pull.address,
          publishing: false,
          relay: false,
          aliveMs: Date.now() - pull.since,
          pageUrl: `srs-stack-edge:${pull.edge}`,
          bytesIn: 0,
          bytesOut: 0,
        };
        out.push(this.client1(info, pull.id, 'flv-play', false, c));
      }
    }
    return out;
  }

  private client1(info: StreamInfo, id: string, type: string, publish: boolean, c: EngineClient | undefined): SrsClient {
    const aliveMs = c?.aliveMs ?? Date.now() - Date.parse(info.update);
    return {
      id,
      vhost: objectId('vhost', info.vhost),
      stream: objectId('stream', `${info.vhost}/${info.app}/${info.stream}`),
      // A bridged ingest (SRT, WHIP) reaches the engine from loopback: its peer is not known here.
      ip: ingestOf(info.param) === 'rtmp' || !publish ? (c?.address ?? '') : '',
      // An edge's RTMP pull says `srs-stack-edge:<host>` here (docs/architecture.md#edges).
      pageUrl: c?.pageUrl ?? '',
      swfUrl: '',
      tcUrl: `rtmp://${info.vhost}/${info.app}`,
      url: `/${info.app}/${info.stream}`,
      name: info.stream,
      type,
      publish,
      alive: aliveMs / 1000,
      send_bytes: c?.bytesOut ?? 0,
      recv_bytes: c?.bytesIn ?? 0,
      kbps: { recv_30s: kbps(c?.bytesIn ?? 0, aliveMs), send_30s: kbps(c?.bytesOut ?? 0, aliveMs) },
    };
  }

  /** CPU use since the previous summaries (SRS samples every few seconds; the first call reports since start). */
  private cpuPercents(now: number, cpus: os.CpuInfo[]): { selfCpu: number; systemCpu: number } {
    const usage = process.cpuUsage();
    const system = cpus.reduce(
      (acc, c) => {
        const t = c.times;
        return { idle: acc.idle + t.idle, total: acc.total + t.idle + t.user + t.nice + t.sys + t.irq };
      },
      { idle: 0, total: 0 },
    );
    const prev = this.lastCpu ?? { at: this.startedAt, usage: { user: 0, system: 0 }, system: { idle: 0, total: 0 } };
    this.lastCpu = { at: now, usage, system };
    const elapsedUs = Math.max(1, (now - prev.at) * 1000);
    const selfCpu = (usage.user - prev.usage.user + usage.system - prev.usage.system) / elapsedUs;
    const totalDelta = system.total - prev.system.total;
    const systemCpu = totalDelta > 0 ? 1 - (system.idle - prev.system.idle) / totalDelta : 0;
    return { selfCpu, systemCpu };
  }
}
