// Glass-to-glass latency on loopback (issue 14, Proof "bench/"), every delivery path side by side in
// one run: the publisher stamps the wall clock into the picture (bench/latency-stamp.ts: 20
// black/white blocks, the low 20 bits of the clock in ms, drawn by ffmpeg or by a Chromium canvas),
// the player side reads the stamp back from each frame it shows and subtracts it from its own
// clock. Includes encoding, every remux/bridge of the stack, the player's buffering and decoding.
//
//   RTMP → RTMP              baseline: ffmpeg decodes the engine's own RTMP play URL (encode + reader floor)
//   RTMP → HTTP-FLV          ffmpeg x264 → RTMP; Chromium plays /tools/player.html?url=….flv (mpegts.js)
//   RTMP → WHEP              ffmpeg x264 → RTMP; Chromium WHEP page, requestVideoFrameCallback
//   RTMP → HLS (LL mode)     mgmt/hlsll/update on; Chromium plays /tools/player.html?url=….m3u8 (hls.js)
//   RTMP → HLS (default)     mgmt/hlsll/update off; same page
//   RTMP → LL-HLS            the stack's own LL-HLS (fMP4 parts, blocking reload): same page on
//                            /live/<stream>/ll.m3u8 (hls.js, lowLatencyMode)
//   SRT → SRT                ffmpeg x264 → srt:// publish; ffmpeg decodes the srt:// play URL
//   WHIP → WHEP              Chromium canvas (stamped) over WHIP; Chromium WHEP page
//
// A path whose endpoint the stack lacks (no SRT listener, no WHIP/WHEP route) is skipped with a line
// saying so. Paths run one after the other (the machine has 2 cores: readers side by side would
// measure each other). Each path's window is shared by BENCH_LATENCY_JOINS player sessions one
// after the other (default 2): where a player joins (in the GOP, in the HLS segment) sets much of
// its latency, so one session is one draw. Knobs: BENCH_LATENCY_S (measured seconds per path,
// default 30, split among the joins), BENCH_LATENCY_WARMUP_S (seconds dropped after each session's
// first frame, default 5), BENCH_LATENCY_JOINS, BENCH_LATENCY_PATHS (comma-separated path ids,
// default all). Defaults finish in about 6 minutes with every path present. Table on stdout, JSON
// (with every sample) in .tmp/.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { LIVE_APP, loopbackRtmpUrl } from '../server/core/stream-names.js';
import { ffprobe } from '../test/helpers/media.js';
import { freeUdpPort, ROOT, initAdmin, sleep, startStack, waitFor, type StackHandle } from '../test/helpers/stack.js';
import {
  FfmpegStampReader,
  PageStampReader,
  endSessions,
  latenciesOf,
  stampedFfmpegSource,
  whepPlay,
  whepStats,
  whipPublish,
  whipStats,
  type OwnedChild,
  type Reading,
} from './latency-readers.js';
import { CpuWindow, machine, median, percentile, printTable } from './lib.js';

const WINDOW_S = Number(process.env.BENCH_LATENCY_S ?? 30);
const WARMUP_S = Number(process.env.BENCH_LATENCY_WARMUP_S ?? 5);
const JOINS = Math.max(1, Number(process.env.BENCH_LATENCY_JOINS ?? 2));
const ONLY = (process.env.BENCH_LATENCY_PATHS ?? '').split(',').filter(Boolean);
const FPS = 25;
const GOP_S = 2;
const VIDEO_KBPS = 2500;
/** Latencies above this are misreadings (a wrong bit), not latencies: counted as unreadable. */
const PLAUSIBLE_MS = 120_000;
const SRT_LATENCY_US = 20_000; // ffmpeg's srt latency option is in µs; SRS Stack's default is 20 ms

