// Shared helpers for benchmarks: process CPU/RSS sampling from /proc and an HTTP load generator.
import fs from 'node:fs';
import os from 'node:os';
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

export function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Measures CPU% (of one core) of pids over a window while `during` runs. */
export async function cpuDuring(pids: number[], during: () => Promise<unknown>): Promise<{ cpuPercent: number; seconds: number }> {
  const before = pids.map(cpuSeconds);
  const t0 = process.hrtime.bigint();
  await during();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = pids.map(cpuSeconds).reduce((a, b, i) => a + b - (before[i] ?? 0), 0);
  return { cpuPercent: (used / seconds) * 100, seconds };
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

export function printTable(title: string, rows: Array<[string, string]>): void {
  process.stdout.write(`\n## ${title}\n\n| measure | value |\n|---|---|\n`);
  for (const [k, v] of rows) process.stdout.write(`| ${k} | ${v} |\n`);
}
