// Issue 8 (Load): on ONE real stack, N publishers at 1 Mbps (a generated file looped with
// `ffmpeg -re -c copy`, so publishers cost little CPU) with recording on, plus HLS and HTTP-FLV
// viewers (light in-process clients in a child process) and an HTTP callback receiver, for a
// bounded time. Figures: CPU and RSS of the stack's processes, publish-hook latency, whether every
// viewer keeps up, and whether every recording is complete — next to a baseline measured in the
// same run: the same publishers with no viewers and recording off.
//
// Scale with LOAD_PUBLISHERS (50), LOAD_HLS_VIEWERS (200), LOAD_LLHLS_VIEWERS (0), LOAD_FLV_VIEWERS
// (100), LOAD_SECONDS (60), LOAD_BASELINE_SECONDS (30); LOAD_HLS=normal plays the 10 s rendition
// instead of the 2 s one. LOAD_HOG=N keeps N cores busy with busy loops from the viewers' arrival to
// the end of the load window: the same checks on a machine that much busier.
// Every check that fails is printed and makes the exit code 1: nothing is relaxed to pass.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseMediaPlaylist } from '../server/features/hls/playlist.js';
import { probe } from '../test/helpers/media-probe.js';
import { publishFile, sampleFlv, type Publisher } from '../test/helpers/media.js';
import { initAdmin, sleep, startStack, waitFor, type StackHandle } from '../test/helpers/stack.js';
import {
  childPids,
  CpuWindow,
  machine,
  printTable,
  readyChildPid,
  MemorySampler,
  supervisedChildren,
  stackApi,
  stackLoopDelay,
  Swarm,
  type SwarmReport,
} from './lib.js';
import { HookReceiver, hookFigures, PublishProbe, type HookSample } from './publish-probe.js';

function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return n;
}

const PUBLISHERS = Math.max(1, envCount('LOAD_PUBLISHERS', 50));
const HLS_VIEWERS = envCount('LOAD_HLS_VIEWERS', 200);
const FLV_VIEWERS = envCount('LOAD_FLV_VIEWERS', 100);
const LLHLS_VIEWERS = envCount('LOAD_LLHLS_VIEWERS', 0);
const HOGS = envCount('LOAD_HOG', 0);
const LOAD_SECONDS = Math.max(10, envCount('LOAD_SECONDS', 60));
const BASELINE_SECONDS = Math.max(10, envCount('LOAD_BASELINE_SECONDS', 30));
const HLS_LOW_LATENCY = (process.env.LOAD_HLS ?? 'll') !== 'normal';
/** Viewers connect and reach steady state (HLS players past their first segments). */
const WARMUP_SECONDS = 12;
const PROBE_EVERY_MS = 500;
const IDLE_PROBES = 20;
const KEEP_UP = 0.95;
/** A record may hold up to one fragment of media from before recording was turned on (records use the 2 s rendition). */
const RECORD_FRAGMENT_SECONDS = 2;

const streamName = (i: number) => `s${i}`;

interface WindowResult {
  cpu: ReturnType<CpuWindow['end']>;
  memory: MemorySampler;
  hooks: { samples: HookSample[]; failures: string[] };
  loadAverage: number;
  pulls: number;
}

async function measureWindow(seconds: number, groups: Record<string, number[]>, probe: PublishProbe): Promise<WindowResult> {
  const memory = new MemorySampler(() => groups);
  const cpu = new CpuWindow(groups);
  const hooks = await probe.run({ ms: seconds * 1000 });
  const result = { cpu: cpu.end(), memory, hooks, loadAverage: os.loadavg()[0] ?? NaN, pulls: groups.pulls?.length ?? 0 };
  memory.stop();
  return result;
}

/** The newest finished segment of each stream's rendition that viewers play, read from the engine's directory. */
function newestSegments(stack: StackHandle): Map<string, number> {
  const dir = path.join(stack.dataDir, 'engine', 'hls', HLS_LOW_LATENCY ? 'll' : 'normal', 'live');
  const out = new Map<string, number>();
  for (let i = 0; i < PUBLISHERS; i++) {
    let text = '';
    try {
      text = fs.readFileSync(path.join(dir, `${streamName(i)}.m3u8`), 'utf8');
    } catch {
      // not produced yet: no entry
    }
    const newest = parseMediaPlaylist(text)?.segments.at(-1)?.seq;
    if (newest !== undefined) out.set(streamName(i), newest);
  }
  return out;
}