const PATHS = [
  { id: 'rtmp-rtmp', label: 'RTMP → RTMP (baseline: the engine itself)', player: 'ffmpeg, rtmp:// play URL (-threads 1)' },
  { id: 'rtmp-flv', label: 'RTMP → HTTP-FLV', player: 'Chromium, /tools/player.html (mpegts.js)' },
  { id: 'rtmp-whep', label: 'RTMP → WHEP', player: 'Chromium, WHEP + requestVideoFrameCallback' },
  { id: 'rtmp-hls-ll', label: 'RTMP → HLS (low-latency mode)', player: 'Chromium, /tools/player.html (hls.js)' },
  { id: 'rtmp-hls', label: 'RTMP → HLS (default mode)', player: 'Chromium, /tools/player.html (hls.js)' },
  { id: 'rtmp-llhls', label: 'RTMP → LL-HLS (fMP4 parts)', player: 'Chromium, /tools/player.html (hls.js lowLatencyMode)' },
  { id: 'srt-srt', label: 'SRT → SRT', player: 'ffmpeg, srt:// play URL (-threads 1)' },
  { id: 'whip-whep', label: 'WHIP → WHEP', player: 'Chromium, WHEP + requestVideoFrameCallback' },
] as const;
type PathId = (typeof PATHS)[number]['id'];

interface PathResult {
  id: PathId;
  label: string;
  player: string;
  status: 'measured' | 'skipped' | 'failed';
  note: string;
  samples: number;
  unreadable: number;
  medianMs: number | null;
  p95Ms: number | null;
  minMs: number | null;
  maxMs: number | null;
  /** Frames the player showed per second over the window. */
  fps: number | null;
  /** Whole machine's CPU over the window (200 % = both cores). */
  machineCpuPercent: number | null;
  latenciesMs: number[];
}

class Skip extends Error {}

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--autoplay-policy=no-user-gesture-required',
  // Real host candidates rather than mDNS names: the stack need not resolve .local names.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/** Whether any socket is bound to UDP `port` (IPv4 or IPv6), from /proc/net/udp{,6}. */
function udpPortBound(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/udp', '/proc/net/udp6'].some((file) => {
    try {
      return fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .slice(1)
        .some((line) => line.trim().split(/\s+/)[1]?.endsWith(`:${hex}`));
    } catch {
      return false;
    }
  });
}

/** Whether a route answers at all: a POST of a malformed SDP gets 400-ish from a handler, 404/405 when nothing is routed. */
async function endpointStatus(url: string): Promise<{ present: boolean; status: number }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' });
  await res.text();
  return { present: res.status !== 404 && res.status !== 405, status: res.status };
}

/** Whether this machine's ffmpeg speaks SRT (built with libsrt, as Debian's is). */
function ffmpegHasSrt(): boolean {
  const out = spawnSync('ffmpeg', ['-hide_banner', '-protocols'], { encoding: 'utf8' }).stdout ?? '';
  return /^\s*srt\s*$/m.test(out);
}

function emptyResult(p: (typeof PATHS)[number], status: PathResult['status'], note: string): PathResult {
  return {
    id: p.id,
    label: p.label,
    player: p.player,
    status,
    note,
    samples: 0,
    unreadable: 0,
    medianMs: null,
    p95Ms: null,
    minMs: null,
    maxMs: null,
    fps: null,
    machineCpuPercent: null,
    latenciesMs: [],
  };
}

/**
 * Waits for the reader's first frame, drops WARMUP_S seconds (start-up, buffer catch-up), then keeps
 * WINDOW_S seconds of readings.
 */
async function collect(
  readings: Reading[],
  pull: () => Promise<unknown>,
  alive: () => string | null,
  o: { firstFrameTimeoutMs: number; startedAt: number; seconds: number },
): Promise<{ latencies: number[]; unreadable: number; fps: number; machineCpuPercent: number; firstFrameMs: number }> {
  await waitFor(
    async () => {
      await pull();
      const dead = alive();
      if (dead) throw new Error(dead);
      return readings.length > 0;
    },
    o.firstFrameTimeoutMs,
    () => 'the first frame',
  );
  const firstFrameMs = Date.now() - o.startedAt;
  await sleep(WARMUP_S * 1000);
  await pull();
  const from = Date.now();
  const cpu = new CpuWindow({});
  const until = from + o.seconds * 1000;
  while (Date.now() < until) {
    await sleep(Math.min(1000, until - Date.now()));
    await pull();
    const dead = alive();
    if (dead) throw new Error(dead);
  }
  const window = readings.filter((r) => r.shownMs >= from && r.shownMs < until);
  const { latencies: all, unreadable } = latenciesOf(window, from);
  const latencies = all.filter((l) => l <= PLAUSIBLE_MS);
  return {
    latencies,
    unreadable: unreadable + all.length - latencies.length,
    fps: window.length / o.seconds,
    machineCpuPercent: cpu.end().machinePercent,
    firstFrameMs,
  };
}

