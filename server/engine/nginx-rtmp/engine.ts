// The default media engine: nginx + libnginx-mod-rtmp as a supervised child with a generated,
// static config under <data>/engine (docs/architecture.md#the-media-engine). Its HTTP side (/stat, /control) listens on a
// unix socket in the prefix, so it is reachable from this host only and two stacks never collide.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ForbiddenError, ValidationError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { killGroupLeftovers } from '../../core/process/reaper.js';
import { describeExit, runOnce, type RunOnceResult } from '../../core/process/run-once.js';
import { STOP_ORDER, type SupervisedChild, type Supervisor } from '../../core/process/supervisor.js';
import { secretsEqual } from '../../core/secrets.js';
import { LIVE_APP, loopbackRtmpUrl } from '../../core/stream-names.js';
import type { EngineHookEvent, EngineHookRequest, EngineStream, HlsOutput, MediaEngine } from '../media-engine.js';
import { unixGet } from '../unix-http.js';
import { parseNginxCallback } from './callback.js';
import { findRtmpModule, renderNginxRtmpConfig } from './config.js';
import { parseRtmpStat } from './stat.js';

const log = createLogger('engine');
/** `nginx -V` and `nginx -t` answer at once; past this the binary is hung. */
const NGINX_CHECK_TIMEOUT_MS = 10_000;
/** `nginx -V` prints every configure argument; Debian's build needs a few KB. */
const NGINX_VERSION_OUTPUT_CHARS = 64 * 1024;

export const ENGINE_CHILD_NAME = 'nginx';
/** The hook path: SRS Stack's own engine posts to it too (docs/compatibility.md), so it is kept. */
export const ENGINE_HOOK_PATH = '/terraform/v1/hooks/srs/verify';
/** How often a just-admitted publish is looked for in the engine's stats. */
const PUBLISHING_POLL_MS = 50;
/** A /stat read this recent answers streams() again (half the publishing poll). */
const STAT_SHARE_MS = 25;

export interface NginxRtmpEngineOptions {
  /** <data>/engine: config, pid, logs, temp paths and HLS output. */
  readonly prefix: string;
  readonly nginxBinary: string;
  /** NGINX_RTMP_MODULE: explicit module path, or '' to find it. */
  readonly rtmpModule: string;
  readonly rtmpPort: number;
  /** The stack's own HTTP origin as seen from this host, e.g. http://127.0.0.1:2022. */
  readonly callbackOrigin: string;
  readonly supervisor: Supervisor;
  /** Loopback RTMP URLs each app's streams are pushed to as well (the stack's live tap). */
  readonly pushTargets?: (app: string) => readonly string[];
  /**
   * Another config than the origin's (the edge role, edge-config.ts): the same supervised nginx,
   * module lookup and config check, given what only the engine knows.
   */
  readonly renderConfig?: (base: EngineConfigBase) => string;
}

/** What the engine decides for any config it runs: where it lives, the module, the /stat socket. */
export interface EngineConfigBase {
  readonly prefix: string;
  readonly modulePath: string | null;
  readonly httpSocket: string;
  readonly workerUser: string | null;
}

export class NginxRtmpEngine implements MediaEngine {
  readonly name = 'nginx-rtmp';
  readonly apps = [LIVE_APP] as const;
  readonly hookPath = ENGINE_HOOK_PATH;
  readonly hls: { lowLatency: HlsOutput; normal: HlsOutput };
  readonly serverId: string;
  /** Sent by nginx with every hook (in its URL), so nobody else can fake a publish. */
  private readonly hookToken = crypto.randomBytes(16).toString('hex');
  readonly httpSocket: string;
  private child: SupervisedChild | null = null;
  /** The last /stat read (streams()): shared while pending and for STAT_SHARE_MS after. */
  private statRead: { at: number; pending: boolean; streams: Promise<EngineStream[]> } | null = null;
  private readonly listeners: Array<(ready: boolean) => void> = [];

  constructor(private readonly opts: NginxRtmpEngineOptions) {
    this.hls = {
      lowLatency: { root: path.join(opts.prefix, 'hls', 'll'), fragmentSeconds: 2, windowSeconds: 16, segmentPrefix: '' },
      normal: { root: path.join(opts.prefix, 'hls', 'normal'), fragmentSeconds: 10, windowSeconds: 60, segmentPrefix: 'n' },
    };
    this.serverId = `vid-${crypto.createHash('sha1').update(opts.prefix).digest('hex').slice(0, 6)}`;
    const preferred = path.join(opts.prefix, 'engine.sock');
    // sun_path holds 108 bytes; a deep data dir falls back to a per-instance name in the temp dir.
    this.httpSocket = Buffer.byteLength(preferred) < 100 ? preferred : path.join(os.tmpdir(), `srs-stack-${this.serverId}.sock`);
  }

  get configFile(): string {
    return path.join(this.opts.prefix, 'nginx.conf');
  }