const streamOf = (url: string) => /\/live\/([^/.?]+)\.(?:m3u8|flv)/.exec(url)?.[1] ?? '';

interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

function viewerChecks(
  report: SwarmReport,
  atMark: Map<string, number>,
  atReport: Map<string, number>,
  sourceBytesPerSecond: number,
): Check[] {
  const wallS = report.wallMs / 1000;
  const hls = report.reports.filter((r) => r.kind === 'hls');
  const flv = report.reports.filter((r) => r.kind === 'flv');
  const checks: Check[] = [];
  if (hls.length) {
    // Produced: segments the engine finished during the window, per viewer of that stream.
    const produced = hls.reduce((n, r) => n + (atReport.get(streamOf(r.url)) ?? 0) - (atMark.get(streamOf(r.url)) ?? 0), 0);
    const fetched = hls.reduce((n, r) => n + (r.hls?.fetched ?? 0), 0);
    const behind = (r: (typeof hls)[number]) => (atReport.get(streamOf(r.url)) ?? 0) - (r.hls?.lastSeq ?? -1);
    // One segment may be announced between the viewer's last reload and the report.
    const keeping = hls.filter((r) => r.ok && r.hls && r.hls.stalls === 0 && r.hls.missed === 0 && r.hls.errors === 0 && behind(r) <= 1);
    const stalls = hls.reduce((n, r) => n + (r.hls?.stalls ?? 0), 0);
    const stalledS = hls.reduce((n, r) => n + (r.hls?.stalledMs ?? 0), 0) / 1000;
    const missed = hls.reduce((n, r) => n + (r.hls?.missed ?? 0), 0);
    const errors = hls.reduce((n, r) => n + (r.hls?.errors ?? 0), 0);
    const mbps = (hls.reduce((n, r) => n + r.bytesSinceMark, 0) * 8) / wallS / 1e6;
    checks.push({
      what: `HLS viewers keeping up (no stall, no missed segment, ≤ 1 segment behind the engine at the end)`,
      ok: keeping.length === hls.length,
      detail:
        `${keeping.length}/${hls.length}; segments fetched/produced ${fetched}/${produced}; stalls ${stalls} (${stalledS.toFixed(1)} s in all), ` +
        `missed ${missed}, failed requests ${errors}, worst ${Math.max(...hls.map(behind))} behind; ${mbps.toFixed(0)} Mbit/s served`,
    });
  }
  const llhls = report.reports.filter((r) => r.kind === 'llhls');
  if (llhls.length) {
    const mediaRatio = (r: (typeof llhls)[number]) => r.mediaMs / report.wallMs;
    const keeping = llhls.filter(
      (r) => r.ok && r.hls && r.hls.stalls === 0 && r.hls.missed === 0 && r.hls.errors === 0 && mediaRatio(r) >= KEEP_UP,
    );
    const sum = (f: (c: NonNullable<(typeof llhls)[number]['hls']>) => number) => llhls.reduce((n, r) => n + (r.hls ? f(r.hls) : 0), 0);
    const mbps = (llhls.reduce((n, r) => n + r.bytesSinceMark, 0) * 8) / wallS / 1e6;
    checks.push({
      what: `LL-HLS viewers keeping up (every part in order, no stall, media time ≥ ${KEEP_UP * 100} % of real time)`,
      ok: keeping.length === llhls.length,
      detail:
        `${keeping.length}/${llhls.length}; parts fetched ${sum((c) => c.fetched)}, playlist requests ${sum((c) => c.polls)}; ` +
        `stalls ${sum((c) => c.stalls)} (${(sum((c) => c.stalledMs) / 1000).toFixed(1)} s in all), missed ${sum((c) => c.missed)}, ` +
        `failed requests ${sum((c) => c.errors)}, worst media/wall ${(Math.min(...llhls.map(mediaRatio)) * 100).toFixed(0)} %; ${mbps.toFixed(0)} Mbit/s served`,
    });
  }
  if (flv.length) {
    const mediaRatio = (r: (typeof flv)[number]) => r.mediaMs / report.wallMs;
    const byteRatio = (r: (typeof flv)[number]) => r.bytesSinceMark / wallS / sourceBytesPerSecond;
    const keeping = flv.filter((r) => r.ok && mediaRatio(r) >= KEEP_UP && byteRatio(r) >= KEEP_UP);
    const mbps = (flv.reduce((n, r) => n + r.bytesSinceMark, 0) * 8) / wallS / 1e6;
    checks.push({
      what: `HTTP-FLV viewers keeping up (bytes and media time ≥ ${KEEP_UP * 100} % of real time)`,
      ok: keeping.length === flv.length,
      detail:
        `${keeping.length}/${flv.length}; worst bytes/real-time ${(Math.min(...flv.map(byteRatio)) * 100).toFixed(0)} %, ` +
        `worst media/wall ${(Math.min(...flv.map(mediaRatio)) * 100).toFixed(0)} %, dropped/closed ${flv.filter((r) => !r.ok).length}; ${mbps.toFixed(0)} Mbit/s served`,
    });
  }
  return checks;
}

