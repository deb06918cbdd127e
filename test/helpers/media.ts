// Real media for tests and benches: ffmpeg publishes a generated test pattern with a tone (h264/aac,
// 1 s GOP) or loops a sample FLV encoded once per machine (a copy: almost no CPU, any bitrate);
// ffprobe reads what the stack serves; an HTTP-FLV reader parses what it receives.
// Argument arrays only, never a shell.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FlvParser, type FlvHeader, type FlvTag } from '../../server/engine/flv/flv-tags.js';

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

/** ffmpeg arguments for a generated h264/aac RTMP publish of `seconds` (0: until stopped). */
export function testPublishArgs(url: string, seconds: number): string[] {
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
    '25',
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

export function publish(url: string, seconds = 0): Publisher {
  return spawnPublisher(testPublishArgs(url, seconds));
}

/** Publishes a file in a loop at real-time speed, without re-encoding. */
export function publishFile(url: string, file: string): Publisher {
  return spawnPublisher(['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', url]);
}

function spawnPublisher(args: string[]): Publisher {
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
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }>;
  format: { duration?: string; format_name?: string };
}

export async function ffprobe(url: string, timeoutMs = 20_000): Promise<Probe> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height:format=duration,format_name', '-of', 'json', url],
    {
      timeout: timeoutMs,
    },
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
