import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { withUriQuery } from '../../server/features/hls/playlist.js';
import { signedPlayPaths } from '../../server/features/play-auth/routes.js';
import { PlayAuth, tokenOf, type PlayCallbacks, type PlayRequest } from '../../server/features/play-auth/service.js';
import { parseMode, type PlayAuthMode } from '../../server/features/play-auth/settings.js';
import { PlaySigner, checkClaims, normaliseAddress } from '../../server/features/play-auth/signing.js';
import { parseStreamId } from '../../server/features/srt/streamid.js';

const key = crypto.randomBytes(32);
const want = { app: 'live', stream: 'cam', clientAddress: '198.51.100.7' };

describe('play URL signatures', () => {
  it('accept the stream, expiry and address they were signed for, nothing else', async () => {
    const signer = new PlaySigner(key);
    const token = await signer.sign({ sub: 'live/cam', exp: 2000, ip: '198.51.100.7' });
    assert.ok((await signer.verify(token, want, 1000)).ok);
    assert.match(JSON.stringify(await signer.verify(token, { ...want, stream: 'other' }, 1000)), /another stream/);
    assert.match(JSON.stringify(await signer.verify(token, { ...want, clientAddress: '198.51.100.8' }, 1000)), /another client address/);
    // Checked again on every call, even once the signature is known good (the cache skips only jose).
    assert.match(JSON.stringify(await signer.verify(token, want, 2000)), /expired/);
    assert.match(JSON.stringify(await new PlaySigner(crypto.randomBytes(32)).verify(token, want, 1000)), /signature is invalid/);
    const [h, p, s] = token.split('.') as [string, string, string];
    const longer = Buffer.from(JSON.stringify({ sub: 'live/cam', exp: 9e9 })).toString('base64url');
    assert.equal((await signer.verify(`${h}.${longer}.${s}`, want, 1000)).ok, false);
    assert.equal((await signer.verify(`${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`, want, 1000)).ok, false);
    assert.equal((await signer.verify('garbage', want, 1000)).ok, false);
  });

  it('keep HLS session grants and play URL tokens apart', () => {
    const grant = { sub: 'live/cam', exp: 2000, sid: 'abc' };
    assert.ok(checkClaims(grant, { ...want, sid: 'abc' }, 1000).ok);
    assert.equal(checkClaims(grant, { ...want, sid: 'abd' }, 1000).ok, false);
    assert.equal(checkClaims(grant, want, 1000).ok, false, 'a grant is not a play URL');
    assert.equal(checkClaims({ sub: 'live/cam', exp: 2000 }, { ...want, sid: 'abc' }, 1000).ok, false, 'a play URL is not a grant');
  });

  it('compare IPv4 addresses as a dual-stack socket reports them', () => {
    assert.equal(normaliseAddress('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(normaliseAddress('2001:DB8::1'), '2001:db8::1');
  });
});

describe('play authentication modes', () => {
  const settings = (mode: PlayAuthMode, streams: Record<string, PlayAuthMode> = {}, failClosed = true) => ({
    current: { mode, failClosed, streams },
    key,
    modeFor: (app: string, stream: string) => streams[`${app}/${stream}`] ?? mode,
  });
  const viewer = (token = ''): PlayRequest => ({ protocol: 'flv', app: 'live', stream: 'cam', token, clientAddress: '198.51.100.7' });
  const calls: string[] = [];
  const callbacks = (verdict: 'ok' | 'fail'): PlayCallbacks => ({
    onPlay: async (v, failClosed) => {
      calls.push(`on_play ${v.stream} ${failClosed}`);
      if (verdict === 'fail') throw new Error('answered HTTP 500');
    },
    onStop: (v) => void calls.push(`on_stop ${v.stream}`),
  });

  it('off admits everyone; signed needs a valid token; a stream mode overrides the default', async () => {
    assert.equal((await new PlayAuth(settings('off'), callbacks('fail')).admit(viewer())).via, 'off');
    const auth = new PlayAuth(settings('signed'), callbacks('fail'));
    await assert.rejects(
      auth.admit(viewer()),
      (err: Error & { status?: number }) => err.status === 403 && /needs a signed play URL/.test(err.message),
    );
    const { token, expiresAt } = await auth.sign('live', 'cam', 60);
    assert.equal((await auth.admit(viewer(token))).expiresAt, expiresAt);
    const open = new PlayAuth(settings('signed', { 'live/cam': 'off' }), callbacks('fail'));
    assert.equal((await open.admit(viewer())).via, 'off');
  });

  it('callback asks on_play, refuses on its refusal, and says on_stop once when an admitted viewer leaves', async () => {
    calls.length = 0;
    await assert.rejects(new PlayAuth(settings('callback'), callbacks('fail')).admit(viewer()), /answered HTTP 500/);
    const admitted = await new PlayAuth(settings('callback', {}, false), callbacks('ok')).admit(viewer());
    admitted.left();
    admitted.left();
    assert.deepEqual(calls, ['on_play cam true', 'on_play cam false', 'on_stop cam']);
  });

  it('counts refusals by protocol and reason for /metrics', async () => {
    const auth = new PlayAuth(settings('signed'), callbacks('ok'));
    await assert.rejects(auth.admit(viewer()));
    await assert.rejects(auth.admit(viewer('nope')));
    await assert.rejects(auth.checkGrant({ ...viewer(), protocol: 'hls' }, 'abc', ''));
    const lines: string[] = [];
    const metrics = {
      counter: (name: string, _help: string, collect: () => Array<{ labels: Record<string, string>; value: number }>) => {
        if (name === 'srs_stack_play_refused_total')
          for (const s of collect()) if (s.value) lines.push(`${s.labels.protocol}/${s.labels.reason}=${s.value}`);
      },
    };
    auth.registerMetrics(metrics as never);
    assert.deepEqual(lines.sort(), ['flv/signature=1', 'flv/unsigned=1', 'hls/unsigned=1']);
  });

  it('reads modes strictly and tokens from either query shape', () => {
    assert.equal(parseMode('signed'), 'signed');
    assert.throws(() => parseMode('on'), /off, signed, callback/);
    assert.equal(tokenOf('?secret=x&token=abc'), 'abc');
    assert.equal(tokenOf({ token: 'abc' }), 'abc');
    assert.equal(tokenOf({ token: ['a', 'b'] }), '');
  });
});

describe('signed play URLs and playlists', () => {
  it('writes a session query into every URI of a playlist, classic and LL-HLS', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-MAP:URI="init-1.mp4"',
      '#EXT-X-PART:DURATION=0.5,URI="part-3.0.m4s",INDEPENDENT=YES',
      '#EXTINF:2.0,',
      'cam-3.ts',
      '#EXTINF:2.0,',
      'n/cam-4.ts?x=1',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-3.1.m4s"',
      '',
    ].join('\n');
    const out = withUriQuery(text, 'hls_ctx=a&hls_auth=g');
    assert.equal(
      out,
      [
        '#EXTM3U',
        '#EXT-X-MAP:URI="init-1.mp4?hls_ctx=a&hls_auth=g"',
        '#EXT-X-PART:DURATION=0.5,URI="part-3.0.m4s?hls_ctx=a&hls_auth=g",INDEPENDENT=YES',
        '#EXTINF:2.0,',
        'cam-3.ts?hls_ctx=a&hls_auth=g',
        '#EXTINF:2.0,',
        'n/cam-4.ts?x=1&hls_ctx=a&hls_auth=g',
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-3.1.m4s?hls_ctx=a&hls_auth=g"',
        '',
      ].join('\n'),
    );
  });

  it('mints URLs for every protocol; the SRT streamid carries the token in its query', () => {
    const urls = signedPlayPaths('live', 'a b', 't.o-k_en');
    assert.equal(urls.hls, '/live/a%20b.m3u8?token=t.o-k_en');
    assert.equal(urls.whep, '/rtc/v1/whep/?app=live&stream=a%20b&token=t.o-k_en');
    const sid = parseStreamId(signedPlayPaths('live', 'cam', 't.o-k_en').srtStreamId ?? '');
    assert.ok(sid.ok);
    assert.equal(sid.id.mode, 'request');
    assert.equal(tokenOf(sid.id.param), 't.o-k_en');
  });
});

