// WHIP/WHEP with real parts: the stack (nginx-rtmp, redis, ffmpeg), headless Chromium with a fake
// camera publishing from ANOTHER origin (a second HTTP server serves the publisher page, so every
// WHIP request is cross-origin and goes through CORS), Chromium playing over WHEP with frames
// decoded, HLS of a WHIP stream probed with ffprobe, an RTMP source with B-frames, refusals,
// DELETE, viewer counts and garbage on the RTC UDP port.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { ffprobe } from '../helpers/media.js';
import { publishSecretOf } from '../helpers/restream.js';
import { freeUdpPort, initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

interface StreamRow {
  app: string;
  stream: string;
  param: string;
  viewers: number;
}

interface VideoStats {
  framesDecoded: number;
  framesDropped: number;
  framesReceived: number;
  audioSamples: number;
}

/** Inbound video/audio counters of the page's WHEP session (window.whepSession from whep-page.js / the test). */
async function whepStats(page: Page, handle = 'whepSession'): Promise<VideoStats> {
  return page.evaluate(async (name) => {
    const s = (window as unknown as Record<string, { pc: RTCPeerConnection } | undefined>)[name];
    const r = { framesDecoded: 0, framesDropped: 0, framesReceived: 0, audioSamples: 0 };
    if (!s) return r;
    (await s.pc.getStats()).forEach((st: Record<string, number | string>) => {
      if (st.type === 'inbound-rtp' && st.kind === 'video') {
        r.framesDecoded = Number(st.framesDecoded ?? 0);
        r.framesDropped = Number(st.framesDropped ?? 0);
        r.framesReceived = Number(st.framesReceived ?? 0);
      }
      if (st.type === 'inbound-rtp' && st.kind === 'audio') r.audioSamples = Number(st.totalSamplesReceived ?? 0);
    });
    return r;
  }, handle);
}

describe('WebRTC: WHIP publish and WHEP play', function () {
  this.timeout(180_000);
  let stack: StackHandle;
  let bearer: string;
  let secret: string;
  let browser: Browser;
  let rtcPort: number;
  let otherOrigin: http.Server;
  let otherUrl: string;
  const children: ChildProcess[] = [];
  /** The page publishing w1 (kept open: closing it would end the session). */
  let w1Page: Page;

  const streams = async (): Promise<StreamRow[]> =>
    ((await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer })).json.data as { streams: StreamRow[] | null }).streams ?? [];
  const row = async (stream: string) => (await streams()).find((s) => s.stream === stream);

  /** A page on the second origin showing the stack's publisher page; its requests go to the stack (cross-origin). */
  async function publisherPage(): Promise<Page> {
    const page = await browser.newPage();
    page.on('console', (m) => process.env.DEBUG_WEBRTC && console.log('[whip page]', m.text()));
    await page.goto(`${otherUrl}/publisher.html`);
    assert.notEqual(new URL(page.url()).origin, new URL(stack.url).origin);
    return page;
  }

  /** Publishes the fake camera from the cross-origin page; resolves with [status, body, location]. */
  async function whip(page: Page, stream: string, auth: { secret?: string; bearer?: string }) {
    return page.evaluate(
      async ({ base, stream: s, auth: a }) => {
        const w = window as unknown as Record<string, unknown>;
        const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
        const pc = new RTCPeerConnection();
        media.getTracks().forEach((t) => pc.addTransceiver(t, { direction: 'sendonly' }));
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise<void>((r) => {
          if (pc.iceGatheringState === 'complete') r();
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
          setTimeout(r, 2000);
        });
        const q = new URLSearchParams({ app: 'live', stream: s });
        if (a.secret) q.set('secret', a.secret);
        const headers: Record<string, string> = { 'Content-Type': 'application/sdp' };
        if (a.bearer) headers.Authorization = `Bearer ${a.bearer}`;
        const res = await fetch(`${base}/rtc/v1/whip/?${q}`, { method: 'POST', headers, body: pc.localDescription?.sdp });
        const body = await res.text();
        const location = res.headers.get('Location');
        if (res.status === 201) {
          await pc.setRemoteDescription({ type: 'answer', sdp: body });
          w[`whip_${s}`] = { pc, location: new URL(location ?? '', base).href };
        } else pc.close();
        return { status: res.status, body, location };
      },
      { base: stack.url, stream, auth },
    );
  }

  /** The stack's WHEP player page, started on a stream. */
  async function playerPage(stream: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${stack.url}/players/whep.html?stream=${encodeURIComponent(stream)}&autostart=true`);
    return page;
  }

  async function framesGrow(page: Page, what: string, min = 25): Promise<VideoStats> {
    let stats = await whepStats(page);
    await waitFor(
      async () => (stats = await whepStats(page)).framesDecoded >= min,
      30_000,
      async () => `${what}: frames decoded (got ${JSON.stringify(stats)})\n${stack.logs().slice(-3000)}`,
    );
    return stats;
  }

  before(async () => {
    rtcPort = await freeUdpPort();
    stack = await startStack({ env: { RTC_LISTEN: String(rtcPort) } });
    bearer = await initAdmin(stack);
    secret = await publishSecretOf(stack, bearer);
    // The second origin: the stack's own publisher page, with a <base> pointing at the stack, so
    // its scripts load from the stack and every request it makes is cross-origin.
    otherOrigin = http.createServer(async (req, res) => {
      const page = await (await fetch(`${stack.url}/players/whip.html`)).text();
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(page.replace('<head>', `<head><base href="${stack.url}/">`));
    });
    await new Promise<void>((r) => otherOrigin.listen(0, '127.0.0.1', () => r()));
    // localhost vs 127.0.0.1: another origin, and both are secure contexts for getUserMedia.
    otherUrl = `http://localhost:${(otherOrigin.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        '--disable-gpu',
        '--disable-background-networking',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await browser?.close();
    otherOrigin?.close();
    await stack?.stop();
  });

  /** Whether a test socket can bind the RTC port (it cannot while the stack holds it). */
  async function rtcPortTaken(): Promise<boolean> {
    const probe = dgram.createSocket('udp4');
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      probe.once('error', resolve);
      probe.bind(rtcPort, '0.0.0.0', () => resolve(null));
    });
    if (!err) probe.close();
    else if (err.code !== 'EADDRINUSE') throw err;
    return err !== null;
  }

  it('holds udp/RTC_LISTEN from start, and loads libdatachannel only at the first session (docs/architecture.md, "Memory at idle")', async () => {
    const loaded = () => fs.readFileSync(`/proc/${stack.proc.pid}/maps`, 'utf8').includes('node_datachannel');
    assert.equal(loaded(), false, 'an idle stack has not loaded libdatachannel');
    assert.equal(await rtcPortTaken(), true, 'the port is held before any session');
    // Any WHEP request loads it (this one is refused: not an SDP offer); the port passes to it.
    const bad = await fetch(`${stack.url}/rtc/v1/whep/?app=live&stream=first`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: 'hello',
    });
    assert.equal(bad.status, 400);
    assert.equal(loaded(), true, 'the first session loaded libdatachannel');
    assert.equal(await rtcPortTaken(), true, 'the port is held by libdatachannel after');
  });

  it('refuses a WHIP publish with a wrong secret (403, as text) and lists nothing', async () => {
    const page = await publisherPage();
    const res = await whip(page, 'wrong1', { secret: 'not-the-secret' });
    assert.equal(res.status, 403, res.body);
    assert.match(res.body, /secret/);
    const res2 = await whip(page, 'wrong2', {});
    assert.equal(res2.status, 403, res2.body);
    assert.equal((await streams()).length, 0);
    await page.close();
  });

  it('publishes the fake camera over WHIP from another origin (Bearer as OBS sends it); HLS has H.264 and AAC', async () => {
    const page = await publisherPage();
    w1Page = page;
    const res = await whip(page, 'w1', { bearer: secret });
    assert.equal(res.status, 201, res.body);
    assert.match(res.location ?? '', /^\/rtc\/v1\/whip\/[0-9a-f-]{36}$/);
    assert.match(res.body, new RegExp(`a=candidate:1 1 udp \\d+ 127\\.0\\.0\\.1 ${rtcPort} typ host`));
    await waitFor(
      async () => (await row('w1')) !== undefined,
      20_000,
      () => `w1 listed\n${stack.logs().slice(-3000)}`,
    );
    assert.match((await row('w1'))?.param ?? '', /upstream=rtc/);
    // HLS: the engine writes it from the bridge's RTMP publish.
    let probe: Awaited<ReturnType<typeof ffprobe>> | null = null;
    await waitFor(
      async () => {
        probe = await ffprobe(`${stack.url}/live/w1.m3u8`, 15_000).catch(() => null);
        return !!probe && probe.streams.some((s) => s.codec_type === 'audio');
      },
      40_000,
      () => `HLS of w1 with audio (last probe ${JSON.stringify(probe)})\n${stack.logs().slice(-3000)}`,
    );
    const codecs = (probe as unknown as { streams: Array<{ codec_name: string }> }).streams.map((s) => s.codec_name).sort();
    assert.deepEqual(codecs, ['aac', 'h264']);
  });

  it('plays the WHIP stream over WHEP with frames decoded, and counts the viewer in streams/query', async () => {
    const page = await playerPage('w1');
    const stats = await framesGrow(page, 'WHEP of a WHIP stream');
    assert.ok(stats.audioSamples > 0, `audio samples received: ${JSON.stringify(stats)}`);
    await waitFor(
      async () => ((await row('w1'))?.viewers ?? 0) >= 1,
      10_000,
      () => 'a WebRTC viewer counted',
    );
    await page.close();
    // The viewer's page is gone: its session ends (ICE) and the count drops.
    await waitFor(
      async () => ((await row('w1'))?.viewers ?? 0) === 0,
      40_000,
      () => 'the viewer no longer counted',
    );
  });

  it('a second publisher of a live name is refused (409)', async () => {
    const page = await publisherPage();
    const res = await whip(page, 'w1', { secret });
    assert.equal(res.status, 409, res.body);
    await page.close();
  });

  it('DELETE on the Location ends the session and the stream; the name can be published again at once', async () => {
    const page = w1Page;
    const status = await page.evaluate(async () => {
      const s = (window as unknown as Record<string, { location: string; pc: RTCPeerConnection }>).whip_w1;
      return (await fetch(s?.location ?? '', { method: 'DELETE' })).status;
    });
    assert.equal(status, 200);
    await waitFor(
      async () => (await row('w1')) === undefined,
      15_000,
      () => 'w1 gone after DELETE',
    );
    // Republish right away (report pitfall 7: the old bridge must be gone from the engine first).
    const again = await whip(page, 'w1', { secret });
    assert.equal(again.status, 201, again.body);
    await waitFor(
      async () => (await row('w1')) !== undefined,
      20_000,
      () => `w1 live again\n${stack.logs().slice(-3000)}`,
    );
    const player = await playerPage('w1');
    await framesGrow(player, 'WHEP after a republish');
    await player.close();
    // Kickoff drops the WHIP publisher through its own ingest.
    const kicked = await stack.api(
      '/terraform/v1/mgmt/streams/kickoff',
      { vhost: '__defaultVhost__', app: 'live', stream: 'w1' },
      { bearer },
    );
    assert.equal(kicked.status, 200, JSON.stringify(kicked.json));
    await waitFor(
      async () =>
        (await row('w1')) === undefined &&
        (await page.evaluate(() => (window as unknown as Record<string, { pc: RTCPeerConnection }>).whip_w1?.pc.connectionState)) !==
          'connected',
      30_000,
      () => 'the kicked WHIP publisher disconnected',
    );
    await page.close();
  });

  it('plays an RTMP stream with B-frames (x264 defaults) over WHEP without drops piling up', async () => {
    const ff = spawn(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25'],
        ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
        ...['-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k'],
        ...['-f', 'flv', `rtmp://127.0.0.1:${stack.ports.rtmp}/live/bf1?secret=${secret}`],
      ],
      { stdio: 'ignore' },
    );
    children.push(ff);
    await waitFor(
      async () => (await row('bf1')) !== undefined,
      20_000,
      () => 'bf1 live',
    );
    const page = await playerPage('bf1');
    await framesGrow(page, 'WHEP of a B-frame source', 25);
    assert.match(stack.logs(), /WHEP live\/bf1: feeder transcodes the video \(the source has B-frames\)/);
    // Then an 8 s window: frames keep decoding near the source rate (25 fps; a copied B-frame stream
    // decodes a handful in that time) and drops do not pile up.
    const before = await whepStats(page);
    await new Promise((r) => setTimeout(r, 8000));
    const after = await whepStats(page);
    const decoded = after.framesDecoded - before.framesDecoded;
    const dropped = after.framesDropped - before.framesDropped;
    console.log(`      B-frame source over WHEP: ${decoded} frames decoded, ${dropped} dropped in 8 s (${JSON.stringify(after)})`);
    assert.ok(decoded >= 120, `decoded ${decoded} frames in 8 s`);
    assert.ok(dropped <= decoded * 0.1, `dropped ${dropped} of ${decoded} frames in 8 s`);
    await page.close();
    ff.kill('SIGINT');
  });

  it('copies the video of an RTMP stream without B-frames, and garbage on the RTC port harms nothing', async () => {
    const ff = spawn(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
        ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
        ...['-f', 'flv', `rtmp://127.0.0.1:${stack.ports.rtmp}/live/nobf?secret=${secret}`],
      ],
      { stdio: 'ignore' },
    );
    children.push(ff);
    await waitFor(
      async () => (await row('nobf')) !== undefined,
      20_000,
      () => 'nobf live',
    );
    // Garbage: random datagrams, a truncated STUN header, a STUN binding request with an unknown ufrag, DTLS-looking bytes.
    const sock = dgram.createSocket('udp4');
    const stun = Buffer.alloc(20 + 12);
    stun.writeUInt16BE(0x0001, 0); // binding request
    stun.writeUInt16BE(12, 2);
    stun.writeUInt32BE(0x2112a442, 4); // magic cookie
    stun.writeUInt16BE(0x0006, 20); // USERNAME
    stun.writeUInt16BE(8, 22);
    stun.write('nobody:x', 24);
    const junk = [stun, Buffer.from([0x00, 0x01, 0x00]), Buffer.from([0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff])];
    for (let i = 0; i < 300; i++) junk.push(Buffer.from(Array.from({ length: 1 + (i % 1400) }, () => Math.floor(Math.random() * 256))));
    for (const b of junk) await new Promise<void>((r) => sock.send(b, rtcPort, '127.0.0.1', () => r()));
    sock.close();
    assert.equal(stack.proc.exitCode, null, 'the stack survived the garbage');
    const page = await playerPage('nobf');
    const first = await framesGrow(page, 'WHEP after garbage on the RTC port');
    await new Promise((r) => setTimeout(r, 4000));
    const later = await whepStats(page);
    console.log(
      `      copied source over WHEP: ${later.framesDecoded - first.framesDecoded} frames decoded, ${later.framesDropped - first.framesDropped} dropped in 4 s`,
    );
    assert.match(stack.logs(), /WHEP live\/nobf: feeder copies the video/);
    // FD_CLOEXEC (report pitfall 1): with bridges and feeders running, only the stack holds the RTC port.
    const holders = execFileSync('ss', ['-Hulpn', `sport = :${rtcPort}`]).toString();
    const pids = [...holders.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    assert.ok(pids.length > 0, `ss shows who holds udp/${rtcPort}: ${holders}`);
    assert.deepEqual([...new Set(pids)], [stack.proc.pid], `holders of udp/${rtcPort}: ${holders}`);
    const check = await stack.api('/terraform/v1/mgmt/check', {});
    assert.equal(check.status, 200);
    await page.close();
    ff.kill('SIGINT');
  });

  it('answers 404 to a WHEP request for a stream that is not live, and 400 to an offer that is not SDP', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.url}/players/whep.html?stream=nothing-here&autostart=true`);
    await waitFor(
      async () => ((await page.textContent('#whep-error')) ?? '').includes('404'),
      10_000,
      async () => `the page shows the 404 (${await page.textContent('#whep-error')})`,
    );
    await page.close();
    const bad = await fetch(`${stack.url}/rtc/v1/whep/?app=live&stream=nobf`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: 'hello',
    });
    assert.equal(bad.status, 400);
    const wrongType = await fetch(`${stack.url}/rtc/v1/whip/?app=live&stream=x`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: 'v=0',
    });
    assert.equal(wrongType.status, 415);
    const trickle = await fetch(`${stack.url}/rtc/v1/whip/00000000-0000-0000-0000-000000000000`, { method: 'PATCH' });
    assert.equal(trickle.status, 405);
    const unknown = await fetch(`${stack.url}/rtc/v1/whip/00000000-0000-0000-0000-000000000000`, { method: 'DELETE' });
    assert.equal(unknown.status, 404);
  });
});