interface RecordRow {
  uuid: string;
  stream: string;
  status: string;
  duration: number;
  nn: number;
}

async function recordingChecks(
  stack: StackHandle,
  bearer: string,
  recordedSeconds: Map<string, number>,
): Promise<{ checks: Check[]; endMs: number; finishMs: number }> {
  const call = async (name: string, body: unknown = {}) => {
    const res = await stack.api(`/terraform/v1/hooks/record/${name}`, body, { bearer });
    if (res.status !== 200) throw new Error(`record/${name}: ${res.status} ${res.json.message}`);
    return res.json.data;
  };
  const files = async () => ((await call('files')) as RecordRow[]).filter((r) => r.stream.startsWith('s'));
  const t0 = Date.now();
  for (const r of await files()) if (r.status === 'recording') await call('end', { uuid: r.uuid });
  const endMs = Date.now() - t0;
  await waitFor(
    async () => (await files()).every((r) => r.status === 'done'),
    10 * 60_000,
    () => 'every record to be done',
  );
  const finishMs = Date.now() - t0;
  const rows = await files();
  const perStream = new Map<string, RecordRow[]>();
  for (const r of rows) perStream.set(r.stream, [...(perStream.get(r.stream) ?? []), r]);
  const single = [...recordedSeconds.keys()].filter((s) => perStream.get(s)?.length === 1);
  const deviations: number[] = [];
  const incomplete: string[] = [];
  for (const [stream, expected] of recordedSeconds) {
    const [row] = perStream.get(stream) ?? [];
    if (!row) {
      incomplete.push(`${stream}: no record`);
      continue;
    }
    const mp4 = path.join(stack.dataDir, 'record', row.uuid, 'index.mp4');
    const media = fs.existsSync(mp4) ? await probe(mp4).catch(() => null) : null;
    if (!media) {
      incomplete.push(`${stream}: no readable MP4`);
      continue;
    }
    const kinds = media.streams.map((s) => s.codec_type).sort();
    const deviation = media.duration - expected;
    deviations.push(deviation);
    // Complete: all the media published while recording, plus at most the fragment that was open
    // when recording was turned on; and the MP4 holds every segment the record committed.
    if (
      deviation < -1 ||
      deviation > RECORD_FRAGMENT_SECONDS + 1 ||
      Math.abs(media.duration - row.duration) > 1 ||
      kinds.join() !== 'audio,video'
    ) {
      incomplete.push(
        `${stream}: MP4 ${media.duration.toFixed(1)} s (${kinds.join('+')}), segments ${row.duration.toFixed(1)} s, published while recording ${expected.toFixed(1)} s`,
      );
    }
  }
  return {
    endMs,
    finishMs,
    checks: [
      {
        what: 'one record per stream',
        ok: single.length === recordedSeconds.size,
        detail: `${single.length}/${recordedSeconds.size} streams (${rows.length} records in all)`,
      },
      {
        what: 'every recording complete (ffprobe: MP4 duration ≈ publish time while recording, audio+video)',
        ok: incomplete.length === 0,
        detail:
          `${recordedSeconds.size - incomplete.length}/${recordedSeconds.size}; MP4 − published ` +
          `min ${Math.min(...deviations).toFixed(2)} s, max ${Math.max(...deviations).toFixed(2)} s` +
          (incomplete.length ? `; ${incomplete.slice(0, 5).join('; ')}` : ''),
      },
    ],
  };
}

