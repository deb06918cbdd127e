// The one child-process supervisor: redis-server, nginx and every ffmpeg task go through it.
// Features hand it a ChildSpec; they never spawn long-running processes themselves.
//
// What it guarantees, per child:
// - start, an optional readiness probe, restart with capped exponential backoff;
// - clean stop (a signal, then SIGKILL after a grace period) that always resolves;
// - a watchdog that kills a child whose progress marker froze (the hung ffmpeg that never exits is
//   the classic bug of this field) or that a feature-level check declares unhealthy;
// - pid files under runDir so a stack that was killed with -9 reaps its orphans at the next boot;
// - a bounded, secret-masked tail of the child's output and its live state for the API.
// It knows no child by name: whoever adds one says, in its spec, when it stops (`stopOrder`).
// The decisions (restart or not, how long to wait, when the watchdog kills) are pure functions in
// policy.ts; the reaping of leftovers is reaper.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { createLogger } from '../logger.js';
import { lineSplitter, maskOutput } from './output.js';
import {
  afterExit,
  DEFAULT_BACKOFF,
  DEFAULT_READY_TIMEOUT_MS,
  needsWatchdog,
  planRestart,
  readyTimedOut,
  watchdogVerdict,
  type BackoffPolicy,
  type RestartPolicy,
} from './policy.js';
import { reapStalePids, writePidFile } from './reaper.js';
import { runSpawnHooks } from './spawn-hooks.js';

const log = createLogger('supervisor');

export type ChildStatus = 'stopped' | 'starting' | 'ready' | 'backoff' | 'failed';

export interface ChildSpec {
  /** Unique name, also the pid-file name: `redis`, `nginx`, `forward-wx`… */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Polled after spawn until it resolves true; without it (and without `progress`) spawn = ready. */
  readonly readiness?: () => Promise<boolean>;
  readonly readyTimeoutMs?: number;
  readonly stopSignal?: NodeJS.Signals;
  readonly stopTimeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  /** `always` restarts on any exit; `on-failure` not after exit code 0; `never` runs once. */
  readonly restart?: RestartPolicy;
  /**
   * When Supervisor.stop() stops this child: lower first, children of one order in parallel.
   * Default STOP_ORDER.task; a child others write to stops after them (see STOP_ORDER).
   */
  readonly stopOrder?: number;
  /** Extracts a progress marker from an output line (ffmpeg: the `time=` value); null if none. */
  readonly progress?: (line: string) => string | null;
  /** Kill and restart when the progress marker has not changed for this long. */
  readonly stallTimeoutMs?: number;
  /** Allowed time from spawn to the first progress marker (defaults to 3 × stallTimeoutMs). */
  readonly firstProgressTimeoutMs?: number;
  /** Feature-level health check on every output line; return a reason to kill and restart. */
  readonly onLine?: (line: string) => string | null | void;
  /**
   * Takes each spawned process's stdout as raw bytes (media on a pipe) instead of reading it as
   * lines; called once per spawn, so data of a previous process is never mixed with the next.
   */
  readonly stdout?: (stream: NodeJS.ReadableStream) => void;
  /**
   * Feeds each spawned process's stdin (media into ffmpeg's `pipe:0`); called once per spawn with
   * that process's pipe, whose write errors (the process exited) are absorbed here.
   */
  readonly stdin?: (stream: Writable) => void;
  /** Planned restart: kill the child after it ran this long (the restart policy brings it back). */
  readonly maxRunMs?: number;
  /** Values (stream keys, passwords in URLs) masked in the logged argv, the state and the tail. */
  readonly secrets?: readonly string[];
  /** Picks the line that explains a failed exit from the tail (default: the last line). */
  readonly errorLine?: (tail: readonly string[]) => string | undefined;
  readonly onSpawn?: (pid: number) => void;
  readonly onExit?: (exit: ExitInfo) => void;
  readonly onReady?: () => void;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: string;
  readonly reason: string;
}

export interface ChildState {
  name: string;
  command: string;
  argv: string[];
  status: ChildStatus;
  desired: 'running' | 'stopped';
  pid: number | null;
  startedAt: string | null;
  readyAt: string | null;
  restarts: number;
  lastExit: ExitInfo | null;
  lastError: string | null;
  lastProgress: { line: string; marker: string; at: string } | null;
  nextRestartAt: string | null;
  tail: string[];
}

/**
 * Stop orders for ChildSpec.stopOrder. Tasks (ffmpeg) stop first: they may still flush to the
 * servers they feed (the media engine), which stop next; the store every part writes to (Redis)
 * stops last.
 */
