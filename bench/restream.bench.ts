// Issue 5 figures: CPU and RSS of copy-codec forwarding at 2.5 Mbps to 1, 5 and 10 destinations
// (the stack, the engine and each ffmpeg), next to the same stream with no forward (baseline) and a
// bare ffmpeg relay started by hand (what the stack adds per task); then the time from the
// forward/secret "start" call to the destination receiving media.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeMedia, startRtmpServer, type Publisher } from '../test/helpers/media.js';
import { publishIntoStack, stackPlayUrl } from '../test/helpers/restream.js';
import { initAdmin, startStack, tempDir, waitFor, type StackHandle } from '../test/helpers/stack.js';
import { cpuDuring, machine, median, printTable, rssMb } from './lib.js';

const WINDOW_MS = 15_000;
const SLOTS = ['wx', 'bilibili', 'kuaishou', ...Array.from({ length: 7 }, (_, i) => `forwarding-${i + 1}-b0b0b${i}`)];

interface Child {
  name: string;
  pid: number | null;
  status: string;
}

async function children(stack: StackHandle, bearer: string): Promise<Child[]> {
  return ((await stack.api('/terraform/v1/mgmt/supervisor/query', {}, { bearer })).json.data as { children: Child[] }).children;
}

/** Proportional set size: shared library pages split between the ffmpegs that map them. */
function pssMb(pid: number): number {
  const kb = Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

async function measure(pids: number[]): Promise<{ cpu: number; rss: number; pss: number }> {
  const { cpuPercent } = await cpuDuring(pids, () => new Promise((r) => setTimeout(r, WINDOW_MS)));
  const sum = (f: (pid: number) => number) => pids.reduce((a, p) => a + f(p), 0);
  return { cpu: cpuPercent, rss: sum(rssMb), pss: sum(pssMb) };
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

/** Milliseconds from the start call until a player on the destination sees the stream's first packet. */
async function timeToMedia(start: () => Promise<unknown>, playUrl: string): Promise<number> {
  // Minimal probing: the player reports the stream as soon as its first tags arrive.
  const probe = ['-probesize', '32', '-analyzeduration', '0', '-fflags', 'nobuffer'];
  const player = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'info', ...probe, '-i', playUrl, '-t', '1', '-c', 'copy', '-f', 'null', '-'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  await new Promise((r) => setTimeout(r, 500)); // the player is connected and waiting
  const arrived = new Promise<number>((resolve, reject) => {
    let text = '';
    player.stderr.on('data', (d) => {
      text += d;
      if (text.includes('Input #0')) resolve(Date.now());
    });
    player.once('exit', () => reject(new Error(`player ended without media: ${text.slice(-500)}`)));
  });
  const t0 = Date.now();
  await start();
  const ms = (await arrived) - t0;
  player.kill('SIGKILL');
  return ms;
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  const media = tempDir('bench-restream-');
  // About 2.5 Mbps like a typical OBS stream: 2400 Kbps CBR 720p25 video (1 s GOP) + 64 Kbps AAC.
  const file = await makeMedia(path.join(media, 'src.flv'), { seconds: 20, size: '1280x720', fps: 25, videoKbps: 2400, format: 'flv' });
  const dest = await startRtmpServer();
  const stack = await startStack({ dataDir: tempDir('bench-restream-data-') });
  const bearer = await initAdmin(stack);
  const publishers: Publisher[] = [await publishIntoStack(stack, bearer, file, 'livestream')];
  const stackPid = stack.proc.pid as number;
  try {
    await waitFor(async () => (await children(stack, bearer)).find((c) => c.name === 'nginx')?.status === 'ready', 15_000);
    const enginePid = (await children(stack, bearer)).find((c) => c.name === 'nginx')?.pid as number;
    const rows: Array<[string, string]> = [];

    const base = await measure([stackPid, enginePid]);
    rows.push(['0 forwards (stream published): stack + engine CPU', `${fmt(base.cpu)} %`]);
    rows.push(['0 forwards: stack + engine RSS', `${fmt(base.rss)} MB`]);

    // Baseline per task: the same relay as a bare ffmpeg, no stack involved.
    const relay = spawn('ffmpeg', ['-re', '-i', stackPlayUrl(stack, 'livestream'), '-c', 'copy', '-f', 'flv', dest.url('live', 'bare')], {
      stdio: 'ignore',
    });
    await new Promise((r) => setTimeout(r, 4000));
    const bareRelay = await measure([relay.pid as number]);
    relay.kill('SIGKILL');
    rows.push(['bare ffmpeg relay (baseline, no stack): CPU', `${fmt(bareRelay.cpu)} %`]);
    rows.push(['bare ffmpeg relay: RSS / PSS', `${fmt(bareRelay.rss)} MB / ${fmt(bareRelay.pss)} MB`]);

    for (const n of [1, 5, 10]) {
      for (const [i, platform] of SLOTS.entries()) {
        await stack.api(
          '/terraform/v1/ffmpeg/forward/secret',
          { action: 'update', platform, server: dest.url('live', `k${i}`), enabled: i < n },
          { bearer },
        );
      }
      let streaming: Array<{ state: string; task?: { bitrateKbps: number | null } }> = [];
      await waitFor(
        async () => {
          const all = (await stack.api('/terraform/v1/ffmpeg/forward/streams', {}, { bearer })).json.data as typeof streaming;
          streaming = all.filter((r) => r.state === 'streaming');
          return streaming.length === n;
        },
        60_000,
        () => `${n} forwards streaming`,
      );
      await new Promise((r) => setTimeout(r, 3000));
      const tasks = (await children(stack, bearer)).filter((c) => c.name.startsWith('forward-') && c.pid).map((c) => c.pid as number);
      const ffmpeg = await measure(tasks);
      const host = await measure([stackPid, enginePid]);
      rows.push([`${n} forward(s): ffmpeg CPU total / per forward`, `${fmt(ffmpeg.cpu)} % / ${fmt(ffmpeg.cpu / n)} %`]);
      rows.push([`${n} forward(s): ffmpeg RSS total / per forward`, `${fmt(ffmpeg.rss)} MB / ${fmt(ffmpeg.rss / n)} MB`]);
      rows.push([`${n} forward(s): ffmpeg PSS total / per forward`, `${fmt(ffmpeg.pss)} MB / ${fmt(ffmpeg.pss / n)} MB`]);
      rows.push([`${n} forward(s): stack + engine CPU (Δ vs 0 forwards)`, `${fmt(host.cpu)} % (${fmt(host.cpu - base.cpu)} %)`]);
      rows.push([`${n} forward(s): stack + engine RSS`, `${fmt(host.rss)} MB`]);
      if (n === 1) {
        const now = (await stack.api('/terraform/v1/ffmpeg/forward/streams', {}, { bearer })).json.data as typeof streaming;
        const kbps = now.find((r) => r.state === 'streaming')?.task?.bitrateKbps ?? 0;
        rows.push(['bitrate of the forward (its ffmpeg progress line)', `${fmt(kbps, 0)} Kbps`]);
      }
    }
    for (const platform of SLOTS) {
      await stack.api(
        '/terraform/v1/ffmpeg/forward/secret',
        { action: 'update', platform, server: dest.url('live', 'off'), enabled: false },
        { bearer },
      );
    }

    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const key = `start-${i}`;
      times.push(
        await timeToMedia(
          () =>
            stack.api(
              '/terraform/v1/ffmpeg/forward/secret',
              { action: 'update', platform: 'wx', server: dest.url('live', key), enabled: true },
              { bearer },
            ),
          dest.url('live', key),
        ),
      );
      await stack.api(
        '/terraform/v1/ffmpeg/forward/secret',
        { action: 'update', platform: 'wx', server: dest.url('live', key), enabled: false },
        { bearer },
      );
    }
    rows.push(['start call → destination receives media (median of 5)', `${median(times)} ms (all: ${times.join(', ')})`]);
    printTable('Copy-codec forward at 2.5 Mbps (CPU % of one core, over 15 s windows)', rows);
  } finally {
    for (const p of publishers) await p.stop();
    await stack.stop();
    await dest.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