/** One player's session: its readings over its share of the window. */
type Join = Awaited<ReturnType<typeof collect>> & { note?: string };

/**
 * Runs JOINS player sessions one after the other, each for its share of the window, and pools their
 * samples: a player's latency is largely set when it joins (where in the GOP or the HLS segment it
 * lands, how far its buffer chases), so one session would report one draw of that.
 */
async function joined(p: (typeof PATHS)[number], join: (seconds: number) => Promise<Join>, note = ''): Promise<PathResult> {
  const joins: Join[] = [];
  for (let i = 0; i < JOINS; i++) joins.push(await join(WINDOW_S / JOINS));
  const latencies = joins.flatMap((j) => j.latencies);
  const unreadable = joins.reduce((sum, j) => sum + j.unreadable, 0);
  if (latencies.length === 0) return emptyResult(p, 'failed', `failed: no readable frame (${unreadable} unreadable)`);
  const perJoin = joins
    .map((j) => `${j.latencies.length ? median(j.latencies) : '–'} ms (first frame ${(j.firstFrameMs / 1000).toFixed(1)} s)`)
    .join(', ');
  const extra = [note, joins[joins.length - 1]?.note].filter(Boolean).join('; ');
  const mean = (f: (j: Join) => number) => joins.reduce((sum, j) => sum + f(j), 0) / joins.length;
  return {
    ...emptyResult(p, 'measured', `median per join: ${perJoin}${extra ? `; ${extra}` : ''}`),
    samples: latencies.length,
    unreadable,
    medianMs: median(latencies),
    p95Ms: percentile(latencies, 95),
    minMs: latencies.reduce((a, b) => Math.min(a, b), Infinity),
    maxMs: latencies.reduce((a, b) => Math.max(a, b), -Infinity),
    fps: mean((j) => j.fps),
    machineCpuPercent: mean((j) => j.machineCpuPercent),
    latenciesMs: latencies,
  };
}

interface Ctx {
  stack: StackHandle;
  bearer: string;
  secret: string;
  browser: Browser;
  srtPort: number;
  /** Answers of the WHIP/WHEP routes to a malformed offer, probed once while the RTMP stream is live. */
  endpoints: { whip: { present: boolean; status: number }; whep: { present: boolean; status: number } } | null;
  owned: Set<{ stop: () => Promise<void> }>;
}

async function newPage(ctx: Ctx): Promise<Page> {
  return (await ctx.browser.newContext()).newPage();
}

/** Chromium plays `url` in the console's own player page; the stamp is read from its <video>. */
async function viaPlayerPage(ctx: Ctx, url: string, firstFrameTimeoutMs: number, seconds: number): Promise<Join> {
  const page = await newPage(ctx);
  try {
    const startedAt = Date.now();
    await page.goto(`${ctx.stack.url}/tools/player.html?url=${encodeURIComponent(url)}`);
    const reader = new PageStampReader(page);
    await reader.install('#player-video');
    const state = () => page.textContent('#player-state').catch(() => '');
    return await collect(
      reader.readings,
      () => reader.pull(),
      () => null,
      { firstFrameTimeoutMs, startedAt, seconds },
    ).catch(async (err: Error) => {
      throw new Error(`${err.message} (player: ${((await state()) ?? '').trim()})`);
    });
  } finally {
    await page.context().close();
  }
}

