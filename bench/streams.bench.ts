// Issue 3 figures for the engine core, each next to a baseline measured in the same run:
// - HLS requests/s for a .ts and a .m3u8 served by the stack vs nginx serving the same files;
// - publish-to-first-playable-HLS time and live-edge lag in low-latency mode;
// - how fast a wrong secret is refused vs ffmpeg failing on a closed port (its own start-up cost).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { publish, type Publisher } from '../test/helpers/media.js';
import { freePort, initAdmin, sleep, startStack, tempDir, waitFor, type StackHandle } from '../test/helpers/stack.js';
import { load, machine, median, printTable } from './lib.js';

interface Segment {
  seq: number;
  duration: number;
  uri: string;
}

function segmentsOf(text: string): Segment[] {
  const seqBase = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  const out: Segment[] = [];
  let duration = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line.endsWith('.ts')) out.push({ seq: seqBase + out.length, duration, uri: line.trim() });
  }
  return out;
}

async function playlist(stack: StackHandle, stream: string): Promise<string | null> {
  const res = await fetch(`${stack.url}/live/${stream}.m3u8?hls_ctx=bench`).catch(() => null);
  return res && res.status === 200 ? res.text() : null;
}

/** Time from the publisher's start to the first playlist listing a segment (low-latency mode). */
async function firstPlayable(stack: StackHandle, secret: string, stream: string): Promise<number> {
  const t0 = Date.now();
  const p = publish(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/${stream}?secret=${secret}`);
  try {
    await waitFor(async () => segmentsOf((await playlist(stack, stream)) ?? '').length > 0, 20_000);
    return Date.now() - t0;
  } finally {
    await p.stop();
  }
}

/**
 * Live-edge lag: wall time since the publisher started minus the media time at the end of the
 * newest listed segment (ffmpeg -re sends in real time). A player adds its own buffer on top
 * (hls.js starts three target durations behind the edge).
 */
async function edgeLag(stack: StackHandle, secret: string, stream: string, seconds: number): Promise<number[]> {
  const t0 = Date.now();
  const p = publish(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/${stream}?secret=${secret}`);
  const seen = new Map<number, number>();
  const lags: number[] = [];
  try {
    while (Date.now() - t0 < seconds * 1000) {
      const segs = segmentsOf((await playlist(stack, stream)) ?? '');
      let fresh = false;
      for (const s of segs) {
        if (!seen.has(s.seq)) {
          seen.set(s.seq, s.duration);
          fresh = true;
        }
      }
      if (fresh && seen.size > 1) {
        const mediaEnd = [...seen.values()].reduce((a, b) => a + b, 0);
        lags.push((Date.now() - t0) / 1000 - mediaEnd);
      }
      await sleep(100);
    }
    return lags;
  } finally {
    await p.stop();
  }
}

async function refusalMs(url: string): Promise<number> {
  const t0 = Date.now();
  const p = publish(url, 3);
  await p.exited;
  return Date.now() - t0;
}