export const STOP_ORDER = { task: 0, server: 1, store: 2 } as const;

const TAIL_LINES = 60;
const TAIL_LINE_CHARS = 400;
const WATCHDOG_INTERVAL_MS = 1000;

export class SupervisedChild {
  private proc: ChildProcess | null = null;
  private desired: 'running' | 'stopped' = 'stopped';
  private status: ChildStatus = 'stopped';
  private startedAtMs = 0;
  private readyAtMs = 0;
  private restarts = 0;
  private consecutiveFailures = 0;
  private lastExit: ExitInfo | null = null;
  private lastError: string | null = null;
  private lastProgress: { line: string; marker: string; atMs: number } | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private nextRestartAtMs = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private killReason: string | null = null;
  private tail: string[] = [];
  /** Lines the current run added to the tail: a failure is explained by its own run's output. */
  private runLines = 0;
  private exitWaiters: Array<() => void> = [];
  private readyWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(
    readonly spec: ChildSpec,
    private readonly pidFile: string,
  ) {}

  get state(): ChildState {
    const iso = (ms: number) => (ms ? new Date(ms).toISOString() : null);
    return {
      name: this.spec.name,
      command: this.spec.command,
      argv: this.spec.args.map((a) => this.mask(a)),
      status: this.status,
      desired: this.desired,
      pid: this.proc?.pid ?? null,
      startedAt: this.proc ? iso(this.startedAtMs) : null,
      readyAt: this.proc ? iso(this.readyAtMs) : null,
      restarts: this.restarts,
      lastExit: this.lastExit,
      lastError: this.lastError,
      lastProgress: this.lastProgress
        ? { line: this.lastProgress.line, marker: this.lastProgress.marker, at: iso(this.lastProgress.atMs) as string }
        : null,
      nextRestartAt: this.status === 'backoff' ? iso(this.nextRestartAtMs) : null,
      tail: [...this.tail],
    };
  }

  private mask(text: string): string {
    return maskOutput(text, this.spec.secrets);
  }

  get isRunning(): boolean {
    return this.proc !== null;
  }

  /** Sets the desired state to running and spawns now (a pending backoff is skipped). */
  start(): void {
    this.desired = 'running';
    this.clearRestartTimer();
    if (!this.proc) this.spawnNow();
  }

