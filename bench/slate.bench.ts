// Issue 18 item 5: what the slate costs. CPU and memory of 5 copy-codec forwards of a 2.5 Mbit/s
// stream with the slate off (ffmpeg reads the live tap's HTTP-FLV) and on (the stack writes each
// ffmpeg's stdin through a ContinuousFeed), in one run; then the switch times as the stack logs
// them: publisher gone → slate, publisher back → live (docs/architecture.md, "The slate").
import path from 'node:path';
import { makeMedia, publishFile, startRtmpServer, type Publisher } from '../test/helpers/media.js';
import { publishSecretOf, stackPublishUrl, waitStreamLive } from '../test/helpers/restream.js';
import { initAdmin, sleep, startStack, tempDir, waitFor, type StackHandle } from '../test/helpers/stack.js';
import { cpuDuring, machine, median, printTable, pssMb, rssMb } from './lib.js';

const WINDOW_MS = 15_000;
const SLOTS = ['wx', 'bilibili', 'kuaishou', 'forwarding-1-b0b0b1', 'forwarding-2-b0b0b2'];

interface Child {
  name: string;
  pid: number | null;
}

async function forwardPids(stack: StackHandle, bearer: string): Promise<number[]> {
  const res = await stack.api('/terraform/v1/mgmt/supervisor/query', {}, { bearer });
  return (res.json.data as { children: Child[] }).children
    .filter((c) => c.name.startsWith('forward-') && c.pid)
    .map((c) => c.pid as number);
}

/** When the stack logged a line containing `text` after `since` (ms since the epoch), or null. */
function loggedAt(stack: StackHandle, text: string, since: number): number | null {
  for (const line of stack.logs().split('\n')) {
    if (!line.includes(text)) continue;
    const at = Date.parse(line.slice(0, 24));
    if (at >= since) return at;
  }
  return null;
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  const media = tempDir('bench-slate-');
  const file = await makeMedia(path.join(media, 'src.flv'), { seconds: 20, size: '1280x720', fps: 25, videoKbps: 2400, format: 'flv' });
  const dest = await startRtmpServer();
  const stack = await startStack({ dataDir: tempDir('bench-slate-data-') });
  const publishers: Publisher[] = [];
  try {
    const bearer = await initAdmin(stack);
    const secret = await publishSecretOf(stack, bearer);
    publishers.push(publishFile(stackPublishUrl(stack, secret, 'show'), file));
    await waitStreamLive(stack, bearer, 'show');
    const stackPid = stack.proc.pid as number;
    const configure = async (n: number, slateSeconds: number) => {
      for (const [i, platform] of SLOTS.entries()) {
        await stack.api(
          '/terraform/v1/ffmpeg/forward/secret',
          { action: 'update', platform, server: dest.url('live', `k${i}`), stream: 'show', enabled: i < n, slateSeconds },
          { bearer },
        );
      }
      await waitFor(
        async () => (await forwardPids(stack, bearer)).length === n,
        60_000,
        () => `${n} forwards running`,
      );
      await sleep(4000);
    };
    const rows: string[][] = [];
    const results: Record<string, { ffmpeg: number; node: number; rss: number; pss: number }> = {};
    for (const [label, slateSeconds] of [
      ['off', 0],
      ['on', 60],
    ] as const) {
      await configure(SLOTS.length, slateSeconds);
      const tasks = await forwardPids(stack, bearer);
      let nodeCpu = 0;
      const { cpuPercent } = await cpuDuring(tasks, async () => {
        nodeCpu = (await cpuDuring([stackPid], () => sleep(WINDOW_MS))).cpuPercent;
      });
      results[label] = {
        ffmpeg: cpuPercent,
        node: nodeCpu,
        rss: tasks.reduce((a, p) => a + rssMb(p), 0),
        pss: tasks.reduce((a, p) => a + pssMb(p), 0),
      };
      await configure(0, slateSeconds);
    }
    const n = SLOTS.length;
    const per = (v: number) => (v / n).toFixed(2);
    for (const label of ['off', 'on'] as const) {
      const r = results[label] as { ffmpeg: number; node: number; rss: number; pss: number };
      rows.push([
        `slate ${label}: ${n} forwards`,
        `${r.ffmpeg.toFixed(1)} % (${per(r.ffmpeg)} % each)`,
        `${r.node.toFixed(1)} %`,
        `${r.pss.toFixed(0)} MB PSS (${per(r.pss)} MB each), ${r.rss.toFixed(0)} MB RSS`,
      ]);
    }
    printTable(
      `Slate (bench/slate.bench.ts): ${n} copy-codec forwards of one 2.5 Mbit/s 720p25 stream, ${WINDOW_MS / 1000} s windows, CPU in % of one core`,
      rows,
      ['forwards', 'ffmpeg CPU', 'stack process CPU (the stream, the tap, the feeds)', 'ffmpeg memory'],
    );

    // Switch times, one forward with the slate: as the stack sees them (its log lines, one clock).
    await configure(1, 60);
    const toSlate: number[] = [];
    const toLive: number[] = [];
    for (let i = 0; i < 3; i++) {
      const gone = Date.now();
      await (publishers.pop() as Publisher).stop();
      await waitFor(
        async () => loggedAt(stack, 'stopped publishing: the slate runs', gone) !== null,
        30_000,
        () => 'the slate',
      );
      toSlate.push((loggedAt(stack, 'stopped publishing: the slate runs', gone) as number) - gone);
      await sleep(3000);
      const back = Date.now();
      publishers.push(publishFile(stackPublishUrl(stack, secret, 'show'), file));
      await waitFor(
        async () => loggedAt(stack, 'show is live', back) !== null,
        30_000,
        () => 'live again',
      );
      toLive.push((loggedAt(stack, 'show is live', back) as number) - back);
      await sleep(3000);
    }
    printTable('Slate switch times (one forward, 3 drops of 3 s)', [
      [
        'publisher killed → the slate is written (the engine notices the drop, the tap ends the stream)',
        `median ${median(toSlate)} ms (${toSlate.join(', ')})`,
      ],
      ['publisher starts (ffmpeg spawn included) → live is written again', `median ${median(toLive)} ms (${toLive.join(', ')})`],
    ]);
    await configure(0, 60);
  } finally {
    for (const p of publishers) await p.stop();
    await dest.stop();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
