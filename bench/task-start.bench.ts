// Issue 15 figures: how long after a publish each restream task shows its first progress line
// (`frame.update` of its row), for forward and transcode, split into publish → ffmpeg spawned → first
// progress; and for virtual live and camera relaying a stream of this stack that is already live,
// Start (the slot saved) → first progress. Same-run baseline: a bare ffmpeg relay started by hand as soon as the stream is listed live,
// once with SRS Stack's argv (`-re -i`) and once with the stack's (`-fpsprobesize 0 -re -i`): what
// ffmpeg's input probe alone costs. Median of RUNS publishes.
import path from 'node:path';
import { spawn } from 'node:child_process';
import { makeMedia, publishFile, startRtmpServer } from '../test/helpers/media.js';
import {
  publishSecretOf,
  Slots,
  stackPlayUrl,
  stackPublishUrl,
  TranscodeSlot,
  waitStreamLive,
  type SlotRow,
} from '../test/helpers/restream.js';
import { initAdmin, startStack, tempDir } from '../test/helpers/stack.js';
import { machine, median, printTable } from './lib.js';

const RUNS = Number(process.env.RUNS ?? 5);

/** Spawn → first progress line with a media time (what the stack counts as progress) of a bare relay. */
function bareRelay(pre: string[], input: string, output: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn('ffmpeg', ['-hide_banner', ...pre, '-re', '-i', input, '-c', 'copy', '-f', 'flv', output], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let text = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.stderr.on('data', (d) => {
      text += d;
      const m = /size=.*time=\s*(\S+)/.exec(
        text.split(/[\r\n]/).find((l) => /size=.*time=\s*\d/.test(l) && !/time=\s*00:00:00\.00/.test(l)) ?? '',
      );
      if (m) {
        clearTimeout(timer);
        p.kill('SIGKILL');
        resolve(Date.now() - t0);
      }
    });
    p.once('exit', () => reject(new Error(`bare relay ended without progress: ${text.slice(-400)}`)));
  });
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  const media = tempDir('bench-task-start-');
  // A typical encoder's stream: 720p25, 2 s GOP, AAC.
  const file = await makeMedia(path.join(media, 'src.flv'), { seconds: 40, size: '1280x720', fps: 25, videoKbps: 2000, format: 'flv' });
  const dest = await startRtmpServer();
  const stack = await startStack({ dataDir: tempDir('bench-task-start-data-') });
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number) => (rows[k] ??= []).push(v);
  try {
    const bearer = await initAdmin(stack);
    const secret = await publishSecretOf(stack, bearer);
    const forward = new Slots(stack, bearer, 'forward');
    const transcode = new TranscodeSlot(stack, bearer);
    const vlive = new Slots(stack, bearer, 'vlive');
    const camera = new Slots(stack, bearer, 'camera');
    await forward.configure('wx', { server: dest.url('live', 'fwd'), secret: '', enabled: true, custom: true }, 'waiting');
    await transcode.configure(
      { all: true, vpreset: 'ultrafast', vbitrate: 1000, server: dest.url('live', 'trans'), secret: '' },
      'waiting',
    );
    for (let run = 0; run < RUNS; run++) {
      const stream = `start${run}`;
      const t0 = Date.now();
      const publisher = publishFile(stackPublishUrl(stack, secret, stream), file);
      const started = (row: SlotRow | undefined) => row?.input === `live/${stream}` && Boolean(row.frame?.update);
      const rowOk = (row: SlotRow | undefined) => row?.task?.source === `live/${stream}` && Boolean(row.frame?.update);
      await waitStreamLive(stack, bearer, stream, 'live', 10_000);
      add('publish → listed live (API poll)', Date.now() - t0);
      const [t, f, bareSrs, bareStack] = await Promise.all([
        transcode.until(started, 15_000),
        forward.until('wx', rowOk, 15_000),
        bareRelay([], stackPlayUrl(stack, stream), dest.url('live', `bare-srs-${run}`)),
        bareRelay(['-fpsprobesize', '0'], stackPlayUrl(stack, stream), dest.url('live', `bare-stack-${run}`)),
      ]);
      for (const [name, row] of [
        ['transcode', t],
        ['forward', f],
      ] as const) {
        add(`${name}: publish → ffmpeg spawned`, Date.parse(row.task?.start ?? row.start ?? '') - t0);
        add(`${name}: publish → first progress`, Date.parse(row.frame?.update ?? '') - t0);
      }
      add('bare relay, SRS Stack argv: spawn → first progress', bareSrs);
      add('bare relay, -fpsprobesize 0: spawn → first progress', bareStack);
      // Virtual live and camera with this stack's stream as their source, started while it plays.
      for (const [name, slots, platform] of [
        ['virtual live', vlive, 'vlive-1-b1b1b1'],
        ['camera', camera, 'camera-1-b1b1b1'],
      ] as const) {
        const files = await slots.sourceFromUrl(platform, stackPlayUrl(stack, stream));
        const saved = Date.now();
        await slots.save(platform, { server: dest.url('live', `${platform}-${run}`), enabled: true, files });
        const row = await slots.until(platform, (r) => Boolean(r?.frame?.update), 15_000);
        add(`${name} (source live): Start → ffmpeg spawned`, Date.parse(row.task?.start ?? row.start ?? '') - saved);
        add(`${name} (source live): Start → first progress`, Date.parse(row.frame?.update ?? '') - saved);
        await slots.stop(platform);
      }
      await publisher.stop();
      await transcode.until('waiting', 15_000);
      await forward.until('wx', 'waiting', 15_000);
    }
    printTable(
      `Publish → task's first progress line, median of ${RUNS} (goal < 1500 ms); transcode, forward: from the publish; virtual live, camera: from Start`,
      Object.entries(rows).map(([k, v]) => [k, `${median(v)} ms`, v.join(', ')]),
      ['measure', 'median', 'runs (ms)'],
    );
  } finally {
    await stack.stop();
    await dest.stop();
  }
}

await main();
