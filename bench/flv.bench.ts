// HTTP-FLV fan-out (issue 3, Measure 1 and 3): 100 and 200 FLV players on one 2.5 Mbps stream,
// CPU and RSS of the stack (which serves FLV from the live tap: the engine pushes every stream into
// it, no process per watched stream) and whether every player keeps up, next to the engine's own
// RTMP fan-out of the same stream to the same number of players, in the same run. Then FLV
// time-to-first-keyframe cold (no player watched the stream before) and warm, next to a bare RTMP
// player of the engine (no GOP cache: it waits for the next keyframe), and what one more live
// stream costs the stack in memory.
import { publishFile, sampleFlv } from '../test/helpers/media.js';
import { initAdmin, sleep, startStack, waitFor } from '../test/helpers/stack.js';
import { childPids, cpuDuring, machine, median, pssMb, printTable, rssMb, supervisedChildren, Swarm, type SwarmReport } from './lib.js';
import { flvPlayer, rtmpPlayer, type Player } from './player-swarm.js';

const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 20);
const COUNTS = (process.env.BENCH_PLAYERS ?? '100,200').split(',').map(Number);
const KEEP_UP = 0.95;
/** Extra streams published to measure what one live stream costs the stack. */
const EXTRA_STREAMS = 4;
/** The FLV gateway forgets a stream's subscription this long after its last player (DEFAULT_RELAY_LIMITS.idleStopMs). */
const FLV_IDLE_MS = 3000;

async function firstKeyframe(make: () => Player): Promise<number> {
  const p = make();
  const t0 = Date.now();
  while (p.firstKeyframeMs < 0 && Date.now() - t0 < 20_000) await sleep(5);
  p.close();
  return p.firstKeyframeMs;
}

