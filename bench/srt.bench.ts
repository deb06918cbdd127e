// Issue 14 figures for SRT, next to the RTMP baseline measured in the same run (the method of
// /work/scratch/i14/bench/srt-load.sh): CPU (% of one core) and memory of the stack's own
// processes per published stream and per player, SRT vs RTMP.
// Source: a 720p25 H.264 (no B-frames) + AAC file at ~2.8 Mbit/s, looped in real time with -c copy,
// so the senders and players cost almost nothing and are not counted. Counted: the stack's Node
// process (main thread + the SRT worker), nginx (master + workers), and the stack's SRT ffmpegs
// (one bridge per SRT publish, one feed per SRT-played stream).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { publishFile, type Publisher } from '../test/helpers/media.js';
import { publishSecretOf, stackPublishUrl, waitStreamLive } from '../test/helpers/restream.js';
import { keepPlaying, playId, publishId, srtStatus, srtUrl } from '../test/helpers/srt.js';
import { initAdmin, sleep, startStack, waitFor, type StackHandle } from '../test/helpers/stack.js';
import { childPids, CpuWindow, machine, MemorySampler, printTable, supervisedChildren } from './lib.js';

const run = promisify(execFile);
const WINDOW_S = Number(process.env.SRT_BENCH_WINDOW ?? 12);
const STREAMS = 3;
const PLAYERS = 5;

