// Short-lived child processes (a remux, a probe): spawned with an argv array (never a shell), killed
// at a deadline or on abort, with a bounded stderr tail for the error message. Long-running children
// belong to the supervisor instead.
import { spawn } from 'node:child_process';
import { maskSecrets } from '../logger.js';

export interface RunOnceOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  cwd?: string;
}

export interface RunOnceResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** The last few KB of stderr, secrets masked. */
  stderr: string;
}

const STDERR_TAIL_BYTES = 4096;

/** Resolves when the process exits; rejects only if it cannot be started (e.g. ENOENT). */
export function runOnce(command: string, args: readonly string[], opts: RunOnceOptions): Promise<RunOnceResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: opts.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });
    const kill = () => child.kill('SIGKILL');
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => {
      cleanup();
      reject(new Error(`cannot run ${command}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      cleanup();
      resolve({ code, signal, timedOut, aborted, stderr: maskSecrets(stderr.trim()) });
    });
  });
}
