// Private streams (docs/compatibility.md §13): play authentication with a real stack, a real RTMP
// publisher (ffmpeg) and real players (HTTP clients of HLS and HTTP-FLV, ffprobe over RTMP and SRT,
// a WHEP offer): off by default, signed play URLs accepted, expired and tampered ones refused, the
// on_play callback vetoing viewers, refusals counted in /metrics.
import assert from 'node:assert/strict';
import { FlvReader, ffprobe, publish, type Publisher } from '../helpers/media.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { srtStatus, srtUrl } from '../helpers/srt.js';
import { launchBrowser } from '../helpers/browser.js';
import { consoleSession, initAdmin, sleep, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

interface Got {
  status: number;
  text: string;
  url: string;
}

async function get(url: string): Promise<Got> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text(), url };
}

/** The first URI line of a playlist, resolved against the playlist's URL. */
function firstUri(playlist: Got): string {
  const line = playlist.text.split('\n').find((l) => l.trim() && !l.startsWith('#'));
  assert.ok(line, `a URI in ${playlist.text}`);
  return new URL(line.trim(), playlist.url).toString();
}

/** An HLS player's first steps: the entry playlist, its session's media playlist, a segment URL. */
async function openHls(entry: string): Promise<{ variant: Got; media: Got; segment: string }> {
  const variant = await get(entry);
  assert.equal(variant.status, 200, `entry playlist ${entry}: ${variant.text}`);
  const media = await get(firstUri(variant));
  assert.equal(media.status, 200, `media playlist: ${media.text}`);
  return { variant, media, segment: firstUri(media) };
}

/** One HTTP-FLV player's answer status (it is closed at once). */
async function flvStatus(url: string): Promise<number> {
  const reader = new FlvReader(url);
  await reader.answered;
  reader.close();
  return reader.status;
}