const pct = (n: number | undefined) => `${(n ?? NaN).toFixed(1)} %`;
const mb = (n: number | undefined) => `${(n ?? NaN).toFixed(0)} MB`;

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  process.stdout.write(
    `Run: ${PUBLISHERS} publishers, ${HLS_VIEWERS} HLS + ${LLHLS_VIEWERS} LL-HLS + ${FLV_VIEWERS} HTTP-FLV viewers, ${HOGS} CPU hogs, ${LOAD_SECONDS} s load window, ${BASELINE_SECONDS} s baseline window\n`,
  );
  const sample = await sampleFlv(); // 640x360 25 fps, H.264 1 Mbps + AAC 64 kbps, 1 s GOP, 10 s
  const sampleInfo = await probe(sample);
  const sourceBytesPerSecond = fs.statSync(sample).size / sampleInfo.duration;
  const sourceMbps = (sourceBytesPerSecond * 8) / 1e6;

  const receiver = new HookReceiver();
  const hookUrl = await receiver.start();
  const stack = await startStack();
  const swarm = new Swarm();
  const publishers: Publisher[] = [];
  const hogs: ChildProcess[] = [];
  const checks: Check[] = [];
  try {
    const bearer = await initAdmin(stack);
    const api = stackApi(stack, bearer);
    const nginxMaster = await readyChildPid(stack, bearer, 'nginx');
    const redis = await readyChildPid(stack, bearer, 'redis');
    const { publish: secret } = (await api('/hooks/srs/secret/query')) as { publish: string };
    await api('/mgmt/hooks/apply', { target: hookUrl, all: true });
    await api('/mgmt/hlsll/update', { hlsLowLatency: HLS_LOW_LATENCY });
    const rtmpBase = `rtmp://127.0.0.1:${stack.ports.rtmp}/live`;
    const probe = new PublishProbe(rtmpBase, secret, receiver, PROBE_EVERY_MS);
    const idleHooks = await probe.run({ count: IDLE_PROBES });

    for (let i = 0; i < PUBLISHERS; i++) {
      publishers.push(publishFile(`${rtmpBase}/${streamName(i)}?secret=${secret}`, sample));
      await sleep(100); // publishers arrive over a few seconds, not in one instant
    }
    const live = async () =>
      (((await api('/mgmt/streams/query')) as { streams: Array<{ stream: string }> | null }).streams ?? []).filter((s) =>
        /^s\d+$/.test(s.stream),
      ).length;
    await waitFor(
      async () => (await live()) === PUBLISHERS && newestSegments(stack).size === PUBLISHERS,
      60_000,
      () => `${PUBLISHERS} streams live with HLS (publishers still running: ${publishers.filter((p) => p.running()).length})`,
    );
    const stackGroups = async () => ({
      node: [stack.proc.pid as number],
      redis: [redis],
      nginx: [nginxMaster, ...childPids(nginxMaster)],
      // Any ffmpeg the stack runs (none is expected: HTTP-FLV and LL-HLS come from the live tap).
      pulls: (await supervisedChildren(stack, bearer))
        .filter((c) => c.pid && c.pid !== nginxMaster && c.pid !== redis)
        .map((c) => c.pid as number),
    });
    const generatorGroups = () => ({
      publishers: publishers.map((p) => p.proc.pid as number),
      swarm: [swarm.pid],
      bench: [process.pid],
      hogs: hogs.map((h) => h.pid as number),
    });

    await sleep(3000);
    const baseline = await measureWindow(BASELINE_SECONDS, { ...(await stackGroups()), ...generatorGroups() }, probe);

    await api('/hooks/record/apply', { all: true });
    const recordingFrom = Date.now();
    hogs.push(...Array.from({ length: HOGS }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })));
    for (let i = 0; i < PUBLISHERS; i++) {
      const url = `${stack.url}/live/${streamName(i)}`;
      const hls = Math.floor(HLS_VIEWERS / PUBLISHERS) + (i < HLS_VIEWERS % PUBLISHERS ? 1 : 0);
      const flv = Math.floor(FLV_VIEWERS / PUBLISHERS) + (i < FLV_VIEWERS % PUBLISHERS ? 1 : 0);
      if (hls) await swarm.start('hls', `${url}.m3u8`, hls);
      if (flv) await swarm.start('flv', `${url}.flv`, flv);
      const llhls = Math.floor(LLHLS_VIEWERS / PUBLISHERS) + (i < LLHLS_VIEWERS % PUBLISHERS ? 1 : 0);
      if (llhls) await swarm.start('llhls', `${url}/ll.m3u8`, llhls);
    }
    await sleep(WARMUP_SECONDS * 1000);
    await swarm.mark();
    const atMark = newestSegments(stack);
    await stackLoopDelay(stack, bearer);
    const loaded = await measureWindow(LOAD_SECONDS, { ...(await stackGroups()), ...generatorGroups() }, probe);
    const atReport = newestSegments(stack);
    const stackLoop = await stackLoopDelay(stack, bearer);
    const viewers = await swarm.report();
    for (const hog of hogs) hog.kill('SIGKILL');
    checks.push(...viewerChecks(viewers, atMark, atReport, sourceBytesPerSecond));
    await swarm.stopPlayers();

    // Publishers stop; each record holds what was published since recording was turned on.
    const recordedSeconds = new Map<string, number>();
    await Promise.all(
      publishers.map(async (p, i) => {
        const stoppedAt = Date.now();
        await p.stop();
        recordedSeconds.set(streamName(i), (stoppedAt - recordingFrom) / 1000);
      }),
    );
    await waitFor(
      async () => (await live()) === 0,
      30_000,
      () => 'every stream to end',
    );
    await sleep(5000); // the engine's last fragments reach the recorder (its watcher scans every 2 s)
    const records = await recordingChecks(stack, bearer, recordedSeconds);
    checks.push(...records.checks);
    const names = new Set([...recordedSeconds.keys()]);
    await waitFor(
      () => receiver.count('on_record_end', names) >= PUBLISHERS,
      30_000,
      () => 'on_record_end callbacks',
    ).catch(() => undefined);
    const hookFailures = [...idleHooks.failures, ...baseline.hooks.failures, ...loaded.hooks.failures];
    checks.push({
      what: 'every probe publish accepted',
      ok: hookFailures.length === 0,
      detail: hookFailures.length ? hookFailures.slice(0, 3).join('; ') : 'yes',
    });
    const callbackCounts = ['on_publish', 'on_unpublish', 'on_record_begin', 'on_record_end'].map((a) => receiver.count(a, names));
    checks.push({
      what: 'HTTP callbacks received for the publishers (on_publish, on_unpublish, on_record_begin, on_record_end)',
      ok: callbackCounts.every((n) => n === PUBLISHERS),
      detail: `${callbackCounts.join(', ')} of ${PUBLISHERS} each`,
    });

    const both = (f: (w: WindowResult) => string): string[] => [f(baseline), f(loaded)];
    const STACK = ['node', 'redis', 'nginx', 'pulls'];
    const stackSum = (values: Record<string, number>) => STACK.reduce((n, k) => n + (values[k] ?? 0), 0);
    const memory = (w: WindowResult, k: string) => `${mb(w.memory.peakRss[k])} RSS, ${mb(w.memory.peakPss[k])} PSS`;
    printTable(
      `Load (bench/load.bench.ts): ${PUBLISHERS} publishers × ${sourceMbps.toFixed(2)} Mbit/s, ` +
        `recording, ${HLS_VIEWERS} HLS (${HLS_LOW_LATENCY ? '2 s' : '10 s'} segments) + ${LLHLS_VIEWERS} LL-HLS + ${FLV_VIEWERS} HTTP-FLV viewers` +
        `${HOGS ? `, ${HOGS} CPU hog${HOGS > 1 ? 's' : ''}` : ''}, HTTP callbacks on`,
      [
        ['window', ...both((w) => `${w.cpu.seconds.toFixed(0)} s`)],
        ['recording', 'off', `on (${PUBLISHERS} streams)`],
        ['viewers', '0', `${HLS_VIEWERS} HLS + ${LLHLS_VIEWERS} LL-HLS + ${FLV_VIEWERS} FLV`],
        ["CPU hogs (busy loops) from the viewers' arrival to the window end", '0', `${HOGS} (${pct(loaded.cpu.percent.hogs ?? 0)})`],
        ['stack CPU, all its processes (% of one core)', ...both((w) => pct(stackSum(w.cpu.percent)))],
        ['— node (the stack)', ...both((w) => pct(w.cpu.percent.node))],
        ['— redis-server', ...both((w) => pct(w.cpu.percent.redis))],
        ['— nginx-rtmp (master + worker)', ...both((w) => pct(w.cpu.percent.nginx))],
        ['— other children of the stack (ffmpeg)', ...both((w) => `${pct(w.cpu.percent.pulls)} (${w.pulls} processes)`)],
        [
          'stack memory peak, all its processes',
          ...both((w) => `${mb(stackSum(w.memory.peakRss))} RSS, ${mb(stackSum(w.memory.peakPss))} PSS`),
        ],
        ['— node (the stack)', ...both((w) => memory(w, 'node'))],
        ['— redis-server', ...both((w) => memory(w, 'redis'))],
        ['— nginx-rtmp (master + worker)', ...both((w) => memory(w, 'nginx'))],
        [
          '— other children of the stack (ffmpeg)',
          ...both((w) => (w.pulls ? `${memory(w, 'pulls')} (${((w.memory.peakPss.pulls ?? 0) / w.pulls).toFixed(1)} MB PSS each)` : '—')),
        ],
        ['publish hook, RTMP publish → accepted (receiver answers at once)', ...both((w) => hookFigures(w.hooks))],
        [
          'load generators CPU: publishers ffmpeg / viewer swarm / bench',
          ...both((w) => [w.cpu.percent.publishers, w.cpu.percent.swarm, w.cpu.percent.bench].map(pct).join(' / ')),
        ],
        ['whole machine busy (200 % = both cores)', ...both((w) => pct(w.cpu.machinePercent))],
        ['load average (1 min) at the window end', ...both((w) => w.loadAverage.toFixed(2))],
      ],
      ['measure', 'baseline: publishers only', 'load'],
    );
    printTable('Load (bench/load.bench.ts): checks', [
      ['publish hook on the idle stack (before any publisher)', hookFigures(idleHooks)],
      [
        "the stack's event-loop delay in the window (its /metrics)",
        `p99 ${stackLoop.p99Ms.toFixed(0)} ms, max ${stackLoop.maxMs.toFixed(0)} ms`,
      ],
      [
        'viewer swarm event-loop delay in the window',
        `p99 ${viewers.loopDelayP99Ms.toFixed(0)} ms, max ${viewers.loopDelayMaxMs.toFixed(0)} ms`,
      ],
      [
        `record/end of ${PUBLISHERS} records → all MP4s done`,
        `${(records.finishMs / 1000).toFixed(1)} s (the end calls took ${records.endMs} ms)`,
      ],
      ...checks.map((c) => [`${c.ok ? '✓' : '✗ FAILED:'} ${c.what}`, c.detail]),
    ]);
    if (checks.some((c) => !c.ok)) process.exitCode = 1;
  } finally {
    for (const hog of hogs) hog.kill('SIGKILL');
    swarm.kill();
    await Promise.all(publishers.map((p) => p.stop()));
    await stack.stop();
    await receiver.stop();
    fs.rmSync(stack.dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
