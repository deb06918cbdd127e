// Real media for tests and benches: a sample FLV encoded once per machine, an ffmpeg publisher that
// loops it in real time (a copy, so it costs almost no CPU), ffprobe, and an HTTP-FLV reader that
// parses what it receives.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
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
  output: () => string;
  stop(): Promise<void>;
}

/** Publishes a file in a loop at real-time speed. */
export function publish(url: string, file: string): Publisher {
  const proc = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', url],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let output = '';
  proc.stderr?.on('data', (d) => (output = (output + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    output: () => output,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
}

export async function ffprobeStreams(input: string, timeoutMs = 20_000): Promise<ProbedStream[]> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height', '-of', 'json', input],
    {
      timeout: timeoutMs,
    },
  );
  return (JSON.parse(stdout) as { streams: ProbedStream[] }).streams;
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
