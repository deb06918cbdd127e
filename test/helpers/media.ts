// Real media for tests and benches: ffmpeg publishes a generated test pattern with a tone (h264/aac,
// 1 s GOP) or loops a sample FLV encoded once per machine (a copy: almost no CPU, any bitrate);
// ffprobe reads what the stack serves; an HTTP-FLV reader parses what it receives; a second
// nginx-rtmp serves as a restream destination.
// Argument arrays only, never a shell.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { freePort, ROOT, tempDir } from './stack.js';
import { FlvParser, type FlvHeader, type FlvTag } from '../../server/core/media/flv-tags.js';
import { createSelfSignedCertificate } from '../../server/features/https/certificate.js';
import { outputFormatArgs } from '../../server/core/ffmpeg/argv.js';

const run = promisify(execFile);

export interface SampleSpec {
  /** Total video bitrate in Kbps (audio adds 64). */
  videoKbps: number;
  seconds: number;
  gopSeconds: number;
  width: number;
  height: number;
  fps: number;
}

export const DEFAULT_SAMPLE: SampleSpec = { videoKbps: 1000, seconds: 10, gopSeconds: 1, width: 640, height: 360, fps: 25 };

/** H.264 + AAC FLV with a fixed GOP, cached under the temp dir by its parameters. */
export async function sampleFlv(spec: Partial<SampleSpec> = {}): Promise<string> {
  const s = { ...DEFAULT_SAMPLE, ...spec };
  const dir = path.join(os.tmpdir(), 'srs-stack-media');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `sample-${s.width}x${s.height}-${s.fps}fps-${s.videoKbps}k-g${s.gopSeconds}-${s.seconds}s.flv`);
  if (fs.existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp.flv`;
  const gop = String(Math.round(s.gopSeconds * s.fps));
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=size=${s.width}x${s.height}:rate=${s.fps}`],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
    ...['-t', String(s.seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'],
    ...['-b:v', `${s.videoKbps}k`, '-maxrate', `${s.videoKbps}k`, '-bufsize', `${s.videoKbps * 2}k`],
    ...['-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '64k', '-shortest', '-f', 'flv', tmp],
  ]);
  fs.renameSync(tmp, file);
  return file;
}

export interface Publisher {
  proc: ChildProcess;
  /** Resolves with the exit code when ffmpeg ends, however it ends. */
  exited: Promise<number | null>;
  stderr: () => string;
  running: () => boolean;
  stop: () => Promise<void>;
}

/**
 * ffmpeg arguments for a generated h264/aac RTMP publish of `seconds` (0: until stopped), 25 fps,
 * a keyframe every `gop` frames exactly (the first frame is one).
 */
export function testPublishArgs(url: string, seconds: number, gop = 25): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-re',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=25',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=44100',
    ...(seconds > 0 ? ['-t', String(seconds)] : []),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-f',
    'flv',
    url,
  ];
}

export function publish(url: string, seconds = 0, gop = 25): Publisher {
  return spawnFfmpeg(testPublishArgs(url, seconds, gop));
}

/** Publishes a file in a loop at real-time speed, without re-encoding: FLV over RTMP, MPEG-TS over SRT. */
export function publishFile(url: string, file: string): Publisher {
  const args = ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy'];
  return spawnFfmpeg([...args, ...outputFormatArgs(url), url]);
}

export interface ReconnectingPublisher {
  /** How many times ffmpeg was (re)started. */
  readonly attempts: number;
  current(): Publisher;
  stop(): Promise<void>;
}

/** Loops a file like OBS with auto-reconnect: whenever the connection drops, publish again after a pause. */
export function keepPublishingFile(url: string, file: string, retryMs = 1000): ReconnectingPublisher {
  let stopped = false;
  let attempts = 0;
  let publisher: Publisher;
  const launch = () => {
    attempts += 1;
    publisher = publishFile(url, file);
    void publisher.exited.then(() => {
      if (!stopped) setTimeout(() => !stopped && launch(), retryMs);
    });
  };
  launch();
  return {
    get attempts() {
      return attempts;
    },
    current: () => publisher,
    async stop() {
      stopped = true;
      await publisher.stop();
    },
  };
}

