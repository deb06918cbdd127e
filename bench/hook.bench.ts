// Issue 16 (item 4): the publish hook's latency as a publisher feels it, with enough samples for a
// p99 (HOOK_PROBES, 200 per row), one probe every HOOK_EVERY_MS (50). Rows, all in one run:
// - baseline: a plain nginx-rtmp with no hook at all (the floor of an RTMP publish on this machine);
// - the stack, idle, HTTP callbacks off: nginx-rtmp → hooks/srs/verify (name, secret) → registry;
// - the stack, idle, HTTP callbacks on (a receiver that answers at once): + the on_publish POST;
// - the same with one core kept busy by a busy loop (the machine a little busier);
// - baseline: the callback's POST alone, from another node process to the same receiver, at the
//   same pace (the floor of the round trip the stack makes per publish with callbacks on).
// Next to each, the stack's own share: srs_stack_publish_hook_seconds (sum / count) from /metrics.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { startRtmpServer } from '../test/helpers/media.js';
import { initAdmin, startStack, type StackHandle } from '../test/helpers/stack.js';
import { machine, percentile, printTable, stackApi } from './lib.js';
import { HookReceiver, hookFigures, PublishProbe } from './publish-probe.js';

const PROBES = Number(process.env.HOOK_PROBES ?? 200);
const EVERY_MS = Number(process.env.HOOK_EVERY_MS ?? 50);

/**
 * The stack's own time on the accepted publishes since the last call (its histogram): the mean,
 * and how many took it more than 5 ms (the histogram's first bucket), to tell its tail from the
 * machine's.
 */
function stackShare(stack: StackHandle, bearer: string): () => Promise<string> {
  let last = { sum: 0, count: 0, fast: 0 };
  return async () => {
    const text = await (await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${bearer}` } })).text();
    // Absent until the first accepted publish.
    const read = (suffix: string) =>
      Number(
        new RegExp(`^srs_stack_publish_hook_seconds_${suffix}\\{result="accepted"(,le="0.005")?\\} (\\S+)$`, 'm').exec(text)?.[2] ?? 0,
      );
    const now = { sum: read('sum'), count: read('count'), fast: read('bucket') };
    const count = now.count - last.count;
    const mean = ((now.sum - last.sum) / Math.max(1, count)) * 1000;
    const slow = count - (now.fast - last.fast);
    last = now;
    return `${mean.toFixed(2)} ms; over 5 ms: ${slow} of ${count}`;
  };
}

// Another node process POSTs a callback-sized JSON body to the receiver, one every EVERY_MS, and
// prints each round trip (ms) as JSON: what the stack's on_publish POST costs at the least here
// (node:http with its default keep-alive agent, as features/callback/client.ts).
const POSTER = `
import http from 'node:http';
const [url, count, everyMs] = process.argv.slice(1);
const body = JSON.stringify({ server_id: 'bench', service_id: 'bench', action: 'on_publish', client_id: 'x', ip: '127.0.0.1',
  vhost: '__defaultVhost__', app: 'live', tcUrl: 'rtmp://127.0.0.1/live', stream: 'poster', param: '?secret=0123456789abcdef',
  stream_url: '/live/poster', stream_id: 'x', opaque: '', request_id: crypto.randomUUID() });
const times = [];
for (let i = 0; i < Number(count); i++) {
  await new Promise((r) => setTimeout(r, Number(everyMs)));
  const started = performance.now();
  await new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
  times.push(performance.now() - started);
}
process.stdout.write(JSON.stringify(times));
`;

async function postFloor(url: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--input-type=module',
    '-e',
    POSTER,
    url,
    String(PROBES),
    String(EVERY_MS),
  ]);
  const times = JSON.parse(stdout) as number[];
  return `p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms (n=${times.length})`;
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\nRun: ${PROBES} probe publishes per row, one every ${EVERY_MS} ms\n`);
  const rows: string[][] = [];
  const receiver = new HookReceiver();
  const hookUrl = await receiver.start();

  const plain = await startRtmpServer();
  try {
    const probe = new PublishProbe(`rtmp://127.0.0.1:${plain.port}/live`, 'none', receiver, EVERY_MS, 'plain');
    rows.push([
      'baseline: plain nginx-rtmp, no hook',
      hookFigures(await probe.run({ count: PROBES })).replace(/; publish → receiver.*/, ''),
      '—',
    ]);
  } finally {
    await plain.stop();
  }

  rows.push(['baseline: the callback POST alone, another node process → the receiver', await postFloor(hookUrl), '—']);

  const stack = await startStack();
  let hog: ChildProcess | null = null;
  try {
    const bearer = await initAdmin(stack);
    const api = stackApi(stack, bearer);
    const { publish: secret } = (await api('/hooks/srs/secret/query')) as { publish: string };
    const rtmpBase = `rtmp://127.0.0.1:${stack.ports.rtmp}/live`;
    const share = stackShare(stack, bearer);
    const row = async (what: string, prefix: string) => {
      await share();
      const figures = hookFigures(await new PublishProbe(rtmpBase, secret, receiver, EVERY_MS, prefix).run({ count: PROBES }));
      rows.push([what, figures.replace(/; publish → receiver p50 NaN ms/, ''), await share()]);
    };
    await row('stack, idle, HTTP callbacks off', 'off');
    await api('/mgmt/hooks/apply', { target: hookUrl, all: true });
    await row('stack, idle, HTTP callbacks on', 'on');
    hog = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
    await row('stack, HTTP callbacks on, one core busy', 'busy');
  } finally {
    hog?.kill('SIGKILL');
    await stack.stop();
    await receiver.stop();
  }
  printTable('Publish hook: RTMP publish → NetStream.Publish.Start (client side)', rows, [
    'setup',
    'publisher waits',
    'stack share (mean; over 5 ms)',
  ]);
}

await main();
