// Issue 19 figure: seek-to-first-frame in the browser for a finished record. A 2-minute record
// (640x360, 1 Mbps, a keyframe every 2 s) is made by the real stack, then headless Chromium plays
// its faststart MP4 from the stack (range requests) and seeks to points across it. Per seek: the
// time from setting currentTime to `seeked`, and to the first frame presented there
// (requestVideoFrameCallback). The first seek of a fresh page is reported apart (cold).
import { launchBrowser } from '../test/helpers/browser.js';
import { makeSegments, StreamFeeder } from '../test/helpers/hls-fixture.js';
import { FEEDER_MAIN, initAdmin, startStack, tempDir, waitFor } from '../test/helpers/stack.js';
import { machine, median, printTable } from './lib.js';

const TARGETS = [90, 30, 110, 60, 5, 75, 45, 100, 15, 85];

async function main(): Promise<void> {
  const segments = await makeSegments(tempDir('record-seek-bench-'), { seconds: 120, videoBitrate: '1000k', size: '640x360' });
  const stack = await startStack({ entry: FEEDER_MAIN, env: { SRS_RECORD_WAIT_SECONDS: '60' } });
  const browser = await launchBrowser();
  try {
    const bearer = await initAdmin(stack);
    const call = async (name: string, body: unknown = {}) =>
      (await stack.api(`/terraform/v1/hooks/record/${name}`, body, { bearer })).json.data;
    await call('apply', { all: true });
    const feeder = new StreamFeeder(stack, tempDir('record-seek-hls-'));
    await feeder.publish();
    await feeder.segments(segments);
    const page = (await call('library', { status: 'recording' })) as { records: Array<{ uuid: string }> };
    const uuid = page.records[0]?.uuid as string;
    await call('end', { uuid });
    await waitFor(async () => ((await call('library', { status: 'done' })) as { total: number }).total === 1, 60_000);
    const url = `${stack.url}/terraform/v1/hooks/record/hls/${uuid}/index.mp4`;

    const tab = await browser.newPage();
    await tab.goto(`${stack.url}/mgmt/login`);
    const results = await tab.evaluate(
      async ({ src, targets }) => {
        const v = document.createElement('video');
        v.muted = true;
        v.preload = 'metadata';
        document.body.append(v);
        v.src = src;
        await new Promise((r) => v.addEventListener('loadedmetadata', r, { once: true }));
        const out: Array<{ target: number; seekedMs: number; frameMs: number; landed: number }> = [];
        for (const target of targets) {
          const t0 = performance.now();
          let frameMs = 0;
          const frame = new Promise<number>((resolve) =>
            v.requestVideoFrameCallback((_n, meta) => {
              frameMs = performance.now() - t0;
              resolve(meta.mediaTime);
            }),
          );
          const seeked = new Promise<number>((resolve) =>
            v.addEventListener('seeked', () => resolve(performance.now() - t0), { once: true }),
          );
          v.currentTime = target;
          const [landed, seekedMs] = await Promise.all([frame, seeked]);
          out.push({ target, seekedMs, frameMs, landed });
        }
        return out;
      },
      { src: url, targets: TARGETS },
    );
    const [cold, ...warm] = results;
    const fmt = (n: number) => n.toFixed(0);
    printTable(`Record seek-to-first-frame in headless Chromium (${machine()})`, [
      ['record', `120 s, 640x360, 1 Mbps, keyframe every 2 s, faststart MP4 over HTTP range requests`],
      ['cold seek to 1:30 (fresh page): seeked / first frame', `${fmt(cold?.seekedMs ?? NaN)} ms / ${fmt(cold?.frameMs ?? NaN)} ms`],
      [`warm seeks (${warm.length}): median seeked`, `${fmt(median(warm.map((r) => r.seekedMs)))} ms`],
      [
        `warm seeks: median / max first frame`,
        `${fmt(median(warm.map((r) => r.frameMs)))} ms / ${fmt(Math.max(...warm.map((r) => r.frameMs)))} ms`,
      ],
      ['largest distance landed − asked', `${Math.max(...results.map((r) => Math.abs(r.landed - r.target))).toFixed(3)} s`],
    ]);
  } finally {
    await browser.close();
    await stack.stop();
  }
}

await main();
