// Short-lived child processes (a probe, `nginx -t`, a remux, a download that may last hours): spawned
// with an argv array, never through a shell, each in a process group of its own so that a deadline
// or an abort kills everything it started (yt-dlp's ffmpeg, a script's background job), with bounded
// capture of both outputs. Long-running children that must be kept up belong to the supervisor.
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { lineSplitter, maskOutput } from './output.js';
import { runSpawnHooks } from './spawn-hooks.js';

export interface RunOnceOptions {
  /** Past this the whole process group is killed and the result says `timedOut`. */
  readonly timeoutMs: number;
  /** Aborting kills the whole process group and the result says `aborted`. */
  readonly signal?: AbortSignal;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Characters of stdout to keep, from its start: a JSON document is of no use without its head.
   * The rest is read and dropped (`stdoutTruncated`). Default 0: stdout is only read for onLine.
   */
  readonly stdoutLimit?: number;
  /** Characters of the end of stderr kept to explain a failure (default 4096). */
  readonly stderrTail?: number;
  /** Every non-blank line of either output as it arrives (progress lines included), unmasked. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Values masked in the stderr tail besides those maskSecrets knows (a stream key in a URL). */
  readonly secrets?: readonly string[];
}

export interface RunOnceResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** stdout up to stdoutLimit, unmasked: it is data for the caller to parse, not a log line. */
  readonly stdout: string;
  /** stdout printed more than was kept (anything at all, without a stdoutLimit). */
  readonly stdoutTruncated: boolean;
  /** The end of stderr, secrets masked. */
  readonly stderr: string;
}

const DEFAULT_STDERR_TAIL = 4096;

/**
 * Runs `command` once and resolves when it and its output are done, whatever the exit: the result
 * tells how it ended. Rejects only when the process cannot be started (ENOENT, EACCES); the error's
 * `cause` is the spawn error, so callers can tell a missing binary apart.
 */
export function runOnce(command: string, args: readonly string[], opts: RunOnceOptions): Promise<RunOnceResult> {
  if (opts.signal?.aborted) {
    return Promise.resolve({ code: null, signal: null, timedOut: false, aborted: true, stdout: '', stdoutTruncated: false, stderr: '' });
  }
  return new Promise((resolve, reject) => {
    runSpawnHooks();
    const child = spawn(command, [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: kill(-pid) then reaches whatever it started, not this server.
      detached: true,
    });
    const stdoutLimit = opts.stdoutLimit ?? 0;
    const stderrTail = opts.stderrTail ?? DEFAULT_STDERR_TAIL;
    let stdout = '';
    let stdoutTruncated = false;
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    let exited = false;
    let settled = false;

    const killGroup = () => {
      const { pid } = child;
      if (pid === undefined) return;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // The group is empty: nothing is left to kill.
      }
    };

    const read = (stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr', keep: (text: string) => void) => {
      const decoder = new StringDecoder('utf8');
      const lines = opts.onLine ? lineSplitter((line) => opts.onLine?.(line, name)) : null;
      stream.on('data', (chunk: Buffer) => {
        const text = decoder.write(chunk);
        keep(text);
        lines?.push(text);
      });
      stream.on('end', () => {
        const text = decoder.end();
        keep(text);
        lines?.push(text);
        lines?.end();
      });
    };
    read(child.stdout, 'stdout', (text) => {
      const room = stdoutLimit - stdout.length;
      if (text.length > room) stdoutTruncated = true;
      if (room > 0) stdout += text.slice(0, room);
    });
    read(child.stderr, 'stderr', (text) => {
      stderr = (stderr + text).slice(-stderrTail);
    });

    const timer = setTimeout(() => {
      if (exited) return;
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    const onAbort = () => {
      if (exited) return;
      aborted = true;
      killGroup();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };

    child.once('error', (err) => {
      // Only a process that never started rejects; a later error (a failed kill) changes nothing.
      if (child.pid !== undefined || settled) return;
      settled = true;
      cleanup();
      reject(new Error(`cannot run ${command}: ${err.message}`, { cause: err }));
    });
    child.once('exit', () => {
      exited = true;
      // A one-shot leaves nothing behind: what it started and did not wait for dies with it (and can
      // then no longer hold the output pipes open, which would keep 'close' from ever coming).
      killGroup();
    });
    child.once('close', (code, signal) => {
      cleanup();
      if (settled) return;
      settled = true;
      resolve({ code, signal, timedOut, aborted, stdout, stdoutTruncated, stderr: maskOutput(stderr.trim(), opts.secrets) });
    });
  });
}

/** How a run ended, for error messages: "timed out after 10 s", "exited with code 1"… */
export function describeExit(res: RunOnceResult, timeoutMs?: number): string {
  if (res.timedOut) return timeoutMs ? `timed out after ${Math.round(timeoutMs / 1000)} s` : 'timed out';
  if (res.aborted) return 'cancelled';
  if (res.signal) return `killed by ${res.signal}`;
  return `exited with code ${res.code}`;
}
