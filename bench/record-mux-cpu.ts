// CPU of the record's in-process MP4 writer (server/features/record/live-mp4.ts) over the recording
// benches' 10-minute 2.5 Mbit/s stream (record-fixture.ts): process.cpuUsage() around a warm
// writer, which counts this thread (reading segments, writing the file) and the worker thread
// (transmuxing), with the sha256 of the MP4 so two builds can be checked to write the same bytes.
// Not a *.bench.ts (npm run bench leaves it out): a scratch measure, run alternately against two
// checkouts on a shared machine (README, Performance, Recording):
//
//   node dist/bench/record-mux-cpu.js [writers|muxer] [runs] [checkout whose dist/ to measure]
//
// `muxer` feeds the segments, read beforehand, to the transmuxing half on this thread (for
// `node --cpu-prof`); `writers` is the real path, a LiveMp4s writer and its worker.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from './record-fixture.js';

type LiveMp4Module = typeof import('../server/features/record/live-mp4.js');
type MuxerModule = typeof import('../server/features/record/live-mp4-muxer.js');

const [mode = 'writers', runsArg = '3', checkout = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')] =
  process.argv.slice(2);
const dist = (module: string) => path.join(checkout, 'dist', 'server', 'features', 'record', module);
const { LiveMp4s } = (await import(dist('live-mp4.js'))) as LiveMp4Module;
const { Mp4Muxer } = (await import(dist('live-mp4-muxer.js'))) as MuxerModule;
const files = (await fixture()).map((s) => s.file);

/** The MP4 made by the muxer on this thread; returns how to hash it (after the measure). */
function muxed(segments: Buffer[]): () => string {
  const muxer = new Mp4Muxer();
  const parts = segments.flatMap((ts) => muxer.push(ts));
  const { parts: last, head } = muxer.finish();
  return () =>
    crypto
      .createHash('sha256')
      .update(Buffer.concat([head, ...parts, ...last]))
      .digest('hex');
}

/** The MP4 written by a writer of its own (and worker), from the segment files. */
async function written(): Promise<() => string> {
  const writers = new LiveMp4s({ maxWriters: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'record-mux-cpu-'));
  await writers.open('bench', dir);
  files.forEach((file, i) => writers.append('bench', file, `s${i}`));
  const mp4 = await writers.finish(
    'bench',
    files.map((_, i) => `s${i}`),
  );
  await writers.stop();
  return () => {
    const sha = crypto
      .createHash('sha256')
      .update(fs.readFileSync(mp4 as string))
      .digest('hex');
    fs.rmSync(dir, { recursive: true, force: true });
    return sha;
  };
}

const segments = mode === 'muxer' ? files.map((f) => fs.readFileSync(f)) : [];
const once = async () => (mode === 'muxer' ? muxed(segments) : await written());
(await once())(); // warm: code compiled, files in the page cache
for (let run = 0; run < Number(runsArg); run++) {
  const before = process.cpuUsage();
  const t0 = performance.now();
  const hash = await once();
  const cpu = process.cpuUsage(before);
  const wall = performance.now() - t0;
  process.stdout.write(
    `${checkout} ${mode} run ${run}: CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (user ${(cpu.user / 1000).toFixed(0)}), wall ${wall.toFixed(0)} ms, ${files.length} segments, MP4 sha256 ${hash().slice(0, 16)}\n`,
  );
}