/** Any ffmpeg run (argv after `ffmpeg`), with its exit code and stderr; stop() kills it. */
export function spawnFfmpeg(args: string[]): Publisher {
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr += d));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  return {
    proc,
    exited,
    stderr: () => stderr,
    running: () => !done,
    async stop() {
      if (!done) proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface Probe {
  streams: Array<{ codec_type: string; codec_name: string; channels?: number; sample_rate?: string; width?: number; height?: number }>;
  format: { duration?: string; format_name?: string };
}

export async function ffprobe(url: string, timeoutMs = 20_000): Promise<Probe> {
  const { stdout } = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_type,codec_name,channels,sample_rate,width,height:format=duration,format_name',
      '-of',
      'json',
      url,
    ],
    { timeout: timeoutMs, killSignal: 'SIGKILL' },
  );
  return JSON.parse(stdout) as Probe;
}

/** Sends raw bytes to a TCP port and closes; resolves whatever the peer does. */
export function sendRaw(port: number, bytes: Buffer, holdMs = 50): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(bytes);
      setTimeout(() => socket.destroy(), holdMs);
    });
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}

/** An HTTP-FLV player that parses the tags it receives; it can pause like a stalled client. */
export class FlvReader {
  readonly tags: FlvTag[] = [];
  header: FlvHeader | null = null;
  bytes = 0;
  status = 0;
  firstByteMs = -1;
  ended = false;
  error: Error | null = null;
  private res: http.IncomingMessage | null = null;
  private req!: http.ClientRequest;
  private readonly parser = new FlvParser();
  private readonly startedAt = Date.now();
  readonly done: Promise<void>;
  /** Response head received (or the request failed). */
  readonly answered: Promise<void>;

  constructor(
    readonly url: string,
    private readonly opts: { keepTags?: boolean; stalled?: boolean } = {},
  ) {
    let answered!: () => void;
    this.answered = new Promise((resolve) => (answered = resolve));
    this.done = new Promise((resolve) => {
      this.req = http.get(url, { agent: false }, (res) => {
        this.res = res;
        this.status = res.statusCode ?? 0;
        answered();
        // A stalled player never reads: its socket buffers stay at their initial, small size.
        if (opts.stalled) res.pause();
        res.on('data', (chunk: Buffer) => this.onData(chunk));
        res.on('end', () => {
          this.ended = true;
          resolve();
        });
        res.on('error', (err) => {
          this.error = err;
          resolve();
        });
        res.on('close', () => resolve());
      });
      this.req.on('error', (err) => {
        this.error = err;
        answered();
        resolve();
      });
    });
  }

  get elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Stop reading: the socket's buffers fill up and the server sees a stalled player. */
  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.req.destroy();
  }

  get videoTags(): FlvTag[] {
    return this.tags.filter((t) => t.kind === 'video');
  }

  private onData(chunk: Buffer): void {
    if (this.firstByteMs < 0) this.firstByteMs = this.elapsedMs;
    this.bytes += chunk.length;
    if (this.status !== 200) return;
    const tags = this.parser.push(chunk);
    this.header = this.parser.header;
    if (this.opts.keepTags !== false) for (const t of tags) this.tags.push({ ...t, bytes: Buffer.alloc(0) });
  }
}