async function clip(): Promise<string> {
  const dir = path.join(os.tmpdir(), 'srs-stack-media');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'srt-bench-720p25-2800k-20s.ts');
  if (fs.existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp.ts`;
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
    ...['-vf', 'noise=alls=12:allf=t', '-t', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-bf', '0'],
    ...['-b:v', '2700k', '-maxrate', '2700k', '-bufsize', '2700k', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k'],
    ...['-pes_payload_size', '0', '-f', 'mpegts', tmp],
  ]);
  fs.renameSync(tmp, file);
  return file;
}

/** The pids to count, by group, read fresh (bridges and feeds come and go). */
async function groups(stack: StackHandle, bearer: string): Promise<Record<string, number[]>> {
  const children = await supervisedChildren(stack, bearer);
  const pidsOf = (match: (name: string) => boolean) => children.filter((c) => match(c.name) && c.pid).map((c) => c.pid as number);
  const nginx = pidsOf((n) => n === 'nginx');
  return {
    node: [stack.proc.pid as number],
    nginx: [...nginx, ...nginx.flatMap(childPids)],
    'srt ffmpeg': pidsOf((n) => n.startsWith('srt-publish-') || n.startsWith('srt-play-')),
  };
}

interface Stage {
  name: string;
  cpu: Record<string, number>;
  machine: number;
  rss: Record<string, number>;
  pss: Record<string, number>;
}

async function measure(stack: StackHandle, bearer: string, name: string): Promise<Stage> {
  await sleep(4000); // settle: probes, GOP caches, HLS segments
  const g = await groups(stack, bearer);
  const mem = new MemorySampler(() => g, 2000);
  const window = new CpuWindow(g);
  await sleep(WINDOW_S * 1000);
  const { percent, machinePercent } = window.end();
  mem.stop();
  process.stdout.write(`  measured: ${name}\n`);
  return { name, cpu: percent, machine: machinePercent, rss: mem.peakRss, pss: mem.peakPss };
}

const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const f1 = (n: number) => n.toFixed(1);

async function main(): Promise<void> {
  const file = await clip();
  const stack = await startStack();
  const running: Publisher[] = [];
  try {
    const bearer = await initAdmin(stack);
    const secret = await publishSecretOf(stack, bearer);
    await waitFor(async () => (await srtStatus(stack, bearer)).available, 10_000);
    const stages: Stage[] = [];
    const stopAll = async () => {
      await Promise.all(running.splice(0).map((p) => p.stop()));
      const live = async () =>
        ((await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer })).json.data as { streams: unknown[] | null }).streams ?? [];
      await waitFor(
        async () => (await live()).length === 0,
        15_000,
        () => 'every stream ended',
      );
      await sleep(3000);
    };

    stages.push(await measure(stack, bearer, 'idle'));

    // RTMP baseline: publishers, then players of one stream.
    for (let i = 1; i <= STREAMS; i++) running.push(publishFile(stackPublishUrl(stack, secret, `r${i}`), file));
    for (let i = 1; i <= STREAMS; i++) await waitStreamLive(stack, bearer, `r${i}`);
    stages.push(await measure(stack, bearer, `${STREAMS} RTMP publishers`));
    for (let i = 0; i < PLAYERS; i++) running.push(keepPlaying(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/r1`));
    stages.push(await measure(stack, bearer, `${STREAMS} RTMP publishers + ${PLAYERS} RTMP players of one`));
    await stopAll();

    // SRT: the same publishers and players over the SRT port.
    for (let i = 1; i <= STREAMS; i++) running.push(publishFile(srtUrl(stack.srtPort, publishId(`s${i}`, secret)), file));
    for (let i = 1; i <= STREAMS; i++) await waitStreamLive(stack, bearer, `s${i}`);
    stages.push(await measure(stack, bearer, `${STREAMS} SRT publishers`));
    for (let i = 0; i < PLAYERS; i++) running.push(keepPlaying(srtUrl(stack.srtPort, playId('s1'))));
    await waitFor(
      async () => (await srtStatus(stack, bearer)).players === PLAYERS,
      30_000,
      () => `${PLAYERS} SRT players`,
    );
    stages.push(await measure(stack, bearer, `${STREAMS} SRT publishers + ${PLAYERS} SRT players of one`));
    const status = await srtStatus(stack, bearer);
    await stopAll();

    printTable(
      `SRT vs RTMP load (${machine()}; ${WINDOW_S} s windows; CPU in % of one core, memory peaks in MiB)`,
      stages.map((s) => [
        s.name,
        f1(s.cpu.node ?? 0),
        f1(s.cpu.nginx ?? 0),
        f1(s.cpu['srt ffmpeg'] ?? 0),
        f1(total(s.cpu)),
        f1(s.machine),
        `${f1(s.rss.node ?? 0)} / ${f1(s.pss.node ?? 0)}`,
        `${f1(s.rss['srt ffmpeg'] ?? 0)} / ${f1(s.pss['srt ffmpeg'] ?? 0)}`,
      ]),
      ['load', 'node %', 'nginx %', 'srt ffmpeg %', 'stack total %', 'machine %', 'node RSS / PSS', 'srt ffmpeg RSS / PSS'],
    );
    const [idle, rtmpPub, rtmpPlay, srtPub, srtPlay] = stages as [Stage, Stage, Stage, Stage, Stage];
    const perStream = (s: Stage) => (total(s.cpu) - total(idle.cpu)) / STREAMS;
    const perPlayer = (withPlayers: Stage, without: Stage) => (total(withPlayers.cpu) - total(without.cpu)) / PLAYERS;
    const pss = (s: Stage) => total(s.pss);
    printTable('Per stream and per player (stack total, increments over the stage before)', [
      ['CPU per published stream: RTMP', `${f1(perStream(rtmpPub))} %`],
      ['CPU per published stream: SRT', `${f1(perStream(srtPub))} %`],
      ['CPU per player: RTMP', `${f1(perPlayer(rtmpPlay, rtmpPub))} %`],
      ['CPU per player: SRT', `${f1(perPlayer(srtPlay, srtPub))} %`],
      ['memory (PSS) per published stream: RTMP', `${f1((pss(rtmpPub) - pss(idle)) / STREAMS)} MiB`],
      ['memory (PSS) per published stream: SRT', `${f1((pss(srtPub) - pss(idle)) / STREAMS)} MiB`],
      ['memory (PSS) per player: RTMP', `${f1((pss(rtmpPlay) - pss(rtmpPub)) / PLAYERS)} MiB`],
      ['memory (PSS) per player: SRT', `${f1((pss(srtPlay) - pss(srtPub)) / PLAYERS)} MiB`],
      [
        'SRT listen callback (JS, per handshake)',
        `avg ${f1(status.worker?.handshakes.avgUs ?? 0)} µs, max ${f1(status.worker?.handshakes.maxUs ?? 0)} µs over ${status.worker?.handshakes.calls ?? 0}`,
      ],
    ]);
  } finally {
    await Promise.all(running.map((p) => p.stop()));
    await stack.stop();
  }
}

await main();
