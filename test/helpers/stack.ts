// Boots the real stack as a child process (node dist/server/main.js) with its own redis-server,
// on free ports and a temporary data dir, exactly as a user would run it.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const MAIN = path.join(ROOT, 'dist', 'server', 'main.js');

const handedOut = new Set<number>();

/** A free TCP port, never one this process already handed out (the kernel may offer it again). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port: p } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** A free UDP port on loopback (SRT_LISTEN, RTC_LISTEN of a second stack, a test's own socket). */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function tempDir(prefix = 'srs-stack-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface ApiAnswer {
  status: number;
  json: { code: number; data?: unknown; message?: string; server?: number };
  headers: Headers;
}

export interface StackHandle {
  url: string;
  dataDir: string;
  ports: { http: number; https: number; rtmp: number };
  /** The SRT UDP port (SRT_LISTEN): a free one per stack, so stacks never share 10080. */
  srtPort: number;
  /** The WebRTC UDP port (RTC_LISTEN): a free one per stack, so stacks never share 8000. */
  rtcPort: number;
  /** The live tap's loopback RTMP port (TAP_LISTEN): a free one per stack unless the test sets it (0: the stack's own choice). */
  tapPort: number;
  env: NodeJS.ProcessEnv;
  proc: ChildProcess;
  logs: () => string;
  api(pathname: string, body?: unknown, opts?: { bearer?: string; method?: string; headers?: Record<string, string> }): Promise<ApiAnswer>;
  /** Graceful stop (SIGTERM) and wait for exit. */
  stop(): Promise<void>;
  /** kill -9 the stack process only (children survive as orphans, as in a crash). */
  crash(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Wait for mgmt/check to pass (default true). */
  waitReady?: boolean;
  ports?: { http: number; https: number; rtmp: number };
  /** Another entry script (e.g. the engine-event feeder) instead of dist/server/main.js, with IPC. */
  entry?: string;
  /** A command the stack runs under, e.g. `ip netns exec <ns>` (it must exec the stack, keeping its pid). */
  wrap?: readonly string[];
  /** The host the test reaches the stack's HTTP port at (default 127.0.0.1). */
  host?: string;
}

export type ApiCall = StackHandle['api'];

/** Calls `/terraform/v1/...` on a running stack the way SRS Stack's clients do (JSON POST by default). */
export function apiClient(url: string): ApiCall {
  return async (pathname, body, o = {}) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...o.headers };
    if (o.bearer) headers.Authorization = `Bearer ${o.bearer}`;
    const res = await fetch(`${url}${pathname}`, {
      method: o.method ?? 'POST',
      headers,
      body: (o.method ?? 'POST') === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body ?? {}),
    });
    const text = await res.text();
    let json: ApiAnswer['json'];
    try {
      json = JSON.parse(text);
    } catch {
      json = { code: -1, message: text };
    }
    return { status: res.status, json, headers: res.headers };
  };
}

export async function startStack(opts: StartOptions = {}): Promise<StackHandle> {
  const dataDir = opts.dataDir ?? tempDir();
  const ports = opts.ports ?? { http: await freePort(), https: await freePort(), rtmp: await freePort() };
  const srtPort = Number(opts.env?.SRT_LISTEN ?? (await freePort()));
  const rtcPort = Number(opts.env?.RTC_LISTEN ?? (await freePort()));
  const tapPort = Number(opts.env?.TAP_LISTEN ?? (await freePort()));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SRT_LISTEN: String(srtPort),
    RTC_LISTEN: String(rtcPort),
    TAP_LISTEN: String(tapPort),
    DATA_DIR: dataDir,
    MGMT_LISTEN: String(ports.http),
    HTTPS_LISTEN: String(ports.https),
    RTMP_LISTEN: String(ports.rtmp),
    LISTEN_HOST: '127.0.0.1',
    NODE_ENV: 'test',
    ...opts.env,
  };
  // STACK_CPU_PROF=<dir>: the stack writes a V8 CPU profile there when it stops (benches: find
  // where the time goes; `node --cpu-prof` is refused in NODE_OPTIONS, hence a flag here).
  const profile = process.env.STACK_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.STACK_CPU_PROF}`] : [];
  const [command, ...prefix] = [...(opts.wrap ?? []), process.execPath, ...profile];
  const proc = opts.entry
    ? spawn(command as string, [...prefix, opts.entry], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    : spawn(command as string, [...prefix, MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (d) => (output += d));
  proc.stderr?.on('data', (d) => (output += d));
  const url = `http://${opts.host ?? '127.0.0.1'}:${ports.http}`;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));

  const api = apiClient(url);

  const handle: StackHandle = {
    url,
    dataDir,
    ports,
    srtPort,
    rtcPort,
    tapPort,
    env,
    proc,
    logs: () => output,
    api,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      await exited;
    },
    async crash() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
  if (opts.waitReady !== false)
    await waitFor(
      async () => (await api('/terraform/v1/mgmt/check').catch(() => null))?.status === 200,
      30_000,
      () => `stack not ready:\n${output}`,
    );
  return handle;
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: () => string | Promise<string> = () => 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${await what()}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const ADMIN_PASSWORD = 'test-password-123';

/** Sets the admin password and returns the API secret (Bearer). */
export async function initAdmin(stack: StackHandle): Promise<string> {
  const res = await stack.api('/terraform/v1/mgmt/init', { password: ADMIN_PASSWORD });
  if (res.status !== 200) throw new Error(`init failed: ${JSON.stringify(res.json)}`);
  return (res.json.data as { bearer: string }).bearer;
}

/**
 * Posts the admin password to a console page (`/mgmt/login`, or `/mgmt/setup` at first run) as the
 * browser's form does and returns its session cookie (`srs_session=…`, '' when refused).
 */
export async function consoleSession(url: string, page: '/mgmt/login' | '/mgmt/setup' = '/mgmt/login'): Promise<string> {
  const res = await fetch(`${url}${page}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `password=${ADMIN_PASSWORD}`,
    redirect: 'manual',
  });
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The event-feeder entry (test/helpers/event-feeder-main.ts) for stacks whose engine a test plays. */
export const FEEDER_MAIN = path.join(ROOT, 'dist', 'test', 'helpers', 'event-feeder-main.js');
