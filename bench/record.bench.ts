// Issue 4 figures.
// 1. Time from record/end to the MP4 being done (record.end raised) for a 10-minute 2.5 Mbps
//    recording, next to a plain `cp` of the same bytes in the same run (the ratio is what matters).
//    The 300 segments are fed in a burst; the end is called once the MP4 writer has caught up (its
//    file stops growing), as for a live record whose segments come every 2 s. How long the writer
//    took to catch up with the burst is printed too.
// 2. CPU of the stack (node + its redis-server) while 10 real RTMP streams record at once, next to
//    the same 10 streams with recording off. The publishers send the pre-encoded fixture with
//    `-c copy`, so they hardly compete for the 2 cores.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { collectStackEvents, StreamFeeder, type FixtureSegment } from '../test/helpers/hls-fixture.js';
import { FEEDER_MAIN, initAdmin, sleep, startStack, tempDir, waitFor, type StackHandle } from '../test/helpers/stack.js';
import { liveMp4Path } from '../server/features/record/live-mp4.js';
import { childPids, cpuDuring, machine, median, printTable, readyChildPid } from './lib.js';
import { fixture, FIXTURE_DIR } from './record-fixture.js';

const ROUNDS = 5;
const STREAMS = 10;
const CPU_WINDOW_S = Number(process.env.RECORD_BENCH_CPU_SECONDS ?? 60);
// RECORD_BENCH_PARTS=finish or =cpu runs one part only.

async function bearerApi(stack: StackHandle) {
  const bearer = await initAdmin(stack);
  return async (name: string, body: unknown = {}) => {
    const res = await stack.api(`/terraform/v1/hooks/record/${name}`, body, { bearer });
    if (res.status !== 200) throw new Error(`record/${name}: ${res.status} ${res.json.message}`);
    return res.json.data;
  };
}

function timeMs(work: () => void): number {
  const t0 = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** When (Date.now()) `file` was last seen growing, once it has not grown for STILL_MS. */
async function untilStill(file: string): Promise<number> {
  const STILL_MS = 1000;
  let size = -1;
  let grewAt = Date.now();
  for (;;) {
    const now = fs.existsSync(file) ? fs.statSync(file).size : -1;
    if (now !== size) {
      size = now;
      grewAt = Date.now();
    } else if (Date.now() - grewAt >= STILL_MS) {
      return grewAt;
    }
    await sleep(50);
  }
}

async function finishTime(segments: FixtureSegment[]): Promise<void> {
  const stack = await startStack({ entry: FEEDER_MAIN, env: { SRS_RECORD_WAIT_SECONDS: '3600' } });
  const events = collectStackEvents(stack);
  try {
    const record = await bearerApi(stack);
    await record('apply', { all: true });
    const bytes = segments.reduce((s, f) => s + fs.statSync(f.file).size, 0);
    const joined = path.join(stack.dataDir, 'same-bytes.ts');
    fs.writeFileSync(joined, Buffer.concat(segments.map((s) => fs.readFileSync(s.file))));
    const finishes: number[] = [];
    const copies: number[] = [];
    const syncedCopies: number[] = [];
    let intakeRate = 0;
    const catchUps: number[] = [];
    let mp4Bytes = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const feeder = new StreamFeeder(stack, tempDir('bench-hls-'), 'live', `bench${round}`);
      await feeder.publish();
      const t0 = Date.now();
      await feeder.segments(segments);
      intakeRate = segments.length / ((Date.now() - t0) / 1000);
      const files = (await record('files')) as Array<{ uuid: string; stream: string }>;
      const uuid = files.find((f) => f.stream === `bench${round}`)?.uuid as string;
      catchUps.push((await untilStill(liveMp4Path(path.join(stack.dataDir, 'record', uuid)))) - t0);
      const ended = process.hrtime.bigint();
      await record('end', { uuid });
      await waitFor(
        () => events.some((e) => e.event === 'record.end' && e.payload.uuid === uuid),
        600_000,
        () => 'record.end',
      );
      finishes.push(Number(process.hrtime.bigint() - ended) / 1e6);
      mp4Bytes = fs.statSync(path.join(stack.dataDir, 'record', uuid, 'index.mp4')).size;

      const target = path.join(stack.dataDir, `copy-${round}.ts`);
      copies.push(timeMs(() => execFileSync('cp', [joined, target])));
      fs.rmSync(target);
      // cp then fsync, since the recorder flushes its MP4 to disk before reporting it done.
      syncedCopies.push(timeMs(() => execFileSync('dd', [`if=${joined}`, `of=${target}`, 'bs=4M', 'conv=fsync', 'status=none'])));
      fs.rmSync(target);
      await feeder.unpublish();
    }
    const finish = median(finishes);
    printTable(`record/end → MP4 done, 10 min at 2.5 Mbps (${segments.length} segments), median of ${ROUNDS}`, [
      ['segments (TS bytes)', `${(bytes / 2 ** 20).toFixed(1)} MiB`],
      ['MP4 bytes', `${(mp4Bytes / 2 ** 20).toFixed(1)} MiB`],
      [
        'record/end → done (index the MP4 written while recording, fsync, rename)',
        `${finish.toFixed(0)} ms (runs: ${finishes.map((f) => f.toFixed(0)).join(', ')})`,
      ],
      ['plain cp of the same bytes', `${median(copies).toFixed(0)} ms (runs: ${copies.map((f) => f.toFixed(0)).join(', ')})`],
      ['ratio finish / cp', `${(finish / median(copies)).toFixed(1)} ×`],
      [
        'cp + fsync (dd conv=fsync) of the same bytes',
        `${median(syncedCopies).toFixed(0)} ms (runs: ${syncedCopies.map((f) => f.toFixed(0)).join(', ')})`,
      ],
      ['ratio finish / (cp + fsync)', `${(finish / median(syncedCopies)).toFixed(1)} ×`],
      ['segment intake (copy + Redis write-ahead + commit), fed as fast as possible', `${intakeRate.toFixed(0)} segments/s`],
      [
        'the MP4 writer caught up with the burst (its file still for 1 s, not counted)',
        `${(median(catchUps) / 1000).toFixed(1)} s after the first segment (runs: ${catchUps.map((c) => (c / 1000).toFixed(1)).join(', ')} s): ${(segments.length / (median(catchUps) / 1000)).toFixed(0)} segments/s`,
      ],
    ]);
  } finally {
    await stack.stop();
  }
}

