// Shared helpers for benchmarks: process CPU/RSS sampling from /proc, an HTTP load generator, the
// stack's supervised children, and the player swarm (many light viewers in one child process).
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor, type StackHandle } from '../test/helpers/stack.js';
import type { PlayerKind, PlayerReport } from './player-swarm.js';
// autocannon ships no types; the subset used here is typed below.
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore
import autocannonModule from 'autocannon';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
}
const autocannon = autocannonModule as unknown as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

export async function load(
  url: string,
  opts: { connections?: number; seconds?: number; method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<AutocannonResult> {
  return autocannon({
    url,
    connections: opts.connections ?? 20,
    duration: opts.seconds ?? 5,
    method: opts.method ?? 'GET',
    body: opts.body,
    headers: opts.headers,
  });
}

const CLK_TCK = 100;

/** CPU seconds (user+system) consumed so far by a process, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function statusMb(pid: number, field: 'VmRSS' | 'RssAnon'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return kb / 1024;
}

export const rssMb = (pid: number): number => statusMb(pid, 'VmRSS');
/** The part of the RSS that is the process's own memory (not files it maps, such as node's executable). */
export const anonMb = (pid: number): number => statusMb(pid, 'RssAnon');

/** CPU seconds of a process, or null once it has exited. */
function cpuSecondsIfAlive(pid: number): number | null {
  try {
    return cpuSeconds(pid);
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
function machineBusySeconds(): number {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

/**
 * CPU% (of one core) of named groups of processes over a window, plus the whole machine's (200 %
 * = both cores of a 2-core box busy). A process that exits during the window counts up to its
 * last reading.
 */
export class CpuWindow {
  private readonly t0 = process.hrtime.bigint();
  private readonly machine0 = machineBusySeconds();
  private readonly before: Map<number, number>;

  constructor(private readonly groups: Record<string, number[]>) {
    this.before = new Map(
      Object.values(groups)
        .flat()
        .flatMap((pid) => {
          const s = cpuSecondsIfAlive(pid);
          return s === null ? [] : [[pid, s] as [number, number]];
        }),
    );
  }

  end(): { seconds: number; percent: Record<string, number>; machinePercent: number } {
    const seconds = Number(process.hrtime.bigint() - this.t0) / 1e9;
    const percent: Record<string, number> = {};
    for (const [name, pids] of Object.entries(this.groups)) {
      const used = pids.reduce((sum, pid) => {
        const start = this.before.get(pid);
        const now = cpuSecondsIfAlive(pid);
        return start === undefined || now === null ? sum : sum + now - start;
      }, 0);
      percent[name] = (used / seconds) * 100;
    }
    return { seconds, percent, machinePercent: ((machineBusySeconds() - this.machine0) / seconds) * 100 };
  }
}

/** Measures CPU% (of one core) of pids over a window while `during` runs. */
export async function cpuDuring(pids: number[], during: () => Promise<unknown>): Promise<{ cpuPercent: number; seconds: number }> {
  const window = new CpuWindow({ all: pids });
  await during();
  const { seconds, percent } = window.end();
  return { cpuPercent: percent.all ?? 0, seconds };
}

/**
 * Proportional set size: each shared page (libraries, for many ffmpegs) divided among the processes
 * sharing it, so summing PSS over processes does not count shared memory many times as RSS does.
 */
export function pssMb(pid: number): number {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) / 1024;
}

/** Peak of the summed RSS and PSS (MB) of named groups of processes, sampled every `everyMs`. */
export class MemorySampler {
  readonly peakRss: Record<string, number> = {};
  readonly peakPss: Record<string, number> = {};
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly groups: () => Record<string, number[]>,
    everyMs = 2000,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    const sum = (pids: number[], read: (pid: number) => number) =>
      pids.reduce((total, pid) => {
        try {
          return total + read(pid);
        } catch {
          return total; // exited between listing and reading
        }
      }, 0);
    for (const [name, pids] of Object.entries(this.groups())) {
      this.peakRss[name] = Math.max(this.peakRss[name] ?? 0, sum(pids, rssMb));
      this.peakPss[name] = Math.max(this.peakPss[name] ?? 0, sum(pids, pssMb));
    }
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

/** Direct children of a process (of all its threads). */
export function childPids(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((tid) => fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/))
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

export interface SupervisedChildInfo {
  name: string;
  pid: number | null;
  status: string;
}

/** The stack's supervised children (redis, nginx, FLV pulls…) from mgmt/supervisor/query. */
export async function supervisedChildren(stack: StackHandle, bearer: string): Promise<SupervisedChildInfo[]> {
  const res = await stack.api('/terraform/v1/mgmt/supervisor/query', {}, { bearer });
  return (res.json.data as { children: SupervisedChildInfo[] }).children;
}

/** Pid of the named supervised child once it is ready. */
export async function readyChildPid(stack: StackHandle, bearer: string, name: string, timeoutMs = 20_000): Promise<number> {
  let pid = 0;
  await waitFor(
    async () => {
      const child = (await supervisedChildren(stack, bearer)).find((c) => c.name === name && c.status === 'ready');
      pid = child?.pid ?? 0;
      return pid > 0;
    },
    timeoutMs,
    () => `${name} ready`,
  );
  return pid;
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/** A Markdown table (README-ready); rows have as many cells as the header. */
export function printTable(title: string, rows: string[][], header: string[] = ['measure', 'value']): void {
  process.stdout.write(`\n## ${title}\n\n| ${header.join(' | ')} |\n|${header.map(() => '---|').join('')}\n`);
  for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
}

export interface SwarmReport {
  wallMs: number;
  reports: PlayerReport[];
  /** The swarm's own event-loop delay over the window: high values mean the load generator lagged. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** The player swarm (bench/player-swarm.ts) in a child process, so viewers do not share the bench's event loop. */
export class Swarm {
  private readonly proc: ChildProcess;
  constructor() {
    // SWARM_CPU_PROF=<dir>: the swarm writes a V8 CPU profile there when it stops (is the load generator the bottleneck?).
    const execArgv = process.env.SWARM_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SWARM_CPU_PROF}`] : [];
    this.proc = fork(path.join(path.dirname(fileURLToPath(import.meta.url)), 'player-swarm.js'), { stdio: 'inherit', execArgv });
  }
  get pid(): number {
    return this.proc.pid as number;
  }
  private ask<T>(msg: object): Promise<T> {
    return new Promise((resolve) => {
      this.proc.once('message', (m) => resolve(m as T));
      this.proc.send(msg);
    });
  }
  /** Adds `count` players of `url` to the swarm. */
  start(kind: PlayerKind, url: string, count: number) {
    return this.ask({ cmd: 'start', kind, url, count });
  }
  /** Starts the measured window. */
  mark() {
    return this.ask({ cmd: 'mark' });
  }
  report() {
    return this.ask<SwarmReport>({ cmd: 'report' });
  }
  stopPlayers() {
    return this.ask({ cmd: 'stop' });
  }
  kill() {
    this.proc.kill();
  }
}

/** The stack's API with the bearer: a call that does not answer 200 throws, naming the path. */
/**
 * The stack's event-loop delay since the previous call (its /metrics gauge is reset by every
 * scrape): call once to start a window, again to read it.
 */
export async function stackLoopDelay(stack: StackHandle, bearer: string): Promise<{ p99Ms: number; maxMs: number }> {
  const text = await (await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${bearer}` } })).text();
  const at = (quantile: string) =>
    Number(new RegExp(`^srs_stack_event_loop_delay_seconds\\{quantile="${quantile}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { p99Ms: at('0.99'), maxMs: at('1') };
}

export function stackApi(stack: StackHandle, bearer: string): (p: string, body?: unknown) => Promise<unknown> {
  return async (p, body = {}) => {
    const res = await stack.api(`/terraform/v1${p}`, body, { bearer });
    if (res.status !== 200) throw new Error(`${p}: ${res.status} ${res.json.message}`);
    return res.json.data;
  };
}
