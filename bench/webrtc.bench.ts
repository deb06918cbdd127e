// WebRTC delivery cost (issue 14): CPU and memory of the stack per WHEP viewer, 0 / 1 / 10 viewers
// of one RTMP stream (720p25, 2.4 Mbit/s, no B-frames: the feeder copies the video and encodes
// Opus), then 1 viewer of the same picture with B-frames (the feeder re-encodes the video).
// Viewers are bare RTCPeerConnections in one headless Chromium page (no rendering): the figures are
// the server's. Port of scratch/i14/bench/rtc-viewers.mjs onto the product.
// Run: npm run build && node dist/bench/webrtc.bench.js   (BENCH_WINDOW_S, BENCH_VIEWERS=1,10)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { publishFile } from '../test/helpers/media.js';
import { freeUdpPort, initAdmin, sleep, startStack, waitFor } from '../test/helpers/stack.js';
import { CpuWindow, machine, MemorySampler, printTable, supervisedChildren } from './lib.js';

const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 12);
const VIEWERS = (process.env.BENCH_VIEWERS ?? '1,10').split(',').map(Number);

function sample(bframes: boolean): string {
  const file = path.join(os.tmpdir(), 'srs-stack-media', `webrtc-720p-${bframes ? 'bf' : 'nobf'}.flv`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const res = spawnSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '30'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', ...(bframes ? [] : ['-bf', '0'])],
    ...['-b:v', '2400k', '-maxrate', '2400k', '-bufsize', '4800k', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0'],
    ...['-c:a', 'aac', '-b:a', '64k', '-f', 'flv', `${file}.tmp`],
  ]);
  if (res.status !== 0) throw new Error(`cannot make the sample: ${res.stderr}`);
  fs.renameSync(`${file}.tmp`, file);
  return file;
}

/** Opens `n` more WHEP sessions in the page; resolves when all are connected. */
async function addViewers(page: Page, stream: string, n: number): Promise<void> {
  await page.evaluate(
    async ({ stream: s, n: count }) => {
      const w = window as unknown as { pcs?: RTCPeerConnection[] };
      w.pcs ??= [];
      for (let i = 0; i < count; i++) {
        const pc = new RTCPeerConnection();
        pc.addTransceiver('video', { direction: 'recvonly' });
        pc.addTransceiver('audio', { direction: 'recvonly' });
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise<void>((r) => {
          if (pc.iceGatheringState === 'complete') r();
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
          setTimeout(r, 1000);
        });
        const res = await fetch(`/rtc/v1/whep/?app=live&stream=${s}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/sdp' },
          body: pc.localDescription?.sdp,
        });
        if (res.status !== 201) throw new Error(`WHEP ${res.status}: ${await res.text()}`);
        await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
        w.pcs.push(pc);
      }
    },
    { stream, n },
  );
}

async function framesDecoded(page: Page): Promise<{ sessions: number; frames: number; minFrames: number }> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { pcs?: RTCPeerConnection[] }).pcs ?? [];
    const counts: number[] = [];
    for (const pc of pcs) {
      let f = 0;
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') f = Number(s.framesDecoded ?? 0);
      });
      counts.push(f);
    }
    return { sessions: pcs.length, frames: counts.reduce((a, b) => a + b, 0), minFrames: Math.min(...counts, Infinity) };
  });
}

async function closeViewers(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { pcs?: RTCPeerConnection[] };
    for (const pc of w.pcs ?? []) pc.close();
    w.pcs = [];
  });
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  const [plain, withB] = [sample(false), sample(true)];
  const stack = await startStack({ env: { RTC_LISTEN: String(await freeUdpPort()) } });
  const bearer = await initAdmin(stack);
  const secret = ((await stack.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const feederPids = async (stream: string) =>
    (await supervisedChildren(stack, bearer)).filter((c) => c.name.startsWith(`whep-live/${stream}-`) && c.pid).map((c) => c.pid as number);
  const rows: string[][] = [];
  const measure = async (label: string, stream: string, page: Page | null) => {
    const node = [stack.proc.pid as number];
    const feeders = await feederPids(stream);
    const mem = new MemorySampler(() => ({ node, feeders }), 1000);
    const before = page ? await framesDecoded(page) : null;
    const cpu = new CpuWindow({ node, feeders, both: [...node, ...feeders] });
    await sleep(WINDOW_S * 1000);
    const { percent } = cpu.end();
    mem.stop();
    const after = page ? await framesDecoded(page) : null;
    const fps = before && after && after.sessions ? ((after.frames - before.frames) / after.sessions / WINDOW_S).toFixed(1) : '–';
    rows.push([
      label,
      `${(percent.node ?? 0).toFixed(1)} %`,
      `${(percent.feeders ?? 0).toFixed(1)} %`,
      `${(percent.both ?? 0).toFixed(1)} %`,
      `${(mem.peakRss.node ?? 0).toFixed(0)} MB`,
      `${(mem.peakPss.feeders ?? 0).toFixed(0)} MB`,
      fps,
    ]);
    process.stdout.write(`${label}: done\n`);
  };
  const publisher = publishFile(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/bench?secret=${secret}`, plain);
  let bPublisher: ReturnType<typeof publishFile> | null = null;
  try {
    const live = async (s: string) =>
      (
        ((await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer })).json.data as { streams: Array<{ stream: string }> | null })
          .streams ?? []
      ).some((x) => x.stream === s);
    await waitFor(
      () => live('bench'),
      20_000,
      () => 'bench live',
    );
    const page = await browser.newPage();
    await page.goto(`${stack.url}/players/whep.html`);
    await measure('0 viewers (RTMP source publishing)', 'bench', null);
    let current = 0;
    for (const n of VIEWERS) {
      await addViewers(page, 'bench', n - current);
      current = n;
      await waitFor(
        async () => (await framesDecoded(page)).minFrames > 25,
        30_000,
        () => `${n} viewers decoding`,
      );
      await measure(`${n} WHEP viewer(s), video copied`, 'bench', page);
    }
    await closeViewers(page);
    bPublisher = publishFile(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/benchb?secret=${secret}`, withB);
    await waitFor(
      () => live('benchb'),
      20_000,
      () => 'benchb live',
    );
    await addViewers(page, 'benchb', 1);
    await waitFor(
      async () => (await framesDecoded(page)).minFrames > 25,
      40_000,
      () => 'the B-frame viewer decoding',
    );
    await measure('1 WHEP viewer, source with B-frames (video re-encoded)', 'benchb', page);
    printTable(`WHEP cost, ${WINDOW_S} s windows (CPU in % of one core)`, rows, [
      'load',
      'stack node',
      'feeder ffmpeg',
      'node + feeder',
      'node RSS (peak)',
      'feeder PSS (peak)',
      'fps per viewer',
    ]);
    const viewerLines = stack.logs().match(/WHEP live\/bench\w*: feeder .*/g) ?? [];
    process.stdout.write(`\n${[...new Set(viewerLines)].join('\n')}\n`);
  } finally {
    await browser.close();
    await publisher.stop();
    await bPublisher?.stop();
    await stack.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