describe('Streaming page URLs of a private stream', () => {
  it('carry the token in every play URL and in no publish URL', async () => {
    const { streamingUrls } = await import('../../server/features/streaming-guide/urls.js');
    const inputs = {
      hostname: 'h',
      secure: false,
      pagePort: '2022',
      rtmpPort: '1935',
      httpPort: '',
      srtPort: '10080',
      rtcPort: '8000',
      httpsPort: '2443',
      secret: 's',
      stream: 'cam',
    };
    const u = streamingUrls({ ...inputs, playToken: 'a.b.c' });
    for (const url of [u.flvUrl, u.m3u8Url, u.llHlsUrl, u.whepUrl, u.whepPlayerPage, u.flvPlayer, u.hlsPlayer])
      assert.match(url, /[?&]token=a\.b\.c$/, url);
    assert.match(u.srtPlayStreamId, /,m=request,token=a\.b\.c$/);
    for (const url of [u.rtmpPublishUrl, u.srtPublishUrl, u.whipUrl]) assert.doesNotMatch(url, /token=/, url);
    assert.doesNotMatch(JSON.stringify(streamingUrls(inputs)), /token=/);
  });
});

describe('HLS sessions admitted by on_play', () => {
  it('say on_stop once a session stops polling, or never polled at all', async () => {
    const { HlsSessions } = await import('../../server/features/hls/delivery.js');
    const sessions = new HlsSessions();
    const gone: string[] = [];
    sessions.admitted('a', () => gone.push('a'), 0);
    sessions.admitted('b', () => gone.push('b'), 0);
    sessions.touch('a', 'live/cam', 20_000);
    assert.equal(sessions.count('live/cam', 20_000), 1, 'admitted is not watching until it polls');
    sessions.sweep(31_000);
    assert.deepEqual(gone, ['b']);
    sessions.touch('a', 'live/cam', 40_000);
    sessions.sweep(49_000);
    assert.deepEqual(gone, ['b']);
    sessions.sweep(71_000);
    assert.deepEqual(gone, ['b', 'a']);
  });
});
