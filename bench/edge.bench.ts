// What an edge saves its origin (docs/architecture.md#edges): the same 200 light players (80 HLS,
// 60 LL-HLS, 60 HTTP-FLV; test/helpers/edge-viewers.ts) of one stream, first straight at the origin,
// then through an edge, with the CPU of the origin (stack process and nginx) and of the edge over
// each window. Two stacks in network namespaces made here, as in test/integration/edge.test.ts:
// root only. The players run in this process, on the same cores.
import { watchMix } from '../test/helpers/edge-viewers.js';
import { publishFile, sampleFlv } from '../test/helpers/media.js';
import { canMakeNetns, makeNetnsPair } from '../test/helpers/netns.js';
import { freePort, initAdmin, sleep, startStack, waitFor } from '../test/helpers/stack.js';
import { childPids, CpuWindow, machine, printTable, readyChildPid } from './lib.js';

const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 20);
const VIEWERS = { hls: 80, llHls: 60, flv: 60 };

/** A process and its descendants (nginx's master, workers and cache manager). */
function tree(pid: number): number[] {
  return [pid, ...childPids(pid).flatMap(tree)];
}

async function main(): Promise<void> {
  process.stdout.write(`Machine: ${machine()}\n`);
  if (!canMakeNetns()) {
    process.stdout.write('skipped: making network namespaces needs root and iproute2\n');
    return;
  }
  const net = makeNetnsPair(`sb${process.pid % 1000}`, 150 + (process.pid % 100));
  const origin = await startStack({ wrap: net.a.exec, host: net.a.controlIp, env: { LISTEN_HOST: '0.0.0.0' } });
  let edge: Awaited<ReturnType<typeof startStack>> | null = null;
  let publisher: ReturnType<typeof publishFile> | null = null;
  try {
    const bearer = await initAdmin(origin);
    const secret = ((await origin.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
    await origin.api('/terraform/v1/mgmt/hlsll/update', { hlsLowLatency: true }, { bearer });
    edge = await startStack({
      wrap: net.b.exec,
      host: net.b.controlIp,
      waitReady: false,
      env: {
        LISTEN_HOST: '0.0.0.0',
        EDGE_ORIGIN: `http://${net.a.linkIp}:${origin.ports.http}`,
        RTMP_LISTEN: String(await freePort()),
      },
    });
    const sample = await sampleFlv({ videoKbps: 1500, gopSeconds: 2, width: 1280, height: 720, seconds: 20 });
    publisher = publishFile(`rtmp://${net.a.controlIp}:${origin.ports.rtmp}/live/bench?secret=${secret}`, sample);
    const edgeHandle = edge;
    await waitFor(
      async () => /\.ts/.test((await (await fetch(`${edgeHandle.url}/live/bench.m3u8`).catch(() => null))?.text().catch(() => '')) ?? ''),
      30_000,
      () => `the edge to serve HLS: ${edgeHandle.logs()}`,
    );
    const originPids = [origin.proc.pid as number, ...tree(await readyChildPid(origin, bearer, 'nginx'))];
    const edgePids = tree(edge.proc.pid as number);
    const rows: string[][] = [];
    for (const [how, base, counts] of [
      ['none (the stream alone)', `${origin.url}/live/bench`, { hls: 0, llHls: 0, flv: 0 }],
      ['200 straight at the origin', `${origin.url}/live/bench`, VIEWERS],
      ['200 through the edge', `${edge.url}/live/bench`, VIEWERS],
    ] as const) {
      await sleep(5000); // the previous round's pulls and sessions wind down
      const window = new CpuWindow({ origin: originPids, edge: edgePids });
      const [seen] = await Promise.all([watchMix(base, counts, WINDOW_S * 1000), sleep(WINDOW_S * 1000)]);
      const { percent, machinePercent } = window.end();
      const mb = seen.flvBytes.reduce((a, b) => a + b, 0) / 1e6;
      rows.push([
        how,
        `${(percent.origin ?? 0).toFixed(1)} %`,
        `${(percent.edge ?? 0).toFixed(1)} %`,
        `${machinePercent.toFixed(0)} %`,
        `${seen.hls.segments} seg, ${seen.ll.parts} parts, ${mb.toFixed(0)} MB FLV (min ${((seen.flvBytes.length ? Math.min(...seen.flvBytes) : 0) / 1e6).toFixed(1)} MB)`,
      ]);
    }
    printTable(
      `200 players (${VIEWERS.hls} HLS, ${VIEWERS.llHls} LL-HLS, ${VIEWERS.flv} HTTP-FLV) of one 1.6 Mbps 720p stream, ${WINDOW_S} s each; CPU % of one core`,
      rows,
      ['players', 'origin CPU', 'edge CPU', 'machine', 'what the players got'],
    );
  } finally {
    await publisher?.stop();
    await edge?.stop();
    await origin.stop();
    net.destroy();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