/** nginx serving the engine's HLS directory as plain static files: the baseline. */
async function staticNginx(root: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const prefix = tempDir('bench-nginx-');
  const port = await freePort();
  fs.mkdirSync(path.join(prefix, 'logs'));
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  fs.writeFileSync(
    path.join(prefix, 'nginx.conf'),
    `${user}daemon off;\nworker_processes 1;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/logs/error.log;\nevents { worker_connections 1024; }\n` +
      `http {\n  access_log off;\n  client_body_temp_path ${prefix}/body;\n  proxy_temp_path ${prefix}/proxy;\n  fastcgi_temp_path ${prefix}/fastcgi;\n` +
      `  uwsgi_temp_path ${prefix}/uwsgi;\n  scgi_temp_path ${prefix}/scgi;\n  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }\n` +
      `  server {\n    listen 127.0.0.1:${port};\n    root ${root};\n    location ~ \\.ts$ { add_header Cache-Control "public, max-age=600"; }\n  }\n}\n`,
  );
  const proc = spawn('nginx', ['-c', path.join(prefix, 'nginx.conf'), '-p', `${prefix}/`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/`).catch(() => null)) !== null, 10_000);
  return {
    url,
    stop: async () => {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGQUIT');
      await gone;
    },
  };
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  const stack = await startStack({ dataDir: tempDir('bench-streams-') });
  const publishers: Publisher[] = [];
  try {
    const bearer = await initAdmin(stack);
    const api = (p: string, body: unknown = {}) => stack.api(`/terraform/v1${p}`, body, { bearer });
    const secret = ((await api('/hooks/srs/secret/query')).json.data as { publish: string }).publish;
    await api('/mgmt/hlsll/update', { hlsLowLatency: true });
    await waitFor(async () => (await api('/mgmt/streams/query')).status === 200, 10_000);
    await sleep(1000);

    const firsts: number[] = [];
    for (let i = 0; i < 3; i++) firsts.push(await firstPlayable(stack, secret, `first${i}`));
    const lags = await edgeLag(stack, secret, 'lag1', 24);

    const closedPort = await freePort();
    const baseline: number[] = [];
    const refused: number[] = [];
    for (let i = 0; i < 3; i++) {
      baseline.push(await refusalMs(`rtmp://127.0.0.1:${closedPort}/live/x`));
      refused.push(await refusalMs(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/x?secret=wrong`));
    }

    // HLS throughput: a live stream, the stack and nginx reading the same files.
    publishers.push(publish(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/bench?secret=${secret}`));
    await waitFor(async () => segmentsOf((await playlist(stack, 'bench')) ?? '').length >= 3, 30_000);
    const hlsRoot = path.join(stack.dataDir, 'engine', 'hls', 'll');
    const nginx = await staticNginx(hlsRoot);
    const rows: Array<[string, string]> = [];
    const newestTs = async () => segmentsOf((await playlist(stack, 'bench')) ?? '').at(-1)?.uri ?? '';
    try {
      const fmt = (r: Awaited<ReturnType<typeof load>>) =>
        `${r.requests.average.toFixed(0)} req/s (p99 ${r.latency.p99} ms, errors ${r.errors}, non-2xx ${r.non2xx})`;
      const ts = await newestTs();
      const tsSize = fs.statSync(path.join(hlsRoot, 'live', ts)).size;
      await load(`${stack.url}/live/${ts}`, { seconds: 1 });
      await load(`${nginx.url}/live/${ts}`, { seconds: 1 });
      const tsNginx = await load(`${nginx.url}/live/${ts}`, { seconds: 5 });
      const tsStack = await load(`${stack.url}/live/${ts}`, { seconds: 5 });
      rows.push([`.ts (${(tsSize / 1024).toFixed(0)} KB), nginx static`, fmt(tsNginx)]);
      rows.push(['.ts, stack', fmt(tsStack)]);
      rows.push(['.ts ratio stack / nginx', (tsStack.requests.average / tsNginx.requests.average).toFixed(2)]);
      const m3u8Nginx = await load(`${nginx.url}/live/bench.m3u8`, { seconds: 5 });
      const m3u8Ctx = await load(`${stack.url}/live/bench.m3u8?hls_ctx=bench`, { seconds: 5 });
      await api('/mgmt/hphls/update', { noHlsCtx: true });
      const m3u8Hp = await load(`${stack.url}/live/bench.m3u8`, { seconds: 5 });
      await api('/mgmt/hphls/update', { noHlsCtx: false });
      rows.push(['.m3u8, nginx static', fmt(m3u8Nginx)]);
      rows.push(['.m3u8, stack, high-performance mode (file as is)', fmt(m3u8Hp)]);
      rows.push(['.m3u8, stack, hls_ctx session playlist', fmt(m3u8Ctx)]);
      rows.push(['.m3u8 ratio stack (HP) / nginx', (m3u8Hp.requests.average / m3u8Nginx.requests.average).toFixed(2)]);
      rows.push(['.m3u8 ratio stack (hls_ctx) / nginx', (m3u8Ctx.requests.average / m3u8Nginx.requests.average).toFixed(2)]);
    } finally {
      await nginx.stop();
    }

    printTable('Live streaming core (bench/streams.bench.ts), low-latency HLS (2 s fragments, 1 s GOP)', [
      ['publish → first playable HLS playlist (median of 3)', `${median(firsts)} ms (runs: ${firsts.join(', ')} ms)`],
      [
        'live-edge lag: wall clock − media end of newest segment',
        `median ${median(lags).toFixed(2)} s, max ${Math.max(...lags).toFixed(2)} s over ${lags.length} segments`,
      ],
      ['expected player latency (edge lag + hls.js 3 × 2 s)', `≈ ${(median(lags) + 6).toFixed(1)} s`],
      ['wrong secret: ffmpeg start → refused (median of 3)', `${median(refused)} ms`],
      ['baseline: ffmpeg start → connection refused on a closed port', `${median(baseline)} ms`],
      ...rows,
    ]);
  } finally {
    await Promise.all(publishers.map((p) => p.stop()));
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
