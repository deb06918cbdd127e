// Issue 18 figures: how soon a restream destination's state tells the truth, next to how soon the
// task's own state (SRS Stack's `state`, which follows the process) does, measured in the same run:
// a hung ffmpeg (SIGSTOP: the process is alive, nothing reaches the destination), a destination that
// goes away, its return, and a destination refusing the key. Polls `forward/streams` every 100 ms.
import path from 'node:path';
import { makeMedia, startRtmpServer, type Publisher } from '../test/helpers/media.js';
import { publishIntoStack } from '../test/helpers/restream.js';
import { initAdmin, startStack, tempDir, type StackHandle } from '../test/helpers/stack.js';
import { machine, median, printTable } from './lib.js';

const RUNS = 3;
interface Row {
  platform: string;
  state: string;
  task?: { pid: number | null };
  destination?: { state: string };
}

async function row(stack: StackHandle, bearer: string, platform: string): Promise<Row | undefined> {
  const rows = (await stack.api('/terraform/v1/ffmpeg/forward/streams', {}, { bearer })).json.data as Row[];
  return rows.find((r) => r.platform === platform);
}

/** Milliseconds from t0 until each check first holds (polled every 100 ms, 60 s at most). */
async function until(read: () => Promise<Row | undefined>, checks: Record<string, (r: Row | undefined) => boolean>, t0: number) {
  const seen: Record<string, number> = {};
  while (Object.keys(seen).length < Object.keys(checks).length && Date.now() - t0 < 60_000) {
    const r = await read();
    for (const [name, check] of Object.entries(checks)) if (seen[name] === undefined && check(r)) seen[name] = Date.now() - t0;
    await new Promise((res) => setTimeout(res, 100));
  }
  return seen;
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  const media = tempDir('bench-dest-');
  const file = await makeMedia(path.join(media, 'src.flv'), { seconds: 10, format: 'flv' });
  const dest = await startRtmpServer();
  const refusing = await startRtmpServer(undefined, { refusePublish: true });
  const stack = await startStack({ dataDir: tempDir('bench-dest-data-') });
  const bearer = await initAdmin(stack);
  const publishers: Publisher[] = [await publishIntoStack(stack, bearer, file, 'livestream')];
  const read = () => row(stack, bearer, 'wx');
  const save = (platform: string, server: string) =>
    stack.api('/terraform/v1/ffmpeg/forward/secret', { action: 'update', platform, server, enabled: true }, { bearer });
  const live = (r: Row | undefined) => r?.destination?.state === 'live';
  const samples: Record<string, number[]> = {};
  const add = (seen: Record<string, number>) => {
    for (const [k, v] of Object.entries(seen)) (samples[k] ??= []).push(v);
  };
  try {
    await save('wx', dest.url('live', 'bench-key'));
    for (let i = 0; i < RUNS; i++) {
      await until(read, { live: (r) => live(r) }, Date.now());
      await new Promise((r) => setTimeout(r, 4000)); // live long enough to count as a drop (LIVE_CONFIRM_MS)
      const pid = (await read())?.task?.pid as number;
      let t0 = Date.now();
      process.kill(pid, 'SIGSTOP');
      add(
        await until(
          read,
          {
            'hung ffmpeg: destination says stalled': (r) => r?.destination?.state === 'stalled',
            'hung ffmpeg: task state leaves streaming (baseline)': (r) => r?.state !== 'streaming',
          },
          t0,
        ),
      );
      await until(read, { live: (r) => live(r) && r?.task?.pid !== pid }, Date.now());
      await new Promise((r) => setTimeout(r, 4000));
      t0 = Date.now();
      await dest.stop();
      add(
        await until(
          read,
          {
            'destination gone: destination says retrying': (r) => r?.destination?.state === 'retrying',
            'destination gone: task state says retrying (baseline)': (r) => r?.state === 'retrying',
          },
          t0,
        ),
      );
      t0 = Date.now();
      await dest.start();
      add(
        await until(
          read,
          {
            'destination back: destination says live': live,
            'destination back: task says streaming (baseline)': (r) => r?.state === 'streaming',
          },
          t0,
        ),
      );
      t0 = Date.now();
      await save(`forwarding-${i + 1}-dead00`, refusing.url('live', `wrong-${i}`));
      add(
        await until(
          () => row(stack, bearer, `forwarding-${i + 1}-dead00`),
          {
            'key refused: destination says failed': (r) => r?.destination?.state === 'failed',
            'key refused: task state says retrying (baseline)': (r) => r?.state === 'retrying',
          },
          t0,
        ),
      );
      await stack.api(
        '/terraform/v1/ffmpeg/forward/secret',
        { action: 'update', platform: `forwarding-${i + 1}-dead00`, server: refusing.url('live', 'x'), enabled: false },
        { bearer },
      );
    }
    printTable(
      `Seconds until the console/API tells the truth (median of ${RUNS}; n < ${RUNS}: it never did within 60 s in the other runs)`,
      Object.entries(samples).map(([k, v]) => [k, `${(median(v) / 1000).toFixed(1)} s (n=${v.length})`]),
    );
  } finally {
    for (const p of publishers) await p.stop();
    await stack.stop();
    await dest.stop();
    await refusing.stop();
  }
}

await main();