  /** HLS output of earlier engine runs, one directory per start, until the segment watcher replayed it. */
  private get leftoverRoot(): string {
    return path.join(this.opts.prefix, 'hls-previous');
  }

  /** Where earlier runs wrote `output`, oldest first. */
  leftovers(output: HlsOutput): string[] {
    const relative = path.relative(path.join(this.opts.prefix, 'hls'), output.root);
    let runs: string[];
    try {
      runs = fs.readdirSync(this.leftoverRoot);
    } catch {
      return [];
    }
    return runs
      .sort((a, b) => Number(a) - Number(b))
      .map((run) => path.join(this.leftoverRoot, run, relative))
      .filter((dir) => fs.existsSync(dir));
  }

  discardLeftovers(): void {
    fs.rmSync(this.leftoverRoot, { recursive: true, force: true });
  }

  get isReady(): boolean {
    return this.child?.state.status === 'ready';
  }

  onStateChange(listener: (ready: boolean) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    const { prefix } = this.opts;
    this.cleanUpAfterMaster();
    // A fresh engine holds no stream: old playlists would only be served as stale live streams. The
    // old output is set aside, not deleted: what it finished just before a crash may not be recorded.
    const previous = path.join(prefix, 'hls');
    if (fs.existsSync(previous)) {
      try {
        fs.mkdirSync(this.leftoverRoot, { recursive: true });
        fs.renameSync(previous, path.join(this.leftoverRoot, String(Date.now())));
      } catch (err) {
        log.warn(`cannot keep the previous HLS output for recording, removing it`, err);
        fs.rmSync(previous, { recursive: true, force: true });
      }
    }
    for (const dir of [
      'logs',
      'temp',
      ...this.apps.flatMap((app) => [path.join(this.hls.lowLatency.root, app), path.join(this.hls.normal.root, app)]),
    ]) {
      fs.mkdirSync(path.resolve(prefix, dir), { recursive: true });
    }
    const module = await this.locateModule();
    const base: EngineConfigBase = {
      prefix,
      modulePath: module,
      httpSocket: this.httpSocket,
      workerUser: process.getuid?.() === 0 ? os.userInfo().username : null,
    };
    const config = this.opts.renderConfig
      ? this.opts.renderConfig(base)
      : renderNginxRtmpConfig({
          ...base,
          rtmpPort: this.opts.rtmpPort,
          callbackUrl: `${this.opts.callbackOrigin}${ENGINE_HOOK_PATH}?engine=${this.hookToken}`,
          apps: this.apps,
          pushTargets: this.opts.pushTargets ?? (() => []),
          hls: this.hls,
        });
    fs.writeFileSync(this.configFile, config, { mode: 0o600 });
    await this.testConfig();
    this.child = this.opts.supervisor.add({
      name: ENGINE_CHILD_NAME,
      command: this.opts.nginxBinary,
      args: ['-c', this.configFile, '-p', `${prefix}${path.sep}`],
      cwd: prefix,
      readiness: async () => (await unixGet(this.httpSocket, '/stat', 1000)).status === 200,
      readyTimeoutMs: 10_000,
      // SIGQUIT: graceful; worker_shutdown_timeout bounds it, the supervisor's SIGKILL backs it.
      stopSignal: 'SIGQUIT',
      stopTimeoutMs: 5000,
      backoff: { initialMs: 300, maxMs: 10_000, resetAfterMs: 30_000 },
      // After the ffmpeg tasks, which may still flush to it; before Redis, which its hook reaches.
      stopOrder: STOP_ORDER.server,
      onReady: () => this.notify(true),
      onExit: () => {
        this.cleanUpAfterMaster();
        this.notify(false);
      },
    });
    this.child.start();
  }

  async stop(): Promise<void> {
    await this.child?.stop();
  }

  /** Waits until the engine answers (tests and boot ordering). */
  async waitReady(timeoutMs = 15_000): Promise<void> {
    await this.child?.waitReady(timeoutMs);
  }

  /**
   * Callers at the same moment share one read of /stat, and one taken less than STAT_SHARE_MS ago
   * is reused: every admitted publish polls it (untilPublishing) and the document grows with the
   * streams and players, so reading it once per caller cost a loaded stack most of a core
   * (bench:load, 50 streams: 39 % of the event loop in parsing; docs/architecture.md, "The media engine").
   */
  streams(): Promise<EngineStream[]> {
    const now = Date.now();
    if (this.statRead && (this.statRead.pending || now - this.statRead.at < STAT_SHARE_MS)) return this.statRead.streams;
    const read = { at: now, pending: true, streams: this.readStreams() };
    this.statRead = read;
    read.streams.then(
      () => ((read.pending = false), (read.at = Date.now())),
      () => this.statRead === read && (this.statRead = null),
    );
    return read.streams;
  }

