// Real media for the restream tests: a second nginx-rtmp as destination (and, before a test
// publishes into the stack itself, as source), small generated files, a looping publisher, ffprobe
// and a reader that measures how much media a URL delivers.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, tempDir, type StackHandle } from './stack.js';

const run = promisify(execFile);

export interface RtmpServer {
  port: number;
  url(app: string, stream: string): string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** nginx with only the RTMP module, on loopback, in its own temp prefix. */
export async function startRtmpServer(port?: number): Promise<RtmpServer> {
  const dir = tempDir('restream-rtmp-');
  const listen = port ?? (await freePort());
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    [
      'load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;',
      'daemon off;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 256; }',
      `rtmp { server { listen 127.0.0.1:${listen}; chunk_size 4096; application live { live on; } } }`,
    ].join('\n'),
  );
  let proc: ChildProcess | null = null;
  const server: RtmpServer = {
    port: listen,
    url: (app, stream) => `rtmp://127.0.0.1:${listen}/${app}/${stream}`,
    async start() {
      const p = spawn('nginx', ['-c', conf, '-p', dir, '-e', `${dir}/error.log`], { stdio: 'ignore' });
      proc = p;
      // Listening when a TCP connect succeeds; a bind failure exits at once.
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

async function canConnect(port: number): Promise<boolean> {
  const net = await import('node:net');
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
  /** Video bitrate in Kbps (x264 is asked for it as a CBR-ish target). */
  videoKbps?: number;
  audio?: boolean;
  video?: boolean;
  size?: string;
  fps?: number;
  /** Audio channels of the generated tone. */
  channels?: number;
  format?: 'mp4' | 'flv';
}

/** A small H.264/AAC file with a 1 s GOP, so players and probes start fast. */
export async function makeMedia(file: string, o: MediaOptions): Promise<string> {
  const fps = o.fps ?? 15;
  const args = ['-hide_banner', '-loglevel', 'error', '-y'];
  if (o.video !== false) args.push('-f', 'lavfi', '-i', `testsrc=size=${o.size ?? '320x240'}:rate=${fps}:duration=${o.seconds}`);
  if (o.audio !== false) {
    const layout = (o.channels ?? 2) === 1 ? 'mono' : 'stereo';
    args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${o.seconds}`, '-ac', String(o.channels ?? 2));
    args.push('-channel_layout', layout);
  }
  if (o.video !== false) {
    const kbps = o.videoKbps ?? 300;
    args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(fps), '-pix_fmt', 'yuv420p');
    args.push('-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`);
    // Pad so a high target bitrate is really reached by the trivial test picture.
    if (kbps > 1000) args.push('-x264-params', 'nal-hrd=cbr:force-cfr=1');
  }
  if (o.audio !== false) args.push('-c:a', 'aac', '-b:a', '64k');
  args.push('-f', o.format ?? 'mp4', file);
  await run('ffmpeg', args);
  return file;
}

export interface Publisher {
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Publishes a file in a loop, in real time, copy codec: like OBS, at almost no CPU. */
export function publishLoop(file: string, url: string): Publisher {
  const proc = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', url],
    {
      stdio: 'ignore',
    },
  );
  return {
    proc,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await gone;
    },
  };
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  channels?: number;
  sample_rate?: string;
  width?: number;
  height?: number;
}

/** ffprobe of a live URL: its streams, or an error when nothing arrives within the timeout. */
export async function probeStreams(url: string, timeoutMs = 10_000): Promise<ProbedStream[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', url], {
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  return (JSON.parse(stdout) as { streams: ProbedStream[] }).streams;
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

/** Until the engine lands in this branch: register a live stream the way the engine does. */
export async function withStackRedis<T>(stack: StackHandle, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const conf = fs.readFileSync(path.join(stack.dataDir, 'redis', 'redis.conf'), 'utf8');
  const socket = /^unixsocket (.+)$/m.exec(conf)?.[1];
  if (!socket) throw new Error('no unixsocket in redis.conf');
  const redis = new Redis({ path: socket, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

export async function registerActiveStream(stack: StackHandle, app: string, stream: string): Promise<void> {
  await withStackRedis(stack, (r) =>
    r.hset(
      'SRS_STREAM_ACTIVE',
      `${app}/${stream}`,
      JSON.stringify({ vhost: '__defaultVhost__', app, stream, param: '', update: new Date().toISOString() }),
    ),
  );
}