/** Chromium plays `stream` over WHEP on a page of the stack's origin (no CORS involved). */
async function viaWhep(ctx: Ctx, stream: string, seconds: number): Promise<Join> {
  const page = await newPage(ctx);
  try {
    await page.goto(`${ctx.stack.url}/tools/player.html`);
    const startedAt = Date.now();
    const answer = await whepPlay(page, `${ctx.stack.url}/rtc/v1/whep/?app=${LIVE_APP}&stream=${encodeURIComponent(stream)}`);
    if (answer.status !== 201) throw new Error(`WHEP answered ${answer.status}: ${answer.text.slice(0, 200)}`);
    const reader = new PageStampReader(page);
    await reader.install('#whep-video');
    const c = await collect(
      reader.readings,
      () => reader.pull(),
      () => null,
      { firstFrameTimeoutMs: 20_000, startedAt, seconds },
    ).catch(async (err: Error) => {
      const st = await whepStats(page).catch(() => null);
      throw new Error(`${err.message} (WHEP connection ${st?.connection}, framesDecoded ${st?.framesDecoded})`);
    });
    const st = await whepStats(page);
    await endSessions(page);
    const note = `last WHEP session: framesDecoded ${st.framesDecoded}, dropped ${st.framesDropped}, jitter buffer ${st.jitterBufferMs.toFixed(0)} ms`;
    return { ...c, note };
  } finally {
    await page.context().close();
  }
}

/** ffmpeg decodes `input` (an rtmp:// or srt:// play URL). */
async function viaFfmpeg(ctx: Ctx, input: string, extraInputArgs: string[], seconds: number): Promise<Join> {
  const startedAt = Date.now();
  const reader = new FfmpegStampReader(input, extraInputArgs);
  ctx.owned.add(reader);
  try {
    return await collect(
      reader.readings,
      async () => undefined,
      () => (reader.running() ? null : `the ffmpeg player exited: ${reader.stderr() || 'no message'}`),
      { firstFrameTimeoutMs: 30_000, startedAt, seconds },
    );
  } finally {
    await reader.stop();
    ctx.owned.delete(reader);
  }
}

function skipWithoutRtc(ctx: Ctx, which: Array<'whip' | 'whep'>): void {
  for (const w of which) {
    const e = ctx.endpoints?.[w];
    if (!e) throw new Error(`the ${w.toUpperCase()} endpoint was not probed`);
    if (!e.present) throw new Skip(`skipped: the stack has no ${w.toUpperCase()} endpoint (POST /rtc/v1/${w}/ → ${e.status})`);
  }
}

