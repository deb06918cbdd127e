// Real media for tests: ffmpeg publishes a generated test pattern with a tone (h264/aac, 1 s GOP),
// ffprobe reads what the stack serves. Argument arrays only, never a shell.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

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
  const proc = spawn('ffmpeg', testPublishArgs(url, seconds), { stdio: ['ignore', 'ignore', 'pipe'] });
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
  streams: Array<{ codec_type: string; codec_name: string }>;
  format: { duration?: string; format_name?: string };
}

export async function ffprobe(url: string, timeoutMs = 20_000): Promise<Probe> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name:format=duration,format_name', '-of', 'json', url],
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