export interface RtmpServer {
  port: number;
  /** With `record`: every publish's FLV, one file per connection (record_unique). */
  recordDir: string;
  url(app: string, stream: string): string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A plain nginx-rtmp on loopback in its own temp prefix: a restream destination or a camera. With
 * `record`, it records every publish to its own file, so a reconnect shows as a second file.
 * `refusePublish`: it takes the connection and drops every publish, as a platform does with a wrong key.
 */
export async function startRtmpServer(port?: number, opts: { record?: boolean; refusePublish?: boolean } = {}): Promise<RtmpServer> {
  const dir = tempDir('restream-rtmp-');
  const listen = port ?? (await freePort());
  const recordDir = path.join(dir, 'rec');
  fs.mkdirSync(recordDir, { recursive: true });
  const recording = opts.record ? ` record all; record_path ${recordDir}; record_unique on;` : '';
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    [
      'load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;',
      'daemon off;',
      // As root, nginx's workers would run as nobody, who cannot write the recordings in our temp folder.
      process.getuid?.() === 0 ? 'user root;' : '',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 256; }',
      `rtmp { server { listen 127.0.0.1:${listen}; chunk_size 4096; application live { live on;${recording}${opts.refusePublish ? ' deny publish all;' : ''} } } }`,
    ].join('\n'),
  );
  let proc: ChildProcess | null = null;
  const server: RtmpServer = {
    port: listen,
    recordDir,
    url: (app, stream) => `rtmp://127.0.0.1:${listen}/${app}/${stream}`,
    async start() {
      const p = spawn('nginx', ['-c', conf, '-p', dir, '-e', `${dir}/error.log`], { stdio: 'ignore' });
      proc = p;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        if (p.exitCode !== null) throw new Error(`nginx-rtmp exited: ${fs.readFileSync(`${dir}/error.log`, 'utf8')}`);
        if (await canConnect(listen)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('nginx-rtmp did not listen within 5 s');
    },
    async stop() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null) return;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await gone;
    },
  };
  await server.start();
  return server;
}

export interface RtspCamera {
  /** The URL as a user pastes it from the camera's manual: the password raw, not escaped. */
  url: string;
  stop(): Promise<void>;
}

const RTSP_CAMERA = path.join(ROOT, 'test', 'fixtures', 'rtsp-camera', 'rtsp-camera.py');

/**
 * An IP camera: GStreamer's RTSP server (Debian's python3-gi + gir1.2-gst-rtsp-server-1.0) playing
 * `file` (FLV, H.264 and optionally AAC) in real time to each client that logs in as `user`.
 * Debian's own python3: the GStreamer bindings are Debian packages.
 */
export async function startRtspCamera(file: string, o: { user: string; password: string; audio: boolean }): Promise<RtspCamera> {
  const port = await freePort();
  const args = [RTSP_CAMERA, String(port), '/stream1', file, o.user, o.password, ...(o.audio ? ['audio'] : [])];
  const proc = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!output.includes('ready')) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`the RTSP camera did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `rtsp://${o.user}:${o.password}@127.0.0.1:${port}/stream1`,
    async stop() {
      if (proc.exitCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    },
  };
}

export interface ThrottledFileServer {
  /** `http://127.0.0.1:<port>/<name>`: the file, sent at `rate` times its own bitrate. */
  url(name: string): string;
  stop(): Promise<void>;
}

/**
 * A misbehaving HTTP source: serves a media file at a multiple of real time, like a CDN that bursts
 * a recording (rate > 1) or a link that becomes congested (rate < 1). `rate` may change with the
 * time since the request started. Byte pacing assumes a constant bitrate, which `makeMedia` produces.
 */
export async function serveFileAtRate(
  file: string,
  seconds: number,
  rate: number | ((elapsedMs: number) => number),
): Promise<ThrottledFileServer> {
  const data = fs.readFileSync(file);
  const realTimeBytesPerMs = data.length / (seconds * 1000);
  const rateAt = typeof rate === 'number' ? () => rate : rate;
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': file.endsWith('.mp4') ? 'video/mp4' : 'video/x-flv', 'Content-Length': data.length });
    const start = Date.now();
    let last = start;
    // A first chunk right away: the FLV header and metadata, as any server sends.
    let due = 16 * 1024;
    let sent = 0;
    const timer = setInterval(() => {
      const now = Date.now();
      due += (now - last) * realTimeBytesPerMs * rateAt(now - start);
      last = now;
      const end = Math.min(data.length, Math.floor(due));
      if (end > sent) res.write(data.subarray(sent, end));
      sent = Math.max(sent, end);
      if (sent >= data.length) {
        clearInterval(timer);
        res.end();
      }
    }, 20);
    req.socket.once('close', () => clearInterval(timer));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface SrtRecorder {
  port: number;
  /** Resolves once `seconds` of media were written to the file, or after `timeoutMs`. */
  finished(timeoutMs: number): Promise<void>;
}

/** An SRT destination: an ffmpeg listener that records the first `seconds` it receives to `file`. */
export async function recordSrt(file: string, seconds: number): Promise<SrtRecorder> {
  const port = await freePort();
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-i', `srt://127.0.0.1:${port}?mode=listener`];
  const listener = spawn('ffmpeg', [...args, '-t', String(seconds), '-c', 'copy', file], { stdio: 'ignore' });
  const done = new Promise((r) => listener.once('exit', r));
  return {
    port,
    async finished(timeoutMs) {
      await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs))]);
      listener.kill('SIGKILL');
    },
  };
}