async function runPath(ctx: Ctx, p: (typeof PATHS)[number], rtmpStream: string): Promise<PathResult> {
  const { stack, bearer } = ctx;
  const whipUrl = (s: string) =>
    `${stack.url}/rtc/v1/whip/?app=${LIVE_APP}&stream=${encodeURIComponent(s)}&secret=${encodeURIComponent(ctx.secret)}`;
  const setLowLatency = async (on: boolean) => {
    const res = await stack.api('/terraform/v1/mgmt/hlsll/update', { hlsLowLatency: on }, { bearer });
    if (res.status !== 200) throw new Error(`mgmt/hlsll/update: ${res.status} ${JSON.stringify(res.json)}`);
  };
  switch (p.id) {
    case 'rtmp-rtmp':
      return joined(p, (s) => viaFfmpeg(ctx, loopbackRtmpUrl(stack.ports.rtmp, LIVE_APP, rtmpStream), [], s));
    case 'rtmp-flv':
      return joined(p, (s) => viaPlayerPage(ctx, `${stack.url}/${LIVE_APP}/${rtmpStream}.flv`, 20_000, s));
    case 'rtmp-hls-ll':
    case 'rtmp-hls':
      await setLowLatency(p.id === 'rtmp-hls-ll');
      return joined(p, (s) => viaPlayerPage(ctx, `${stack.url}/${LIVE_APP}/${rtmpStream}.m3u8`, 60_000, s));
    case 'rtmp-llhls':
      return joined(p, (s) => viaPlayerPage(ctx, `${stack.url}/${LIVE_APP}/${rtmpStream}/ll.m3u8`, 30_000, s));
    case 'rtmp-whep':
      skipWithoutRtc(ctx, ['whep']);
      return joined(p, (s) => viaWhep(ctx, rtmpStream, s));
    case 'srt-srt': {
      if (!ffmpegHasSrt()) throw new Skip('skipped: this ffmpeg has no srt protocol');
      // A listener may bind a moment after the stack reports ready: give it a few seconds.
      const listening = await waitFor(() => udpPortBound(ctx.srtPort), 5000).then(
        () => true,
        () => false,
      );
      if (!listening) throw new Skip(`skipped: the stack has no SRT listener (nothing bound on udp/${ctx.srtPort}, SRT_LISTEN)`);
      const stream = 'latency-srt';
      const base = `srt://127.0.0.1:${ctx.srtPort}?latency=${SRT_LATENCY_US}&streamid=`;
      const source = stampedFfmpegSource(`${base}#!::r=${LIVE_APP}/${stream}?secret=${ctx.secret},m=publish`, {
        format: 'mpegts',
        fps: FPS,
        gopSeconds: GOP_S,
        videoKbps: VIDEO_KBPS,
      });
      ctx.owned.add(source);
      try {
        await waitForLive(ctx, stream, source);
        const play = `${base}#!::r=${LIVE_APP}/${stream},m=request`;
        // SRT play has no GOP cache: a player joins mid-GOP and sees the codec headers only at the
        // next keyframe (≤ 2 s here), so it needs a longer probe than RTMP (start-up only, not latency).
        return await joined(p, (s) => viaFfmpeg(ctx, play, ['-analyzeduration', '5000000'], s), `SRT latency ${SRT_LATENCY_US / 1000} ms`);
      } finally {
        await source.stop();
        ctx.owned.delete(source);
      }
    }
    case 'whip-whep': {
      const stream = 'latency-whip';
      skipWithoutRtc(ctx, ['whip', 'whep']);
      const publisher = await newPage(ctx);
      try {
        await publisher.goto(`${stack.url}/tools/player.html`);
        const offer = await whipPublish(publisher, whipUrl(stream), FPS);
        if (offer.status !== 201) throw new Error(`WHIP answered ${offer.status}: ${offer.text.slice(0, 200)}`);
        await waitForLive(ctx, stream, null);
        const result = await joined(p, (s) => viaWhep(ctx, stream, s), "canvas source: Chromium's encoder sets the GOP");
        const st = await whipStats(publisher);
        result.note +=
          `; WHIP publisher at the end: drew ${st.framesDrawn} frames, encoded ${st.framesEncoded}, now ${st.width}×${st.height} ${st.fps} fps, ` +
          `target ${st.targetKbps} kbit/s, estimate ${st.availableKbps} kbit/s, limitation ${st.limitation || 'none'}`;
        return result;
      } finally {
        await endSessions(publisher);
        await publisher.context().close();
      }
    }
  }
}

async function waitForLive(ctx: Ctx, stream: string, source: OwnedChild | null): Promise<void> {
  await waitFor(
    async () => {
      if (source && !source.running()) throw new Error(`the publisher exited: ${source.stderr() || 'no message'}`);
      const res = await ctx.stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer: ctx.bearer });
      const rows = (res.json.data as { streams: Array<{ stream: string }> | null }).streams ?? [];
      return rows.some((r) => r.stream === stream);
    },
    20_000,
    () => `${stream} to be live`,
  );
  // Registered is not yet playable: a bridged ingest (WHIP, SRT) may announce the stream before its
  // first video frame, and a player that probes it then finds no video. Wait for video in the engine.
  const url = loopbackRtmpUrl(ctx.stack.ports.rtmp, LIVE_APP, stream);
  await waitFor(
    async () => (await ffprobe(url, 10_000).catch(() => null))?.streams.some((s) => s.codec_type === 'video') ?? false,
    30_000,
    () => `video in ${stream}`,
  );
}

const cell = (v: number | null, digits = 0) => (v === null ? '–' : v.toFixed(digits));