  /** Resolves when the child is ready; rejects after timeoutMs or when it is stopped. */
  waitReady(timeoutMs: number): Promise<void> {
    if (this.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
        reject(new Error(`${this.spec.name} not ready after ${timeoutMs} ms: ${this.lastError ?? this.tail.at(-1) ?? 'no output'}`));
      }, timeoutMs);
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.readyWaiters.push(waiter);
    });
  }

  /** Kills the current process (it will be restarted with backoff while desired is running). */
  kill(reason: string): void {
    if (!this.proc) return;
    this.killReason = reason;
    this.lastError = reason;
    log.warn(`${this.spec.name}: killing pid ${this.proc.pid}: ${reason}`);
    this.signal('SIGKILL');
  }

  /** Restart now, e.g. after a config change. */
  async restart(reason: string): Promise<void> {
    this.desired = 'running';
    this.consecutiveFailures = 0;
    if (this.proc) {
      this.killReason = reason;
      await this.terminate();
    }
    this.clearRestartTimer();
    if (this.desired === 'running' && !this.proc) this.spawnNow();
  }

  /** Sets the desired state to stopped and waits for the process to be gone. Never rejects. */
  async stop(): Promise<void> {
    this.desired = 'stopped';
    this.clearRestartTimer();
    if (this.proc) {
      this.killReason = 'stopped';
      await this.terminate();
    }
    this.status = 'stopped';
    for (const w of this.readyWaiters.splice(0)) w.reject(new Error(`${this.spec.name} was stopped`));
  }

  private terminate(): Promise<void> {
    const gone = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.signal(this.spec.stopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => {
      log.warn(`${this.spec.name}: did not stop within ${this.spec.stopTimeoutMs ?? 5000} ms, sending SIGKILL`);
      this.signal('SIGKILL');
    }, this.spec.stopTimeoutMs ?? 5000);
    return gone.finally(() => clearTimeout(timer));
  }

  private signal(sig: NodeJS.Signals): void {
    const pid = this.proc?.pid;
    if (!pid) return;
    try {
      // Children run in their own process group (detached), so signal the group.
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  }

  private spawnNow(): void {
    const { spec } = this;
    this.status = 'starting';
    this.startedAtMs = Date.now();
    this.readyAtMs = 0;
    this.lastProgress = null;
    this.killReason = null;
    this.runLines = 0;
    let proc: ChildProcess;
    try {
      runSpawnHooks();
      proc = spawn(spec.command, [...spec.args], {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      this.onSpawnFailure((err as Error).message);
      return;
    }
    this.proc = proc;
    proc.on('error', (err) => {
      // ENOENT and friends: 'exit' may not follow, so handle it here once.
      if (this.proc === proc && proc.pid === undefined) {
        this.proc = null;
        this.onSpawnFailure(err.message);
      } else {
        this.lastError = err.message;
      }
    });
    if (proc.pid === undefined) return; // the 'error' handler takes over
    this.writePidFile(proc.pid);
    if (spec.stdin && proc.stdin) {
      // EPIPE once the process is gone: its exit is what reports it.
      proc.stdin.on('error', () => undefined);
      spec.stdin(proc.stdin);
    }
    if (spec.stdout && proc.stdout) spec.stdout(proc.stdout);
    else this.pipeLines(proc.stdout);
    this.pipeLines(proc.stderr);
    proc.on('exit', (code, signal) => this.onExit(proc, code, signal));
    log.info(`${spec.name}: started pid ${proc.pid}: ${this.mask([spec.command, ...spec.args].join(' '))}`);
    try {
      spec.onSpawn?.(proc.pid);
    } catch (err) {
      log.error(`${spec.name}: onSpawn handler failed`, err);
    }
    this.startWatchdog();
    if (spec.readiness) void this.pollReadiness(proc);
    else if (!spec.progress) this.markReady();
  }

  private onSpawnFailure(message: string): void {
    this.lastError = `cannot start ${this.spec.command}: ${message}`;
    log.error(`${this.spec.name}: ${this.lastError}`);
    this.lastExit = { code: null, signal: null, at: new Date().toISOString(), reason: this.lastError };
    this.scheduleRestart(null);
  }

  private async pollReadiness(proc: ChildProcess): Promise<void> {
    const readyTimeoutMs = this.spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    while (this.proc === proc && this.status === 'starting') {
      let ok: boolean;
      try {
        ok = await (this.spec.readiness as () => Promise<boolean>)();
      } catch {
        ok = false;
      }
      if (this.proc !== proc) return;
      if (ok) {
        this.markReady();
        return;
      }
      if (readyTimedOut(Date.now(), this.startedAtMs, readyTimeoutMs)) {
        this.kill(`not ready within ${readyTimeoutMs} ms`);
        return;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  private markReady(): void {
    if (this.status === 'ready') return;
    this.status = 'ready';
    this.readyAtMs = Date.now();
    for (const w of this.readyWaiters.splice(0)) w.resolve();
    try {
      this.spec.onReady?.();
    } catch (err) {
      log.error(`${this.spec.name}: onReady handler failed`, err);
    }
  }

  private pipeLines(stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    const lines = lineSplitter((line) => this.onLine(line));
    stream.setEncoding('utf8');
    // No flush of an unterminated last line at the end: it could arrive after the next run started
    // and be taken for that run's output (a progress marker, a reason to fail).
    stream.on('data', (chunk: string) => lines.push(chunk));
  }

  private onLine(rawLine: string): void {
    const line = this.mask(rawLine.length > TAIL_LINE_CHARS ? `${rawLine.slice(0, TAIL_LINE_CHARS)}…` : rawLine);
    this.tail.push(line);
    this.runLines += 1;
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    const marker = this.spec.progress?.(rawLine);
    if (marker) {
      if (!this.lastProgress || this.lastProgress.marker !== marker) {
        this.lastProgress = { line, marker, atMs: Date.now() };
        if (this.status === 'starting' && !this.spec.readiness) this.markReady();
      }
    }
    try {
      const unhealthy = this.spec.onLine?.(rawLine);
      if (unhealthy) this.kill(unhealthy);
    } catch (err) {
      log.error(`${this.spec.name}: onLine handler failed`, err);
    }
  }

  private startWatchdog(): void {
    this.stopWatchdog();
    if (!needsWatchdog(this.spec)) return;
    this.watchdog = setInterval(() => {
      if (!this.proc) return;
      const reason = watchdogVerdict(this.spec, { now: Date.now(), startedAtMs: this.startedAtMs, lastProgress: this.lastProgress });
      if (reason) this.kill(reason);
    }, WATCHDOG_INTERVAL_MS);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  private onExit(proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.proc !== proc) return;
    this.proc = null;
    this.stopWatchdog();
    this.removePidFile();
    const ranMs = Date.now() - this.startedAtMs;
    const reason = this.killReason ?? (code === 0 ? 'exited' : `exited with ${signal ?? `code ${code}`}`);
    const exit: ExitInfo = { code, signal, at: new Date().toISOString(), reason };
    this.lastExit = exit;
    if (!this.killReason && code !== 0) {
      const ownLines = this.runLines > 0 ? this.tail.slice(-this.runLines) : [];
      const why = this.spec.errorLine?.(ownLines) ?? ownLines.at(-1);
      this.lastError = `${reason}: ${why ?? 'no output'}`;
    }
    const facts = { desired: this.desired, policy: this.spec.restart ?? 'always', code, killedBySupervisor: this.killReason !== null };
    // A child whose policy lets it end (a record's MP4 writer at the record's end) is no warning.
    const level = this.desired === 'stopped' || (code === 0 && afterExit(facts) === 'stopped') ? 'info' : 'warn';
    log[level](`${this.spec.name}: pid ${proc.pid} ${reason} after ${ranMs} ms`);
    for (const w of this.exitWaiters.splice(0)) w();
    try {
      this.spec.onExit?.(exit);
    } catch (err) {
      log.error(`${this.spec.name}: onExit handler failed`, err);
    }
    // Decided after onExit, which may have stopped the child.
    const outcome = afterExit({ ...facts, desired: this.desired });
    if (outcome !== 'restart') {
      this.desired = 'stopped';
      this.status = outcome;
      return;
    }
    this.scheduleRestart(ranMs);
  }

  /** `ranMs`: how long the run that ended lasted; null when the process could not start. */
  private scheduleRestart(ranMs: number | null): void {
    if (this.desired !== 'running') {
      this.status = 'stopped';
      return;
    }
    const plan = planRestart(this.consecutiveFailures, ranMs, this.spec.backoff ?? DEFAULT_BACKOFF);
    const delay = plan.delayMs;
    this.consecutiveFailures = plan.consecutiveFailures;
    this.status = 'backoff';
    this.nextRestartAtMs = Date.now() + delay;
    this.clearRestartTimer();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.desired === 'running' && !this.proc) {
        this.restarts += 1;
        this.spawnNow();
      }
    }, delay);
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  private writePidFile(pid: number): void {
    try {
      writePidFile(this.pidFile, pid, this.spec.command);
    } catch (err) {
      log.warn(`${this.spec.name}: cannot write pid file ${this.pidFile}`, err);
    }
  }

  private removePidFile(): void {
    fs.rmSync(this.pidFile, { force: true });
  }
}

export class Supervisor {
  private readonly children = new Map<string, SupervisedChild>();
  /** Restarts of children since removed (a task replaced or stopped), so totals never go down. */
  private readonly removedRestarts = new Map<string, number>();

  constructor(private readonly runDir: string) {}

  /** Reaps processes left by a previous run of the stack (killed with -9, power loss…). */
  async start(): Promise<void> {
    fs.mkdirSync(this.runDir, { recursive: true });
    await reapStalePids(this.runDir);
  }

  add(spec: ChildSpec): SupervisedChild {
    if (this.children.has(spec.name)) throw new Error(`child ${spec.name} is already supervised`);
    const child = new SupervisedChild(spec, path.join(this.runDir, `${safeFileName(spec.name)}.pid`));
    this.children.set(spec.name, child);
    return child;
  }

  get(name: string): SupervisedChild | undefined {
    return this.children.get(name);
  }

  /** Stops the child and forgets it. */
  async remove(name: string): Promise<void> {
    const child = this.children.get(name);
    if (!child) return;
    await child.stop();
    this.children.delete(name);
    const { restarts } = child.state;
    if (restarts) this.removedRestarts.set(name, (this.removedRestarts.get(name) ?? 0) + restarts);
  }

  /** Restarts per child name since this process started, including those of removed children. */
  restartTotals(): Map<string, number> {
    const totals = new Map(this.removedRestarts);
    for (const [name, child] of this.children) totals.set(name, (totals.get(name) ?? 0) + child.state.restarts);
    return totals;
  }

  list(): ChildState[] {
    return [...this.children.values()].map((c) => c.state);
  }

  /** Stops every child, by ascending stopOrder; the children of one order in parallel. */
  async stop(): Promise<void> {
    const orders = [...new Set([...this.children.values()].map(stopOrderOf))].sort((a, b) => a - b);
    for (const order of orders) {
      await Promise.all([...this.children.values()].filter((c) => stopOrderOf(c) === order).map((c) => c.stop()));
    }
  }
}

function stopOrderOf(child: SupervisedChild): number {
  return child.spec.stopOrder ?? STOP_ORDER.task;
}

function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}
