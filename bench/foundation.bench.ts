// Issue 2 figures: cold start to ready, idle RSS, and mgmt/versions throughput next to a bare Koa
// hello-world in the same run (the ratio is what matters; absolute numbers depend on the machine).
import http from 'node:http';
import Koa from 'koa';
import { initAdmin, startStack, tempDir, waitFor } from '../test/helpers/stack.js';
import { anonMb, load, machine, median, printTable, rssMb } from './lib.js';

async function coldStart(): Promise<{
  ms: number;
  pid: number;
  stop: () => Promise<void>;
  url: string;
  redisPid: number;
  readyRss: number;
  readyAt: number;
}> {
  const t0 = Date.now();
  const stack = await startStack({ dataDir: tempDir('bench-') });
  const readyAt = Date.now();
  const ms = readyAt - t0;
  const readyRss = rssMb(stack.proc.pid as number);
  const bearer = await initAdmin(stack);
  const children = (await stack.api('/terraform/v1/mgmt/supervisor/query', {}, { bearer })).json.data as {
    children: Array<{ name: string; pid: number }>;
  };
  const redisPid = children.children.find((c) => c.name === 'redis')?.pid ?? 0;
  return { ms, pid: stack.proc.pid as number, stop: () => stack.stop(), url: stack.url, redisPid, readyRss, readyAt };
}

async function bareKoa(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = { code: 0, data: { version: '1.0.0' } };
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  const starts: number[] = [];
  // RSS 5 s after ready, of every start: one start's figure moves by 2–3 MB from run to run (node's
  // own file pages that its process maps, more or fewer), so the median of three is printed.
  const idleRss: number[] = [];
  const idleAnon: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await coldStart();
    starts.push(s.ms);
    await new Promise((r) => setTimeout(r, Math.max(0, s.readyAt + 5000 - Date.now()))); // let it settle to idle
    idleRss.push(rssMb(s.pid));
    idleAnon.push(anonMb(s.pid));
    if (i < 2) await s.stop();
    else {
      const redisRss = s.redisPid ? rssMb(s.redisPid) : NaN;
      // A minute idle: V8's memory reducer has given back what the boot left (docs/architecture.md, "Memory at idle").
      await new Promise((r) => setTimeout(r, Math.max(0, s.readyAt + 60_000 - Date.now())));
      const minuteRss = rssMb(s.pid);
      const koa = await bareKoa();
      // Warm both up, then measure each for the same duration and connections.
      await load(koa.url, { seconds: 1 });
      await load(`${s.url}/terraform/v1/mgmt/versions`, { seconds: 1 });
      const bare = await load(koa.url, { seconds: 5 });
      const stack = await load(`${s.url}/terraform/v1/mgmt/versions`, { seconds: 5 });
      await waitFor(() => true, 1);
      printTable('Foundation (bench/foundation.bench.ts)', [
        ['cold start to ready (fresh data dir, median of 3)', `${median(starts)} ms (runs: ${starts.join(', ')} ms)`],
        ['RSS of the stack process when it answers mgmt/check (ready, third start)', `${s.readyRss.toFixed(1)} MB`],
        [
          'idle RSS of the stack process, 5 s after ready (median of 3)',
          `${median(idleRss).toFixed(1)} MB (runs: ${idleRss.map((v) => v.toFixed(1)).join(', ')} MB)`,
        ],
        [
          "— of which its own (anonymous) memory, not node's file pages (median of 3)",
          `${median(idleAnon).toFixed(1)} MB (runs: ${idleAnon.map((v) => v.toFixed(1)).join(', ')} MB)`,
        ],
        ['idle RSS of the stack process, 60 s after ready', `${minuteRss.toFixed(1)} MB`],
        ['idle RSS of its redis-server', `${redisRss.toFixed(1)} MB`],
        ['bare Koa hello-world', `${bare.requests.average.toFixed(0)} req/s (p99 ${bare.latency.p99} ms)`],
        [
          'stack mgmt/versions',
          `${stack.requests.average.toFixed(0)} req/s (p99 ${stack.latency.p99} ms, errors ${stack.errors}, non-2xx ${stack.non2xx})`,
        ],
        ['ratio stack / bare Koa', (stack.requests.average / bare.requests.average).toFixed(2)],
      ]);
      await koa.close();
      await s.stop();
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