function printResults(results: PathResult[]): void {
  printTable(
    `Glass-to-glass latency on loopback: ${WINDOW_S} s per path over ${JOINS} player session(s), each after ${WARMUP_S} s warm-up; 1280×720 ${FPS} fps, GOP ${GOP_S} s (bench/latency.bench.ts)`,
    results.map((r) => [
      r.label,
      r.player,
      r.status === 'measured' ? String(r.samples) : '–',
      cell(r.medianMs),
      cell(r.p95Ms),
      r.minMs === null ? '–' : `${r.minMs}–${r.maxMs}`,
      cell(r.fps, 1),
      r.unreadable ? String(r.unreadable) : r.status === 'measured' ? '0' : '–',
      r.machineCpuPercent === null ? '–' : `${r.machineCpuPercent.toFixed(0)} %`,
      r.status === 'measured' ? r.note : `**${r.note}**`,
    ]),
    ['path', 'player', 'samples', 'median ms', 'p95 ms', 'min–max ms', 'frames/s shown', 'unreadable', 'machine CPU', 'note'],
  );
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  const paths = PATHS.filter((p) => ONLY.length === 0 || ONLY.includes(p.id));
  const srtPort = await freeUdpPort();
  const rtcPort = await freeUdpPort();
  const owned = new Set<{ stop: () => Promise<void> }>();
  let stack: StackHandle | null = null;
  let browser: Browser | null = null;
  const cleanup = async () => {
    for (const o of [...owned]) await o.stop().catch(() => undefined);
    owned.clear();
    await browser?.close().catch(() => undefined);
    await stack?.stop();
  };
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: PathResult[] = [];
  try {
    stack = await startStack({ env: { SRT_LISTEN: String(srtPort), RTC_LISTEN: String(rtcPort) } });
    const bearer = await initAdmin(stack);
    const secret = ((await stack.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const ctx: Ctx = { stack, bearer, secret, browser, srtPort, endpoints: null, owned };

    const rtmpStream = 'latency-rtmp';
    const needsRtmp = paths.some((p) => p.id.startsWith('rtmp-') || p.id === 'whip-whep');
    let rtmpSource: OwnedChild | null = null;
    if (needsRtmp) {
      rtmpSource = stampedFfmpegSource(`${loopbackRtmpUrl(stack.ports.rtmp, LIVE_APP, rtmpStream)}?secret=${secret}`, {
        format: 'flv',
        fps: FPS,
        gopSeconds: GOP_S,
        videoKbps: VIDEO_KBPS,
      });
      owned.add(rtmpSource);
      await waitForLive(ctx, rtmpStream, rtmpSource);
      // WHEP is probed on a live stream: a WHEP route may well answer 404 for a stream that is not.
      ctx.endpoints = {
        whip: await endpointStatus(`${stack.url}/rtc/v1/whip/?app=${LIVE_APP}&stream=latency-probe&secret=${encodeURIComponent(secret)}`),
        whep: await endpointStatus(`${stack.url}/rtc/v1/whep/?app=${LIVE_APP}&stream=${rtmpStream}`),
      };
    }
    for (const p of paths) {
      // The RTMP source is not needed past the RTMP paths: stop it so that it does not load the
      // machine while SRT and WHIP are measured.
      if (rtmpSource && !p.id.startsWith('rtmp-')) {
        await rtmpSource.stop();
        owned.delete(rtmpSource);
        rtmpSource = null;
      }
      process.stdout.write(`… ${p.label}\n`);
      let r: PathResult;
      try {
        r = await runPath(ctx, p, rtmpStream);
      } catch (err) {
        r = err instanceof Skip ? emptyResult(p, 'skipped', err.message) : emptyResult(p, 'failed', `failed: ${(err as Error).message}`);
      }
      process.stdout.write(
        r.status === 'measured' ? `  median ${r.medianMs} ms, p95 ${r.p95Ms} ms (n=${r.samples})\n` : `  ${r.note.split('\n')[0]}\n`,
      );
      results.push(r);
    }
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  printResults(results);
  const outDir = path.join(ROOT, '.tmp');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `latency-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const report = {
    bench: 'latency',
    date: new Date().toISOString(),
    machine: machine(),
    settings: {
      windowSeconds: WINDOW_S,
      joins: JOINS,
      warmupSeconds: WARMUP_S,
      fps: FPS,
      gopSeconds: GOP_S,
      videoKbps: VIDEO_KBPS,
      srtLatencyMs: SRT_LATENCY_US / 1000,
    },
    paths: results,
  };
  fs.writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
  process.stdout.write(`\nJSON: ${path.relative(process.cwd(), file)}\n`);
  if (results.some((r) => r.status === 'failed')) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