  private async readStreams(): Promise<EngineStream[]> {
    const res = await unixGet(this.httpSocket, '/stat');
    if (res.status !== 200) throw new Error(`engine /stat answered ${res.status}`);
    return parseRtmpStat(res.body).filter((s) => (this.apps as readonly string[]).includes(s.app));
  }

  async kickoff(app: string, stream: string): Promise<boolean> {
    const query = new URLSearchParams({ app, name: stream }).toString();
    const res = await unixGet(this.httpSocket, `/control/drop/publisher?${query}`);
    if (res.status >= 300 && res.status !== 404) throw new Error(`engine /control answered ${res.status}`);
    return res.status === 200 && Number(res.body.trim()) > 0;
  }

  decodeHook(request: EngineHookRequest): EngineHookEvent {
    const token = request.query.engine;
    if (typeof token !== 'string' || !secretsEqual(token, this.hookToken))
      throw new ForbiddenError('only the media engine may call this hook');
    if (!/^application\/x-www-form-urlencoded\b/i.test(request.contentType)) {
      throw new ValidationError(`the engine hook takes nginx-rtmp's form body, not ${request.contentType || 'no content type'}`);
    }
    return parseNginxCallback(request.rawBody);
  }

  async untilPublishing(app: string, stream: string, timeoutMs: number, giveUp: () => boolean = () => false): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    // Waits before the first read: the engine lists a publish only once the hook's answer reached
    // it, and the registry asks while that answer is still being made. A read at once would be
    // wasted, and would put a /stat request in nginx's worker ahead of the answer the publisher
    // waits for (docs/architecture.md, "How a publish flows").
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, PUBLISHING_POLL_MS));
      if (!this.isReady || giveUp()) return false;
      const streams = await this.streams().catch(() => [] as EngineStream[]);
      if (streams.some((s) => s.app === app && s.stream === stream && s.publishing)) return true;
      if (Date.now() >= deadline) return false;
    }
  }

  localPlayUrl(app: string, stream: string): string {
    return loopbackRtmpUrl(this.opts.rtmpPort, app, stream);
  }

  private notify(ready: boolean): void {
    for (const listener of this.listeners) {
      try {
        listener(ready);
      } catch (err) {
        log.error('engine state listener failed', err);
      }
    }
  }

  private async locateModule(): Promise<string | null> {
    const bin = this.opts.nginxBinary;
    const howToFix = 'install nginx and libnginx-mod-rtmp or set NGINX_BIN';
    let versionOutput: string;
    try {
      // nginx prints -V on stderr; stdout too in case a build differs.
      const res = await runOnce(bin, ['-V'], {
        timeoutMs: NGINX_CHECK_TIMEOUT_MS,
        stdoutLimit: NGINX_VERSION_OUTPUT_CHARS,
        stderrTail: NGINX_VERSION_OUTPUT_CHARS,
      });
      if (res.code !== 0) {
        const detail = res.stderr.split('\n').at(-1) ?? '';
        throw new Error(`${describeExit(res, NGINX_CHECK_TIMEOUT_MS)}${detail ? `: ${detail}` : ''}`);
      }
      versionOutput = `${res.stdout}${res.stderr}`;
    } catch (err) {
      throw new Error(`cannot run ${bin} -V: ${(err as Error).message}; ${howToFix}`, { cause: err });
    }
    const found = findRtmpModule(this.opts.rtmpModule, versionOutput, (f) => fs.existsSync(f));
    if ('error' in found) throw new Error(found.error);
    return found.path;
  }

  private async testConfig(): Promise<void> {
    const args = ['-t', '-q', '-c', this.configFile, '-p', `${this.opts.prefix}${path.sep}`];
    const refused = (why: string, cause?: unknown) =>
      new Error(`the generated engine config ${this.configFile} is refused by nginx: ${why}`, { cause });
    let res: RunOnceResult;
    try {
      res = await runOnce(this.opts.nginxBinary, args, { timeoutMs: NGINX_CHECK_TIMEOUT_MS });
    } catch (err) {
      throw refused((err as Error).message, err);
    }
    if (res.code !== 0) throw refused(res.stderr || describeExit(res, NGINX_CHECK_TIMEOUT_MS));
  }

  /**
   * A master killed with -9 leaves its worker and cache manager running, still holding the RTMP
   * port and the socket: the restarted master could never bind. They share the master's process
   * group (the supervisor spawns it detached), whose id nginx wrote to its pid file: the reaper
   * kills what is left of it.
   */
  private cleanUpAfterMaster(): void {
    const pidFile = path.join(this.opts.prefix, 'nginx.pid');
    let pgid = 0;
    try {
      pgid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    } catch {
      /* clean exit: nginx removed it */
    }
    killGroupLeftovers(pgid, this.opts.nginxBinary);
    fs.rmSync(pidFile, { force: true });
    fs.rmSync(this.httpSocket, { force: true });
  }
}