function keepUp(r: SwarmReport): string {
  const ok = r.reports.filter((p) => p.ok && p.mediaMs >= r.wallMs * KEEP_UP).length;
  const worst = Math.min(...r.reports.map((p) => p.mediaMs)) / r.wallMs;
  return `${ok}/${r.reports.length} (worst media/wall ${(worst * 100).toFixed(0)} %)`;
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  const sample = await sampleFlv({ videoKbps: 2400, gopSeconds: 2, width: 1280, height: 720, seconds: 20 });
  const stack = await startStack();
  const bearer = await initAdmin(stack);
  const api = async (p: string) => (await stack.api(`/terraform/v1${p}`, {}, { bearer })).json.data;
  const childPid = async (name: string): Promise<number> =>
    (await supervisedChildren(stack, bearer)).find((c) => c.name === name)?.pid ?? 0;
  await waitFor(
    async () => (await childPid('nginx')) > 0,
    15_000,
    () => 'the engine',
  );
  const secret = ((await api('/hooks/srs/secret/query')) as { publish: string }).publish;
  const rtmpUrl = `rtmp://127.0.0.1:${stack.ports.rtmp}/live/bench`;
  const flvUrl = `${stack.url}/live/bench.flv`;
  const publisher = publishFile(`${rtmpUrl}?secret=${secret}`, sample);
  const extra = [] as Array<ReturnType<typeof publishFile>>;
  // The engine's work happens in its worker; its master only supervises.
  const nginxPids = async () => childPids(await childPid('nginx'));
  const stackPid = stack.proc.pid as number;
  /** Processes the stack runs besides nginx and redis: none per watched stream any more. */
  const otherChildren = async () => (await supervisedChildren(stack, bearer)).filter((c) => c.name !== 'nginx' && c.name !== 'redis');
  const swarm = new Swarm();
  const rows: Array<[string, string]> = [];
  try {
    await waitFor(
      async () => (await firstKeyframe(() => flvPlayer(flvUrl))) > 0,
      30_000,
      () => 'the stream to play',
    );
    await sleep(FLV_IDLE_MS + 500);

    const idle = await cpuDuring([stackPid], () => sleep(10_000));
    const idleNginx = await cpuDuring(await nginxPids(), () => sleep(5_000));
    rows.push(['stream', '1280x720 25 fps, H.264 2.4 Mbps + AAC 64 kbps, GOP 2 s (looped file, ffmpeg -re -c copy)']);
    rows.push([
      'baseline, publisher only (the engine pushes it into the stack)',
      `stack ${idle.cpuPercent.toFixed(1)} % CPU, ${rssMb(stackPid).toFixed(0)} MB RSS; nginx ${idleNginx.cpuPercent.toFixed(1)} % CPU`,
    ]);

    for (const n of COUNTS) {
      await swarm.start('flv', flvUrl, n);
      await sleep(6000);
      await swarm.mark();
      const stackCpu = await cpuDuring([stackPid], () => sleep(WINDOW_S * 1000));
      const flv = await swarm.report();
      const stackRss = rssMb(stackPid);
      const perHundred = (stackCpu.cpuPercent - idle.cpuPercent) / (n / 100);
      rows.push([
        `FLV ${n}: stack (node)`,
        `${stackCpu.cpuPercent.toFixed(1)} % CPU (${perHundred.toFixed(1)} % per 100 players over baseline), ${stackRss.toFixed(0)} MB RSS`,
      ]);
      rows.push([`FLV ${n}: processes besides nginx and redis`, `${(await otherChildren()).map((c) => c.name).join(', ') || 'none'}`]);
      rows.push([`FLV ${n}: players keeping up (≥${KEEP_UP * 100} % of real time)`, keepUp(flv)]);
      await swarm.stopPlayers();
      await sleep(2000);

      await swarm.start('rtmp', rtmpUrl, n);
      await sleep(6000);
      await swarm.mark();
      const pids = await nginxPids();
      const ngx = await cpuDuring(pids, () => sleep(WINDOW_S * 1000));
      const rtmp = await swarm.report();
      const ngxPerHundred = (ngx.cpuPercent - idleNginx.cpuPercent) / (n / 100);
      rows.push([
        `RTMP ${n} (nginx-rtmp itself)`,
        `${ngx.cpuPercent.toFixed(1)} % CPU (${ngxPerHundred.toFixed(1)} % per 100 players over baseline), ${pids
          .map(rssMb)
          .reduce((a, b) => a + b, 0)
          .toFixed(0)} MB RSS`,
      ]);
      rows.push([`RTMP ${n}: players keeping up`, keepUp(rtmp)]);
      rows.push([`FLV ${n} / RTMP ${n}: CPU per 100 players`, `${(perHundred / ngxPerHundred).toFixed(2)}x nginx-rtmp's`]);
      await swarm.stopPlayers();
      await sleep(2000);
    }

    // Cold: nobody watched the stream for longer than the gateway keeps a subscription.
    const cold: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(FLV_IDLE_MS + 500 + Math.random() * 1000);
      cold.push(await firstKeyframe(() => flvPlayer(flvUrl)));
    }
    const keeper = flvPlayer(flvUrl);
    await sleep(3000);
    const warm: number[] = [];
    for (let i = 0; i < 9; i++) {
      warm.push(await firstKeyframe(() => flvPlayer(flvUrl)));
      await sleep(300 + Math.random() * 700);
    }
    keeper.close();
    const rtmpFirst: number[] = [];
    for (let i = 0; i < 9; i++) {
      rtmpFirst.push(await firstKeyframe(() => rtmpPlayer(rtmpUrl)));
      await sleep(300 + Math.random() * 700);
    }
    rows.push(['FLV time to first keyframe, cold (no player watched the stream before)', `median ${median(cold)} ms (${cold.join(', ')})`]);
    rows.push(['FLV time to first keyframe, warm (another player watches)', `median ${median(warm)} ms (${warm.join(', ')})`]);
    rows.push(['RTMP from nginx-rtmp, time to first keyframe', `median ${median(rtmpFirst)} ms (${rtmpFirst.join(', ')})`]);

    // What one more live stream costs the stack (its tap stream and GOP cache), unwatched.
    const pssBefore = pssMb(stackPid);
    for (let i = 0; i < EXTRA_STREAMS; i++)
      extra.push(publishFile(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/extra${i}?secret=${secret}`, sample));
    await sleep(8000);
    const pssAfter = pssMb(stackPid);
    rows.push([
      `memory per live stream (stack PSS, ${EXTRA_STREAMS} more streams)`,
      `${((pssAfter - pssBefore) / EXTRA_STREAMS).toFixed(1)} MB (${pssBefore.toFixed(0)} → ${pssAfter.toFixed(0)} MB); no process per stream`,
    ]);
    const more = await cpuDuring([stackPid], () => sleep(10_000));
    rows.push([
      `CPU per live stream, unwatched (stack, ${EXTRA_STREAMS} more streams: the tap's ingest)`,
      `${((more.cpuPercent - idle.cpuPercent) / EXTRA_STREAMS).toFixed(2)} % (${idle.cpuPercent.toFixed(1)} → ${more.cpuPercent.toFixed(1)} %)`,
    ]);
    printTable('HTTP-FLV fan-out vs nginx-rtmp RTMP fan-out (bench/flv.bench.ts)', rows);
  } finally {
    swarm.kill();
    await Promise.all(extra.map((p) => p.stop()));
    await publisher.stop();
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
