// The edge role (docs/architecture.md#edges) between two real stacks in network namespaces made
// here: 200 viewers of the edge (classic HLS, LL-HLS and HTTP-FLV players, light clients in this
// process) cost the origin one HTTP-FLV pull per stream and about one request per HLS file, counted
// by a proxy in the origin's namespace; RTMP players of the edge, beside its HTTP-FLV players, add
// nothing: no RTMP connection in the origin's own stats, still the one HTTP-FLV pull. Root only
// (namespaces), and heavy.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { FlvReader, ffprobe, publishFile, sampleFlv, spawnFfmpeg, type Publisher } from '../helpers/media.js';
import { watchMix } from '../helpers/edge-viewers.js';
import { canMakeNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns.js';
import { freePort, initAdmin, ROOT, sleep, startStack, waitFor, type StackHandle } from '../helpers/stack.js';
import { parseRtmpStat } from '../../server/engine/nginx-rtmp/stat.js';
import { unixGet } from '../../server/engine/unix-http.js';

const heavy = process.env.SRS_STACK_HEAVY_TESTS === '1' && canMakeNetns();
const VIEWERS = { hls: 80, llHls: 60, flv: 60 };
const WATCH_MS = 15_000;

interface SrsClient {
  ip: string;
  pageUrl: string;
  type: string;
  name: string;
}

interface OriginRequest {
  method: string;
  url: string;
  edge: string | null;
}

(heavy ? describe : describe.skip)('edge: nginx cache and one pull per stream in front of an origin (network namespaces)', function () {
  this.timeout(180_000);
  let net: NetnsPair;
  let origin: StackHandle;
  let edge: StackHandle;
  let proxy: ChildProcess;
  let publisher: Publisher;
  /** The origin's publish URL and the file published there. */
  let publishUrl: string;
  let sample: string;
  let bearer: string;
  const requests: OriginRequest[] = [];
  const stream = 'edgetest';
  let edgeUrl: string;
  let edgeRtmp: number;
  const startedAt = Date.now();

  /** The origin's SRS API clients: publishers and players from other hosts, edges' pulls named. */
  const originClients = async (): Promise<SrsClient[]> =>
    ((await origin.api('/api/v1/clients', undefined, { bearer, method: 'GET' })).json as unknown as { clients: SrsClient[] }).clients;

  before(async () => {
    net = makeNetnsPair(`se${process.pid % 1000}`, 100 + (process.pid % 100));
    origin = await startStack({ wrap: net.a.exec, host: net.a.controlIp, env: { LISTEN_HOST: '0.0.0.0' } });
    bearer = await initAdmin(origin);
    const secret = ((await origin.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
    // Low-latency HLS (2 s segments): a 15 s watch sees several new segments.
    assert.equal((await origin.api('/terraform/v1/mgmt/hlsll/update', { hlsLowLatency: true }, { bearer })).status, 200);
    // The counting proxy: the edge reaches the origin's HTTP only through it.
    const proxyPort = await freePort();
    const proxyMain = path.join(ROOT, 'dist', 'test', 'helpers', 'counting-proxy.js');
    const [cmd, ...args] = [...net.a.exec, process.execPath, proxyMain, net.a.linkIp, String(proxyPort), String(origin.ports.http)];
    proxy = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let proxyListening!: () => void;
    const listening = new Promise<void>((resolve) => (proxyListening = resolve));
    readline.createInterface({ input: proxy.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as OriginRequest & { listening?: boolean };
      if (entry.listening) proxyListening();
      else requests.push(entry);
    });
    await listening;
    edgeRtmp = await freePort();
    edge = await startStack({
      wrap: net.b.exec,
      host: net.b.controlIp,
      waitReady: false,
      ports: { http: await freePort(), https: await freePort(), rtmp: edgeRtmp },
      env: {
        LISTEN_HOST: '0.0.0.0',
        EDGE_ORIGIN: `http://${net.a.linkIp}:${proxyPort}`,
      },
    });
    edgeUrl = edge.url;
    publishUrl = `rtmp://${net.a.controlIp}:${origin.ports.rtmp}/live/${stream}?secret=${secret}`;
    sample = await sampleFlv({ videoKbps: 800, gopSeconds: 1 });
    publisher = publishFile(publishUrl, sample);
    // Ready when the edge answers the classic playlist with a segment in it.
    await waitFor(
      async () => /\.ts/.test((await (await fetch(`${edgeUrl}/live/${stream}.m3u8`).catch(() => null))?.text().catch(() => '')) ?? ''),
      30_000,
      () => `the edge to serve HLS:\nedge: ${edge.logs()}\norigin: ${origin.logs()}\n${publisher.stderr()}`,
    );
  });

  after(async () => {
    await publisher?.stop();
    proxy?.kill('SIGTERM');
    await edge?.stop();
    await origin?.stop();
    net?.destroy();
    process.stdout.write(`      (edge test ran ${((Date.now() - startedAt) / 1000).toFixed(1)} s)\n`);
  });

  it('200 viewers on the edge cost the origin one FLV pull and about one request per HLS file', async () => {
    const before = requests.length;
    const watching = watchMix(`${edgeUrl}/live/${stream}`, VIEWERS, WATCH_MS);
    await sleep(WATCH_MS / 2);
    const flvClients = (await originClients()).filter((c) => c.type === 'flv-play');
    const { hls, ll, flvBytes } = await watching;

    const asked = requests.slice(before);
    const count = (re: RegExp) => {
      const per = new Map<string, number>();
      for (const r of asked)
        if (re.test(r.url.split('?')[0] as string))
          per.set(r.url.split('?')[0] as string, (per.get(r.url.split('?')[0] as string) ?? 0) + 1);
      return per;
    };
    const flvPulls = asked.filter((r) => r.url.startsWith(`/live/${stream}.flv`));
    const segments = count(/\.ts$/);
    const media = count(/\.(m4s|mp4)$/);
    const playlists = asked.filter((r) => /\.m3u8$/.test(r.url.split('?')[0] as string));
    process.stdout.write(
      `      edge: ${VIEWERS.hls} HLS viewers ${hls.requests} requests (${hls.segments} segments), ${VIEWERS.llHls} LL-HLS viewers ${ll.requests} requests (${ll.parts} parts), ${VIEWERS.flv} FLV readers ${(flvBytes.reduce((a, b) => a + b, 0) / 1e6).toFixed(1)} MB\n` +
        `      origin: ${flvPulls.length} FLV pull, ${[...segments.values()].reduce((a, b) => a + b, 0)} requests for ${segments.size} TS segments, ${[...media.values()].reduce((a, b) => a + b, 0)} for ${media.size} LL-HLS files, ${playlists.length} playlist requests\n`,
    );
    // Every viewer got media.
    assert.ok(Math.min(...flvBytes) > 100_000, `every FLV reader got media: ${flvBytes.join(' ')}`);
    assert.ok(hls.segments >= VIEWERS.hls * 2, `HLS viewers fetched ${hls.segments} segments`);
    assert.ok(ll.parts >= VIEWERS.llHls * 5, `LL-HLS viewers fetched ${ll.parts} parts`);
    // One HTTP-FLV pull for the 60 FLV readers, named by the edge.
    assert.equal(flvPulls.length, 1, JSON.stringify(flvPulls));
    assert.ok(flvPulls[0]?.edge, 'the pull names the edge');
    // The origin's SRS API listed it while it ran (the readers are closed; the pull lingers a few seconds).
    assert.deepEqual(
      flvClients.map((c) => [c.type, c.name, c.pageUrl]),
      [['flv-play', stream, `srs-stack-edge:${flvPulls[0]?.edge}`]],
    );
    // Each segment, part and init segment asked of the origin once (a 404 cached for a second may add one).
    assert.ok(segments.size > 0 && media.size > 0, 'the origin was asked for HLS media');
    for (const [file, n] of [...segments, ...media]) assert.ok(n <= 2, `${file} was asked of the origin ${n} times`);
    // Playlists are shared by all viewers: the origin sees the edge's one hls_ctx session.
    const sessions = new Set(playlists.map((r) => new URL(r.url, 'http://x').searchParams.get('hls_ctx')));
    assert.equal(sessions.size, 1, `hls_ctx sessions at the origin: ${[...sessions].join(' ')}`);
    assert.ok(playlists.length * 10 < hls.requests + ll.requests, `origin playlist requests ${playlists.length}`);
  });

  it('answers the version probe from its stack process, drops an idle pull, and serves nothing but play URLs', async () => {
    const versions = (await (await fetch(`${edgeUrl}/terraform/v1/mgmt/versions`)).json()) as {
      code: number;
      data: { version: string; edge: { origin: string; pulls: number } };
    };
    assert.equal(versions.code, 0);
    assert.match(versions.data.version, /^\d+\.\d+/);
    assert.match(versions.data.edge.origin, new RegExp(`^http://${net.a.linkIp.replace(/\./g, '\\.')}:`));
    // The FLV readers of the test before are gone: the edge drops its pull from the origin.
    await waitFor(
      async () => ((await (await fetch(`${edgeUrl}/terraform/v1/mgmt/versions`)).json()) as typeof versions).data.edge.pulls === 0,
      15_000,
      () => `the edge to drop its idle pull:\n${edge.logs()}`,
    );
    for (const pathname of ['/mgmt', '/terraform/v1/mgmt/streams/query', '/api/v1/clients']) {
      assert.equal((await fetch(`${edgeUrl}${pathname}`)).status, 404, pathname);
    }
  });

  it('ffprobe reads the origin video from the edge over RTMP (the edge pulling nothing yet), HTTP-FLV and HLS', async () => {
    // The test before saw the edge drop its pull: the RTMP player alone starts the relay and the pull.
    const took: string[] = [];
    for (const url of [
      `rtmp://${net.b.controlIp}:${edgeRtmp}/live/${stream}`,
      `${edgeUrl}/live/${stream}.flv`,
      `${edgeUrl}/live/${stream}.m3u8`,
    ]) {
      const started = Date.now();
      const probe = await ffprobe(url);
      took.push(`${url.split(':')[0]} ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const video = probe.streams.find((s) => s.codec_type === 'video');
      assert.equal(video?.codec_name, 'h264', url);
      assert.equal(video?.width, 640, url);
      assert.ok(
        probe.streams.some((s) => s.codec_type === 'audio' && s.codec_name === 'aac'),
        url,
      );
    }
    process.stdout.write(`      ffprobe on the edge: ${took.join(', ')}\n`);
  });

  it('HTTP-FLV and RTMP players of one stream on the edge cost the origin one connection, its HTTP-FLV pull', async () => {
    const versions = async () =>
      ((await (await fetch(`${edgeUrl}/terraform/v1/mgmt/versions`)).json()) as { data: { edge: { pulls: number; rtmpRelays?: number } } })
        .data.edge;
    const idle = async () => {
      const v = await versions();
      return v.pulls === 0 && !v.rtmpRelays;
    };
    // The probes of the test before are gone: nothing pulled, nothing relayed.
    await waitFor(idle, 15_000, () => `the edge to drop its pulls:\n${edge.logs()}`);
    const before = requests.length;
    const rtmpUrl = `rtmp://${net.b.controlIp}:${edgeRtmp}/live/${stream}`;
    const players = Array.from({ length: 3 }, () =>
      spawnFfmpeg(['-hide_banner', '-loglevel', 'error', '-i', rtmpUrl, '-t', '8', '-c', 'copy', '-f', 'null', '-']),
    );
    const readers = Array.from({ length: 2 }, () => new FlvReader(`${edgeUrl}/live/${stream}.flv`, { keepTags: false }));
    try {
      const statSocket = path.join(origin.dataDir, 'engine', 'engine.sock');
      /** The edge's connections in the origin's RTMP stats (nginx-rtmp `pull`s on main). */
      const rtmpFromEdge = async () => {
        const xml = (await unixGet(statSocket, '/stat')).body;
        const live = /<stream>\s*<name>edgetest<\/name>[\s\S]*?<\/stream>/.exec(xml)?.[0] ?? '';
        return [...live.matchAll(/<address>([^<]*)<\/address>/g)].filter((m) => m[1] === net.b.linkIp).length;
      };
      // Every player gets media: the edge's nginx-rtmp has the stream, its three players on it.
      const edgeStat = path.join(edge.dataDir, 'engine', 'engine.sock');
      const rtmpPlaying = async () => {
        const live = parseRtmpStat((await unixGet(edgeStat, '/stat')).body).find((s) => s.stream === stream);
        return Boolean(live && live.bytesIn > 0 && live.clients.filter((c) => !c.publishing).length === 3);
      };
      await waitFor(
        async () => (await rtmpPlaying()) && readers.every((r) => r.bytes > 100_000),
        20_000,
        () => `the edge to relay the stream to its RTMP players:\n${edge.logs()}`,
      );
      const clients = await originClients();
      // The HTTP-FLV pull comes through the counting proxy (on the origin's host): named, not by address.
      const fromEdge = clients.filter((c) => c.ip === net.b.linkIp || c.pageUrl.startsWith('srs-stack-edge:'));
      const rtmpAtOrigin = await rtmpFromEdge();
      const codes = await Promise.all(players.map((p) => p.exited));
      const flvPulls = requests.slice(before).filter((r) => r.url.startsWith(`/live/${stream}.flv`));
      process.stdout.write(
        `      origin: ${flvPulls.length} HTTP-FLV request(s) and ${rtmpAtOrigin} RTMP connection(s) for 3 RTMP and 2 HTTP-FLV players on the edge\n`,
      );
      assert.deepEqual(codes, [0, 0, 0], `every RTMP player of the edge played 8 s: ${players.map((p) => p.stderr()).join('\n')}`);
      assert.equal(flvPulls.length, 1, JSON.stringify(flvPulls));
      assert.equal(rtmpAtOrigin, 0, 'no RTMP connection from the edge at the origin');
      // The origin's SRS API lists the edge's one connection: its HTTP-FLV pull, named by it.
      assert.deepEqual(
        fromEdge.map((c) => [c.type, c.name, c.pageUrl]),
        [['flv-play', stream, `srs-stack-edge:${flvPulls[0]?.edge}`]],
        JSON.stringify(clients),
      );
      // The relay ends after the last RTMP player, the pull after the last reader.
      for (const reader of readers) reader.close();
      await waitFor(idle, 15_000, () => `the edge to stop its relay and pull:\n${edge.logs()}`);
    } finally {
      for (const reader of readers) reader.close();
      await Promise.all(players.map((p) => p.stop()));
    }
  });

  it("an RTMP player waiting on the edge gets the stream once the origin's encoder is back, still one origin connection", async () => {
    await publisher.stop();
    const versions = async () =>
      ((await (await fetch(`${edgeUrl}/terraform/v1/mgmt/versions`)).json()) as { data: { edge: { pulls: number; rtmpRelays?: number } } })
        .data.edge;
    await waitFor(
      async () => (await versions()).pulls === 0,
      15_000,
      () => `the edge to drop its pull:\n${edge.logs()}`,
    );
    const player = spawnFfmpeg([
      ...['-hide_banner', '-loglevel', 'error', '-i', `rtmp://${net.b.controlIp}:${edgeRtmp}/live/${stream}`],
      ...['-t', '4', '-c', 'copy', '-f', 'null', '-'],
    ]);
    try {
      // The relay tries (the origin answers 404) and backs off while the player waits.
      await waitFor(
        async () => (await versions()).rtmpRelays === 1,
        10_000,
        () => `the edge to start its relay:\n${edge.logs()}`,
      );
      await sleep(4000);
      assert.ok(player.running(), `the player waits for the stream: ${player.stderr()}`);
      const before = requests.length;
      publisher = publishFile(publishUrl, sample);
      await waitFor(
        async () => !player.running(),
        20_000,
        () => `the waiting player to play 4 s:\n${edge.logs()}`,
      );
      assert.equal(await player.exited, 0, `the waiting player played 4 s: ${player.stderr()}`);
      const answered = requests.slice(before).filter((r) => r.url.startsWith(`/live/${stream}.flv`));
      // Retries before the stream was back may have been answered 404; one pull is open now.
      const clients = (await originClients()).filter((c) => c.pageUrl.startsWith('srs-stack-edge:'));
      assert.ok(answered.length >= 1, 'the relay pulled the stream again');
      assert.deepEqual(
        clients.map((c) => c.type),
        ['flv-play'],
        JSON.stringify(clients),
      );
    } finally {
      await player.stop();
    }
  });
});