async function cpuWhileRecording(segments: FixtureSegment[]): Promise<void> {
  // One source file of the fixture, published with -c copy: the publishers cost almost nothing.
  const source = path.join(FIXTURE_DIR, 'all.ts');
  if (!fs.existsSync(source)) fs.writeFileSync(source, Buffer.concat(segments.map((s) => fs.readFileSync(s.file))));
  const stack = await startStack({ env: { SRS_RECORD_WAIT_SECONDS: '300' } });
  const publishers: ChildProcess[] = [];
  try {
    const bearer = await initAdmin(stack);
    const call = async (name: string, body: unknown = {}) => (await stack.api(`/terraform/v1/${name}`, body, { bearer })).json.data;
    const pidOf = (name: string) => readyChildPid(stack, bearer, name);
    const stackPids = [stack.proc.pid as number, await pidOf('redis')];
    const nginxMaster = await pidOf('nginx');
    const { publish: secret } = (await call('hooks/srs/secret/query')) as { publish: string };
    for (let i = 0; i < STREAMS; i++) {
      // prettier-ignore
      publishers.push(spawn('ffmpeg', [
        '-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', source, '-c', 'copy', '-f', 'flv',
        `rtmp://127.0.0.1:${stack.ports.rtmp}/live/s${i}?secret=${secret}`,
      ], { stdio: 'ignore' }));
      await sleep(2000 / STREAMS); // spread like real publishers
    }
    await sleep(8000); // every stream has produced segments
    const nginxPids = [nginxMaster, ...childPids(nginxMaster)];
    const off = await cpuDuring([...stackPids, ...nginxPids], () => sleep(CPU_WINDOW_S * 1000));
    const offStack = await cpuDuring(stackPids, () => sleep(CPU_WINDOW_S * 1000));
    await call('hooks/record/apply', { all: true });
    await sleep(5000); // every stream has begun its record
    const before = ((await call('hooks/record/files')) as Array<{ nn: number }>).reduce((n, r) => n + r.nn, 0);
    const on = await cpuDuring(stackPids, () => sleep(CPU_WINDOW_S * 1000));
    const files = (await call('hooks/record/files')) as Array<{ status: string; nn: number }>;
    const recorded = files.reduce((n, r) => n + r.nn, 0) - before;
    printTable(
      `CPU (% of one core) with ${STREAMS} real RTMP publishes at 2.5 Mbps (ffmpeg -c copy → nginx-rtmp), ${CPU_WINDOW_S} s windows, same run`,
      [
        ['stack (node + redis-server), recording off (HLS watcher and delivery only)', `${offStack.cpuPercent.toFixed(2)} %`],
        [`stack (node + redis-server), recording ${STREAMS} streams`, `${on.cpuPercent.toFixed(2)} %`],
        ['recording cost per stream (on − off) / streams', `${((on.cpuPercent - offStack.cpuPercent) / STREAMS).toFixed(2)} %`],
        ['for scale: stack + nginx-rtmp engine, recording off', `${off.cpuPercent.toFixed(2)} %`],
        ['segments recorded in the window', `${recorded} (${files.filter((f) => f.status === 'recording').length} records in progress)`],
      ],
    );
  } finally {
    for (const p of publishers) p.kill('SIGKILL');
    await stack.stop();
  }
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  const ffmpeg = spawnSync('ffmpeg', ['-version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  process.stdout.write(`${ffmpeg}\n`);
  const segments = await fixture();
  const parts = (process.env.RECORD_BENCH_PARTS ?? 'finish,cpu').split(',');
  if (parts.includes('finish')) await finishTime(segments);
  if (parts.includes('cpu')) await cpuWhileRecording(segments);
}

await main();
