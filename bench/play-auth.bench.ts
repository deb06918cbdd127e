// Private streams (issue 19): what play authentication costs HLS delivery. One stack, one live
// stream (2 s fragments), the same closed-loop HLS players twice in one run: with play auth off
// (SRS Stack's public URLs, hls_ctx sessions) and with signed URLs (each session's grant checked on
// every playlist and segment request, features/play-auth). Then the rate of new sessions (entry
// playlist: admission + grant minting by jose) off vs signed. Prints requests/s and the stack's CPU.
import http from 'node:http';
import { publish } from '../test/helpers/media.js';
import { initAdmin, sleep, startStack, waitFor, type StackHandle } from '../test/helpers/stack.js';
import { cpuDuring, machine, printTable } from './lib.js';

const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 6);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);

/** node:http with keep-alive: a lighter load generator than fetch, so the stack's side shows. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function get(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: res.headers['content-type']?.includes('mpegurl') ? Buffer.concat(chunks).toString() : '',
          }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const firstUri = (text: string, base: string): string => {
  const line = text.split('\n').find((l) => l.trim() && !l.startsWith('#'));
  if (!line) throw new Error(`no URI in ${text}`);
  return new URL(line.trim(), base).toString();
};
const lastUri = (text: string, base: string): string => {
  const line = text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .at(-1);
  if (!line) throw new Error(`no URI in ${text}`);
  return new URL(line.trim(), base).toString();
};

/** One closed-loop player: its session's media playlist, then the newest segment, again and again. */
async function player(entry: string, until: number, counts: { requests: number; failed: number }): Promise<void> {
  const media = firstUri((await get(entry)).text, entry);
  while (Date.now() < until) {
    const playlist = await get(media);
    counts.requests += 1;
    if (playlist.status !== 200) {
      counts.failed += 1;
      continue;
    }
    const segment = await get(lastUri(playlist.text, media));
    counts.requests += 1;
    if (segment.status !== 200) counts.failed += 1;
  }
}

/** New viewers back to back: only the entry playlist (a new session each). */
async function entries(entry: string, until: number, counts: { requests: number; failed: number }): Promise<void> {
  while (Date.now() < until) {
    const res = await get(entry);
    counts.requests += 1;
    if (res.status !== 200) counts.failed += 1;
  }
}

async function measure(
  stack: StackHandle,
  entry: string,
  loop: typeof player,
): Promise<{ rate: number; failed: number; cpu: number; cpuUsPerRequest: number }> {
  const counts = { requests: 0, failed: 0 };
  const until = Date.now() + WINDOW_S * 1000;
  const { cpuPercent, seconds } = await cpuDuring([stack.proc.pid ?? 0], () =>
    Promise.all(Array.from({ length: CLIENTS }, () => loop(entry, until, counts))),
  );
  const rate = counts.requests / seconds;
  return { rate, failed: counts.failed, cpu: cpuPercent, cpuUsPerRequest: rate ? (cpuPercent / 100 / rate) * 1e6 : 0 };
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n${CLIENTS} closed-loop HLS clients, ${WINDOW_S} s per measure\n`);
  const stack = await startStack();
  const bearer = await initAdmin(stack);
  const api = async (p: string, body: unknown) => (await stack.api(`/terraform/v1${p}`, body, { bearer })).json.data;
  await api('/mgmt/hlsll/update', { hlsLowLatency: true });
  const secret = ((await api('/hooks/srs/secret/query', {})) as { publish: string }).publish;
  const publisher = publish(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/bench?secret=${secret}`, 0);
  const base = `${stack.url}/live/bench.m3u8`;
  try {
    await waitFor(
      async () => {
        const v = await fetch(base);
        if (v.status !== 200) return false;
        const m = await fetch(firstUri(await v.text(), base));
        return m.status === 200 && /\.ts/.test(await m.text());
      },
      40_000,
      () => `the HLS stream: ${publisher.stderr()}`,
    );
    await sleep(2000);
    const { urls } = (await api('/mgmt/play-auth/sign', { stream: 'bench', expires: 3600 })) as { urls: { hls: string } };
    const signed = `${stack.url}${urls.hls}`;
    const rows: string[][] = [];
    // Warm-up (JIT, the segment cache), then off and signed alternated twice; the better of each kept.
    await measure(stack, base, player);
    for (const [what, loop] of [
      ['playlist + segment', player],
      ['new sessions (entry playlist)', entries],
    ] as const) {
      const runs: Record<'off' | 'signed', Awaited<ReturnType<typeof measure>>[]> = { off: [], signed: [] };
      for (let round = 0; round < 2; round++) {
        await api('/mgmt/play-auth/update', { mode: 'off' });
        runs.off.push(await measure(stack, base, loop));
        await api('/mgmt/play-auth/update', { mode: 'signed' });
        runs.signed.push(await measure(stack, signed, loop));
      }
      const best = (list: Awaited<ReturnType<typeof measure>>[]) => list.reduce((a, b) => (b.rate > a.rate ? b : a));
      const off = best(runs.off);
      const on = best(runs.signed);
      for (const [mode, r] of [
        ['off', off],
        ['signed', on],
      ] as const) {
        rows.push([what, mode, r.rate.toFixed(0), String(r.failed), `${r.cpu.toFixed(0)} %`, r.cpuUsPerRequest.toFixed(0)]);
      }
      rows.push([
        what,
        'signed / off',
        `${((on.rate / off.rate) * 100).toFixed(0)} %`,
        '',
        '',
        `${((on.cpuUsPerRequest / off.cpuUsPerRequest) * 100).toFixed(0)} %`,
      ]);
    }
    await api('/mgmt/play-auth/update', { mode: 'off' });
    printTable('HLS request rate, play auth off vs signed (one run)', rows, [
      'requests',
      'play auth',
      'requests/s',
      'failed',
      'stack CPU',
      'CPU µs/request',
    ]);
  } finally {
    await publisher.stop();
    await stack.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