export interface TlsTerminator {
  port: number;
  /** TLS sessions that completed a handshake: proof a client really spoke TLS. */
  handshakes(): number;
  stop(): Promise<void>;
}

/**
 * What an RTMPS platform is on the wire: TLS in front of an RTMP server. Terminates TLS with a
 * self-signed certificate (ffmpeg, like OBS, does not verify it by default) and relays the plain
 * bytes to `targetPort`.
 */
export async function startTlsTerminator(targetPort: number): Promise<TlsTerminator> {
  const { key, crt } = await createSelfSignedCertificate('rtmps.test.local');
  let handshakes = 0;
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key, cert: crt }, (secure) => {
    handshakes += 1;
    const plain = net.connect(targetPort, '127.0.0.1');
    for (const s of [secure, plain]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    secure.pipe(plain).pipe(secure);
    const end = () => {
      secure.destroy();
      plain.destroy();
    };
    secure.once('close', end);
    plain.once('close', end);
  });
  server.on('tlsClientError', () => undefined);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    handshakes: () => handshakes,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface MediaOptions {
  seconds: number;
  /** Video bitrate in Kbps. */
  videoKbps?: number;
  audio?: boolean;
  /** false: an audio-only file (audio must then not be false). */
  video?: boolean;
  size?: string;
  fps?: number;
  format?: 'mp4' | 'flv';
  /** H.265 as phones record it; FLV cannot hold it (before FFmpeg 6.1), so use mp4. */
  videoCodec?: 'h264' | 'h265';
}

/** A small H.264/AAC file with a 1 s GOP, so players and probes start fast. */
export async function makeMedia(file: string, o: MediaOptions): Promise<string> {
  const fps = o.fps ?? 15;
  const kbps = o.videoKbps ?? 300;
  const video = o.video !== false;
  const args = ['-hide_banner', '-loglevel', 'error', '-y'];
  if (video) args.push('-f', 'lavfi', '-i', `testsrc=size=${o.size ?? '320x240'}:rate=${fps}:duration=${o.seconds}`);
  if (o.audio !== false) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${o.seconds}`, '-ac', '2');
  if (!video) {
    // Nothing to encode for the picture.
  } else if (o.videoCodec === 'h265') {
    args.push('-c:v', 'libx265', '-preset', 'ultrafast', '-g', String(fps), '-pix_fmt', 'yuv420p', '-tag:v', 'hvc1');
    args.push('-b:v', `${kbps}k`, '-x265-params', 'log-level=error');
  } else {
    args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(fps), '-pix_fmt', 'yuv420p');
    // CBR with filler: the trivial test picture really reaches the asked bitrate.
    args.push('-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`, '-x264-params', 'nal-hrd=cbr');
  }
  if (o.audio !== false) args.push('-c:a', 'aac', '-b:a', '64k');
  args.push('-f', o.format ?? 'mp4', file);
  await run('ffmpeg', args);
  return file;
}

/** Reads a URL for `seconds` of media (copy, discarded) and returns how many seconds arrived. */
export async function mediaSecondsReceived(url: string, seconds: number, timeoutMs: number): Promise<number> {
  const result = await run(
    'ffmpeg',
    ['-hide_banner', '-nostats', '-progress', 'pipe:1', '-i', url, '-t', String(seconds), '-c', 'copy', '-f', 'null', '-'],
    {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    },
  ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const times = [...result.stdout.matchAll(/out_time_us=(\d+)/g)].map((m) => Number(m[1]) / 1e6);
  return times.length ? Math.max(...times) : 0;
}