describe('Private streams: play authentication over HLS, HTTP-FLV, RTMP, SRT and WHEP', function () {
  this.timeout(120_000);
  let stack: StackHandle;
  let bearer: string;
  let publisher: Publisher;
  let receiver: CallbackReceiver;
  const stream = 'private1';
  let base: string;

  const setMode = async (body: Record<string, unknown>) => {
    const res = await stack.api('/terraform/v1/mgmt/play-auth/update', body, { bearer });
    assert.equal(res.status, 200, JSON.stringify(res.json));
  };
  const sign = async (expires = 60, ip?: string) => {
    const res = await stack.api('/terraform/v1/mgmt/play-auth/sign', { stream, expires, ...(ip ? { ip } : {}) }, { bearer });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json.data as { token: string; expiresAt: string; urls: Record<string, string> };
  };
  const metric = async (labels: Record<string, string>) => {
    const res = await fetch(`${stack.url}/metrics`, { headers: { Authorization: `Bearer ${bearer}` } });
    return sampleValue(parsePrometheus(await res.text()), 'srs_stack_play_refused_total', labels) ?? 0;
  };

  before(async () => {
    receiver = await startCallbackReceiver('ok');
    stack = await startStack();
    bearer = await initAdmin(stack);
    // 2 s fragments: the first HLS playlist comes within seconds.
    await stack.api('/terraform/v1/mgmt/hlsll/update', { hlsLowLatency: true }, { bearer });
    const secret = ((await stack.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
    publisher = publish(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/${stream}?secret=${secret}`, 0);
    base = `${stack.url}/live/${stream}`;
    await waitFor(
      async () => {
        const v = await get(`${base}.m3u8`);
        if (v.status !== 200) return false;
        const m = await get(firstUri(v));
        return m.status === 200 && /\.ts/.test(m.text);
      },
      40_000,
      () => `the HLS stream: ${publisher.stderr()}\n${stack.logs().slice(-3000)}`,
    );
  });

  after(async () => {
    await setMode({ mode: 'off' }).catch(() => undefined);
    await publisher?.stop();
    await stack?.stop();
    receiver?.close();
  });

  afterEach(async () => {
    await setMode({ mode: 'off', failClosed: true });
    await setMode({ stream, mode: 'default' });
  });

  it('is off by default: SRS Stack public play URLs keep working, unsigned', async () => {
    const query = (await stack.api('/terraform/v1/mgmt/play-auth/query', {}, { bearer })).json.data as { mode: string };
    assert.equal(query.mode, 'off');
    const { variant, segment } = await openHls(`${base}.m3u8`);
    assert.doesNotMatch(variant.text, /hls_auth/);
    assert.equal((await get(segment)).status, 200);
    assert.equal(await flvStatus(`${base}.flv`), 200);
  });

  it('signed: refuses unsigned HLS and FLV viewers with 403 and a reason, counted in /metrics', async () => {
    const before = await metric({ protocol: 'hls', reason: 'unsigned' });
    await setMode({ mode: 'signed' });
    const refused = await get(`${base}.m3u8`);
    assert.equal(refused.status, 403);
    assert.match(refused.text, /needs a signed play URL/);
    assert.equal(await flvStatus(`${base}.flv`), 403);
    // LL-HLS shares the sessions, so the same rule.
    assert.equal((await get(`${base}/ll.m3u8`)).status, 403);
    assert.equal(await metric({ protocol: 'hls', reason: 'unsigned' }), before + 2);
    assert.ok((await metric({ protocol: 'flv', reason: 'unsigned' })) >= 1);
  });

  it('signed: a signed URL plays HLS (playlist and every segment) and FLV; a tampered segment URL is refused', async () => {
    await setMode({ mode: 'signed' });
    const { token, urls } = await sign(60);
    const { variant, media, segment } = await openHls(`${stack.url}${urls.hls}`);
    assert.match(variant.text, /hls_ctx=[0-9a-z]+&hls_auth=/);
    // Every segment URI of the session carries its grant.
    const uris = media.text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    assert.ok(uris.length > 0 && uris.every((u) => /[?&]hls_auth=/.test(u)), media.text);
    const ok = await fetch(segment);
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('cache-control') ?? '', /^private/);
    assert.ok((await ok.arrayBuffer()).byteLength > 0);
    assert.equal(await flvStatus(`${stack.url}${urls.flv}`), 200);
    assert.equal(await flvStatus(`${base}.flv?token=${token}x`), 403, 'a token with a changed signature is refused');

    const url = new URL(segment);
    const grant = url.searchParams.get('hls_auth') ?? '';
    // The grant's signature changed, the grant removed, the grant moved to another session.
    const tampered = new URL(url);
    tampered.searchParams.set('hls_auth', `${grant.slice(0, -4)}${grant.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`);
    const stripped = new URL(url);
    stripped.searchParams.delete('hls_auth');
    const moved = new URL(url);
    moved.searchParams.set('hls_ctx', 'someoneelse0');
    for (const bad of [tampered, stripped, moved]) {
      const res = await get(bad.toString());
      assert.equal(res.status, 403, `${bad}: ${res.text}`);
    }
    // The session's media playlist without its grant (the request players repeat, which the HLS fast
    // lane answers for public streams) is refused too.
    const mediaUrl = new URL(firstUri(variant));
    mediaUrl.searchParams.delete('hls_auth');
    const bare = await get(mediaUrl.toString());
    assert.equal(bare.status, 403, `${mediaUrl}: ${bare.text}`);
    // The viewer's play URL token is not a session grant.
    const asGrant = new URL(url);
    asGrant.searchParams.set('hls_auth', token);
    assert.equal((await get(asGrant.toString())).status, 403);
  });

  it('timeshift: the DVR playlist and its segments follow play auth like the live playlist (issue 19)', async () => {
    const on = await stack.api('/terraform/v1/hooks/record/retention/apply', { timeshiftMinutes: 5 }, { bearer });
    assert.equal(on.status, 200, JSON.stringify(on.json));
    try {
      // Not recorded: the timeshift store keeps the engine's segments from now on.
      let open: { variant: Got; media: Got; segment: string } | null = null;
      await waitFor(
        async () => {
          const probe = await get(`${base}/dvr.m3u8`);
          if (probe.status !== 200) return false;
          open = await openHls(`${base}/dvr.m3u8`);
          return /#EXT-X-PROGRAM-DATE-TIME:/.test(open.media.text);
        },
        30_000,
        () => stack.logs().slice(-3000),
      );
      assert.ok(open);
      const publicSegment = (open as { segment: string }).segment;
      assert.match(publicSegment, /\/live\/private1\/dvr-[0-9a-f-]{36}\.ts/);
      assert.equal((await get(publicSegment)).status, 200, 'public while play auth is off');

      await setMode({ mode: 'signed' });
      const refused = await get(`${base}/dvr.m3u8`);
      assert.equal(refused.status, 403, refused.text);
      assert.match(refused.text, /needs a signed play URL/);
      assert.equal((await get(publicSegment)).status, 403, 'an unsigned DVR segment is refused');

      const { urls } = await sign(60);
      const dvr = `${stack.url}${String(urls.hls).replace(/\.m3u8/, '/dvr.m3u8')}`;
      const { variant, media, segment } = await openHls(dvr);
      assert.match(variant.text, /hls_ctx=[0-9a-z]+&hls_auth=/);
      const uris = media.text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
      assert.ok(uris.length > 0 && uris.every((u) => /^dvr-.*[?&]hls_auth=/.test(u)), media.text);
      assert.equal(media.text.split('#EXT-X-PROGRAM-DATE-TIME:').length - 1, uris.length, 'a date on every segment');
      const ok = await fetch(segment);
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('cache-control') ?? '', /^private/);
      assert.equal(ok.headers.get('content-type'), 'video/mp2t');
      assert.ok((await ok.arrayBuffer()).byteLength > 0);
      const stripped = new URL(segment);
      stripped.searchParams.delete('hls_auth');
      assert.equal((await get(stripped.toString())).status, 403, 'the grant is checked on every segment');
    } finally {
      await stack.api('/terraform/v1/hooks/record/retention/apply', { timeshiftMinutes: 0 }, { bearer });
    }
    assert.equal((await get(`${base}/dvr.m3u8`)).status, 404, 'timeshift off: no DVR playlist');
  });

  it('signed: an expired URL is refused; a URL bound to another address is refused', async () => {
    await setMode({ mode: 'signed' });
    const short = await sign(1);
    await sleep(2100);
    const expired = await get(`${stack.url}${short.urls.hls}`);
    assert.equal(expired.status, 403);
    assert.match(expired.text, /expired/);
    assert.equal(await flvStatus(`${stack.url}${short.urls.flv}`), 403);
    const elsewhere = await sign(60, '203.0.113.9');
    const res = await get(`${stack.url}${elsewhere.urls.hls}`);
    assert.equal(res.status, 403);
    assert.match(res.text, /another client address/);
  });

  it('per stream: one stream signed while the default is off; turning it on keeps a viewer holding a valid URL', async () => {
    const { urls } = await sign(60);
    // Off: a signed URL still gets a session grant, so...
    const { segment } = await openHls(`${stack.url}${urls.hls}`);
    assert.match(segment, /hls_auth=/);
    await setMode({ stream, mode: 'signed' });
    // ...the viewer who held it keeps playing once the stream turns private, others are refused.
    assert.equal((await get(segment)).status, 200);
    assert.equal((await get(`${base}.m3u8`)).status, 403);
    const state = (await stack.api('/terraform/v1/mgmt/play-auth/query', {}, { bearer })).json.data as {
      mode: string;
      streams: Record<string, string>;
    };
    assert.equal(state.mode, 'off');
    assert.equal(state.streams[`live/${stream}`], 'signed');
    await setMode({ stream, mode: 'default' });
    assert.equal((await get(`${base}.m3u8`)).status, 200);
  });

  it('callback: on_play vetoes an FLV and an HLS viewer; once it accepts they play and on_stop follows', async () => {
    assert.equal(
      (await stack.api('/terraform/v1/mgmt/hooks/apply', { all: true, target: receiver.url, opaque: 'op' }, { bearer })).status,
      200,
    );
    try {
      await setMode({ mode: 'callback' });
      receiver.verdict = 'fail';
      const before = await metric({ protocol: 'flv', reason: 'callback' });
      assert.equal(await flvStatus(`${base}.flv`), 403);
      const hls = await get(`${base}.m3u8`);
      assert.equal(hls.status, 403);
      assert.match(hls.text, /refused by the HTTP callback/);
      assert.equal(await metric({ protocol: 'flv', reason: 'callback' }), before + 1);
      const asked = receiver.received.filter((b) => b.action === 'on_play');
      assert.ok(asked.length >= 2 && asked.every((b) => b.stream === stream && b.app === 'live' && b.opaque === 'op'));

      receiver.verdict = 'ok';
      const { segment } = await openHls(`${base}.m3u8`);
      assert.equal((await get(segment)).status, 200);
      assert.equal(await flvStatus(`${base}.flv`), 200);
      // A WHEP viewer admitted whose offer is then refused (400) is reported as gone too.
      const whep = await fetch(`${stack.url}/rtc/v1/whep/?app=live&stream=${stream}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp' },
        body: 'v=0\r\n',
      });
      assert.equal(whep.status, 400);
      for (const protocol of ['flv', 'webrtc']) {
        await waitFor(
          () => receiver.received.some((b) => b.action === 'on_stop' && b.protocol === protocol),
          10_000,
          () => `on_stop of ${protocol} among ${JSON.stringify(receiver.received.map((b) => [b.action, b.protocol]))}`,
        );
      }
    } finally {
      await stack.api('/terraform/v1/mgmt/hooks/apply', { all: false, target: '' }, { bearer });
    }
  });

  it('callback: fails closed with no receiver enabled, open when configured so', async () => {
    await setMode({ mode: 'callback', failClosed: true });
    assert.equal(await flvStatus(`${base}.flv`), 403);
    await setMode({ mode: 'callback', failClosed: false });
    assert.equal(await flvStatus(`${base}.flv`), 200);
  });

  it('RTMP play: refused unsigned, played with ?token=', async () => {
    await setMode({ mode: 'signed' });
    const { token } = await sign(60);
    await assert.rejects(ffprobe(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/${stream}`, 15_000));
    const probe = await ffprobe(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/${stream}?token=${token}`);
    assert.ok(probe.streams.some((s) => s.codec_type === 'video'));
  });

  it('SRT play: refused without a signature (no media, the refusal listed), played with token in the streamid', async function () {
    if (!(await srtStatus(stack, bearer)).available) this.skip();
    await setMode({ mode: 'signed' });
    const { urls } = await sign(60);
    await assert.rejects(ffprobe(srtUrl(stack.srtPort, `#!::r=live/${stream},m=request`), 10_000));
    const status = await srtStatus(stack, bearer);
    assert.ok(
      status.refusals.some((r) => /needs a signed play URL/.test(r.reason)),
      JSON.stringify(status.refusals),
    );
    assert.ok((await metric({ protocol: 'srt', reason: 'unsigned' })) >= 1);
    const probe = await ffprobe(srtUrl(stack.srtPort, urls.srtStreamId ?? ''), 20_000);
    assert.ok(probe.streams.some((s) => s.codec_type === 'video'));
  });

  it("the console's Streaming page signs its players' URLs while play auth is on; its play-token works", async () => {
    const cookie = await consoleSession(stack.url);
    const page = async () => (await fetch(`${stack.url}/mgmt/scenarios?tab=live`, { headers: { cookie } })).text();
    const publicPage = await page();
    assert.doesNotMatch(publicPage, /data-play-auth/);
    assert.match(publicPage, /\/live\/livestream\.flv</);
    await setMode({ mode: 'signed' });
    const privatePage = await page();
    assert.match(privatePage, /data-play-auth="on"/);
    const flv = /id="flv-url" data-tpl="([^"]*)">([^<]*)</.exec(privatePage);
    assert.ok(flv, 'the FLV URL on the page');
    assert.match(flv[1] ?? '', /\.flv\?token=\{token\}/, 'the template has the token placeholder');
    assert.match(flv[2] ?? '', /\/live\/livestream\.flv\?token=[\w-]+\.[\w-]+\.[\w-]+$/);
    // The page script asks for the token of the stream it shows; without a session, no token.
    assert.equal((await fetch(`${stack.url}/mgmt/scenarios/live/play-token?stream=${stream}`)).status, 401);
    const answer = (await (
      await fetch(`${stack.url}/mgmt/scenarios/live/play-token?stream=${stream}`, { headers: { cookie } })
    ).json()) as {
      token: string;
    };
    assert.equal(await flvStatus(`${base}.flv?token=${answer.token}`), 200);
  });

  it('WHEP: an offer without a signature is refused with 403 before the offer is even read', async () => {
    await setMode({ mode: 'signed' });
    const whep = (query: string) =>
      fetch(`${stack.url}/rtc/v1/whep/?app=live&stream=${stream}${query}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp' },
        body: 'v=0\r\n',
      });
    const refused = await whep('');
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /needs a signed play URL/);
    const { token } = await sign(60);
    // Admitted: now the (deliberately useless) offer itself is what is refused.
    const admitted = await whep(`&token=${token}`);
    assert.notEqual(admitted.status, 403, await admitted.text());
    assert.ok((await metric({ protocol: 'webrtc', reason: 'unsigned' })) >= 1);
  });

  it("WHEP: Chromium plays a private stream from the signed WHEP page link (its feeder is the stack's own)", async () => {
    await setMode({ mode: 'signed' });
    const { token } = await sign(60);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${stack.url}/players/whep.html?stream=${stream}&autostart=true&token=${token}`);
      let frames = 0;
      await waitFor(
        async () =>
          (frames = await page.evaluate(async () => {
            const s = (window as unknown as { whepSession?: { pc: RTCPeerConnection } }).whepSession;
            let decoded = 0;
            (await s?.pc.getStats())?.forEach((st: Record<string, unknown>) => {
              if (st.type === 'inbound-rtp' && st.kind === 'video') decoded = Number(st.framesDecoded ?? 0);
            });
            return decoded;
          })) >= 10,
        40_000,
        () => `frames decoded over WHEP (got ${frames})\n${stack.logs().slice(-2000)}`,
      );
    } finally {
      await browser.close();
    }
  });
});
