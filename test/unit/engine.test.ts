import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loopbackHost } from '../../server/app.js';
import { isSafeFileName } from '../../server/core/stream-names.js';
import { HlsSessions, PlaylistCache, SegmentCache } from '../../server/features/hls/delivery.js';
import { finishedSince, parseMediaPlaylist, sessionVariantPlaylist, withEndList } from '../../server/features/hls/playlist.js';
import { parseNginxCallback } from '../../server/engine/nginx-rtmp/callback.js';
import { findRtmpModule, normalApp, quote, renderNginxRtmpConfig } from '../../server/engine/nginx-rtmp/config.js';
import { parseRtmpStat } from '../../server/engine/nginx-rtmp/stat.js';
import { parseLiveRoom } from '../../server/features/live-streams/live-room-store.js';
import { publishAllowed, secretFor, streamKey } from '../../server/features/live-streams/publish-rules.js';
import { parseStreamInfo } from '../../server/features/live-streams/stream-store.js';

const HLS = {
  lowLatency: { root: '/data/engine/hls/ll', fragmentSeconds: 2, windowSeconds: 16, segmentPrefix: '' },
  normal: { root: '/data/engine/hls/normal', fragmentSeconds: 10, windowSeconds: 60, segmentPrefix: 'n' },
};

describe('engine: nginx-rtmp config', () => {
  const conf = renderNginxRtmpConfig({
    prefix: '/data/engine',
    modulePath: '/usr/lib/nginx/modules/ngx_rtmp_module.so',
    rtmpPort: 1935,
    httpSocket: '/data/engine/engine.sock',
    callbackUrl: 'http://127.0.0.1:2022/terraform/v1/hooks/srs/verify?engine=tok',
    apps: ['live'],
    pushTargets: (app) => [`rtmp://127.0.0.1:19350/${app}?tap=tok`],
    hls: HLS,
    workerUser: null,
  });

  it('keeps every path nginx writes inside the prefix', () => {
    assert.match(conf, /^load_module "\/usr\/lib\/nginx\/modules\/ngx_rtmp_module\.so";$/m);
    assert.match(conf, /^pid "\/data\/engine\/nginx\.pid";$/m);
    assert.match(conf, /^error_log "\/data\/engine\/logs\/error\.log" warn;$/m);
    for (const temp of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
      assert.match(conf, new RegExp(`${temp}_temp_path "/data/engine/temp/`), temp);
    }
    assert.doesNotMatch(conf, /\/var\/(log|lib)/);
  });

  it('runs one worker in the foreground, RTMP on the configured port, stats on a unix socket only', () => {
    assert.match(conf, /^worker_processes 1;$/m);
    assert.match(conf, /^daemon off;$/m);
    assert.match(conf, /^ {4}listen 1935;$/m);
    assert.match(conf, /listen "unix:\/data\/engine\/engine\.sock";/);
    assert.match(conf, /rtmp_stat all;/);
    assert.match(conf, /rtmp_control all;/);
    assert.doesNotMatch(conf, /listen \d+;[\s\S]*http \{[\s\S]*listen \d/);
  });

  it('verifies publishes through the stack and writes both HLS renditions from one publish', () => {
    assert.match(conf, /notify_method post;/);
    assert.match(conf, /on_publish "http:\/\/127\.0\.0\.1:2022\/terraform\/v1\/hooks\/srs\/verify\?engine=tok";/);
    assert.match(conf, /on_publish_done "http:/);
    assert.match(conf, /hls_path "\/data\/engine\/hls\/ll\/live";\s+hls_fragment 2s;\s+hls_playlist_length 16s;/);
    assert.match(conf, new RegExp(`push rtmp://127\\.0\\.0\\.1:1935/${normalApp('live')};`));
    const internal = conf.slice(conf.indexOf(`application ${normalApp('live')} {`));
    assert.match(internal, /allow publish 127\.0\.0\.1;\s+deny publish all;/);
    assert.doesNotMatch(internal.slice(0, internal.indexOf('}')), /on_publish/);
    assert.match(internal, /hls_path "\/data\/engine\/hls\/normal\/live";\s+hls_fragment 10s;\s+hls_playlist_length 60s;/);
    assert.match(internal, /hls_base_url "n\/";/);
  });

  it("pushes every stream of a public app to the stack's live tap too, never from the internal app", () => {
    const app = conf.slice(conf.indexOf('application live {'), conf.indexOf(`application ${normalApp('live')} {`));
    assert.match(app, /^ {6}push "rtmp:\/\/127\.0\.0\.1:19350\/live\?tap=tok";$/m);
    assert.doesNotMatch(conf.slice(conf.indexOf(`application ${normalApp('live')} {`)), /19350/);
  });

  it('names the worker user only when asked (the stack runs as root)', () => {
    assert.doesNotMatch(conf, /^user /m);
    const asRoot = renderNginxRtmpConfig({
      prefix: '/p',
      modulePath: null,
      rtmpPort: 1,
      httpSocket: '/p/s',
      callbackUrl: 'http://x',
      apps: [],
      pushTargets: () => [],
      hls: HLS,
      workerUser: 'root',
    });
    assert.match(asRoot, /^user root;$/m);
    assert.doesNotMatch(asRoot, /load_module/);
  });

  it('refuses values that would change the config meaning', () => {
    for (const bad of ['a"b', 'a$b', 'a\nb', 'a\\b', '']) assert.throws(() => quote(bad), /cannot use/);
    assert.equal(quote('/data dir/engine'), '"/data dir/engine"');
  });

  it('finds the RTMP module from nginx -V, the usual paths, or reports how to fix it', () => {
    const v = 'configure arguments: --prefix=/usr/share/nginx --modules-path=/opt/mods --with-http_ssl_module';
    assert.deepEqual(
      findRtmpModule('', v, (f) => f === '/opt/mods/ngx_rtmp_module.so'),
      { path: '/opt/mods/ngx_rtmp_module.so' },
    );
    assert.deepEqual(
      findRtmpModule('', v, (f) => f === '/usr/lib64/nginx/modules/ngx_rtmp_module.so'),
      { path: '/usr/lib64/nginx/modules/ngx_rtmp_module.so' },
    );
    assert.deepEqual(
      findRtmpModule('', `${v} --add-module=../nginx-rtmp-module`, () => false),
      { path: null },
    );
    assert.match((findRtmpModule('', v, () => false) as { error: string }).error, /libnginx-mod-rtmp.*NGINX_RTMP_MODULE/);
    assert.match((findRtmpModule('/x.so', v, () => false) as { error: string }).error, /\/x\.so does not exist/);
    assert.deepEqual(
      findRtmpModule('/x.so', v, () => true),
      { path: '/x.so' },
    );
  });
});

describe('engine: nginx-rtmp callbacks', () => {
  const publish =
    'app=live&flashver=FMLE/3.0%20(compatible%3B%20Lavf59.27&swfurl=&tcurl=rtmp://127.0.0.1:1935/live&pageurl=&addr=10.0.0.9&clientid=2&call=publish&name=test1&type=live&secret=good&foo=bar';

  it('decodes a publish into the neutral request, rebuilding SRS param from the flattened query', () => {
    assert.deepEqual(parseNginxCallback(publish), {
      action: 'publish',
      relay: false,
      request: {
        protocol: 'rtmp',
        vhost: '__defaultVhost__',
        app: 'live',
        stream: 'test1',
        param: '?secret=good&foo=bar',
        clientId: '2',
        clientAddress: '10.0.0.9',
      },
    });
  });

  it('never lets a query argument override nginx fields', () => {
    const { action, request } = parseNginxCallback(`${publish}&name=other&app=evil&call=play`);
    assert.equal(request.stream, 'test1');
    assert.equal(request.app, 'live');
    assert.equal(action, 'publish');
    assert.equal(request.param, '?secret=good&foo=bar&name=other&app=evil&call=play');
  });

  it('maps publish_done, play and relay plays', () => {
    assert.equal(parseNginxCallback('app=live&clientid=2&call=publish_done&name=s').action, 'unpublish');
    assert.equal(parseNginxCallback('app=live&clientid=2&call=publish_done&name=s').request.param, '');
    const relay = parseNginxCallback(
      'app=&flashver=ngx-local-relay&addr=127.0.0.1:1935/live__normal&clientid=4&call=play&name=s&start=0&duration=0&reset=0',
    );
    assert.equal(relay.action, 'play');
    assert.equal(relay.relay, true);
    assert.equal(relay.request.param, '');
  });

  it('refuses unknown calls, empty, oversized and path-like stream names', () => {
    assert.throws(() => parseNginxCallback('app=live&call=record_done&name=s'), /unsupported engine callback/);
    assert.throws(() => parseNginxCallback('app=live&call=publish&name='), /the name is empty/);
    assert.throws(() => parseNginxCallback(`app=live&call=publish&name=${'x'.repeat(2000)}`), /too long/);
    assert.throws(() => parseNginxCallback('app=live&call=publish&name=a%2Fb'), /no \/, \\ or \?/);
    assert.throws(() => parseNginxCallback('app=live&call=publish&name=..'), /dot segment/);
    assert.throws(() => parseNginxCallback('app=&call=publish&name=s'), /without app/);
  });
});

const STAT = `<?xml version="1.0" encoding="utf-8" ?>
<rtmp><nginx_version>1.22.1</nginx_version><uptime>1</uptime>
<server>
<application><name>live</name><live>
<stream><name>a&amp;b</name><time>5764</time><bw_in>0</bw_in><bytes_in>196920</bytes_in>
<client><id>4</id><address>127.0.0.1:1935/live__normal</address><time>5764</time><flashver>ngx-local-relay</flashver><active/></client>
<client><id>2</id><address>10.1.2.3</address><time>5947</time><flashver>FMLE/3.0 (compatible; Lavf59.27</flashver><publishing/><active/></client>
<client><id>7</id><address>10.9.9.9</address><time>100</time><flashver>LNX 9,0,124,2</flashver><active/></client>
<meta><video><width>320</width><height>240</height><frame_rate>25</frame_rate><codec>H264</codec></video><audio><codec>AAC</codec><profile>LC</profile><channels>1</channels><sample_rate>44100</sample_rate></audio></meta>
<nclients>3</nclients><publishing/><active/></stream>
<stream><name>idle</name><time>10</time><client><id>9</id><address>10.0.0.1</address><flashver>x</flashver></client><nclients>1</nclients></stream>
<nclients>4</nclients></live></application>
<application><name>live__normal</name><live>
<stream><name>a&amp;b</name><client><id>5</id><address>127.0.0.1</address><flashver>LNX.11,1,102,55</flashver><publishing/><active/></client><nclients>1</nclients><publishing/><active/></stream>
</live></application>
</server></rtmp>`;

describe('engine: nginx-rtmp /stat', () => {
  it('reads streams, publishers, relays, players and media info', () => {
    const streams = parseRtmpStat(STAT);
    assert.equal(streams.length, 3);
    const [live, idle, internal] = streams;
    assert.equal(live?.app, 'live');
    assert.equal(live?.stream, 'a&b');
    assert.equal(live?.publishing, true);
    assert.equal(live?.publisherId, '2');
    assert.deepEqual(
      live?.clients.map((c) => [c.id, c.relay, c.publishing, c.address]),
      [
        ['4', true, false, ''],
        ['2', false, true, '10.1.2.3'],
        ['7', false, false, '10.9.9.9'],
      ],
    );
    assert.deepEqual(live?.video, { codec: 'H264', width: 320, height: 240, fps: 25 });
    assert.deepEqual(live?.audio, { codec: 'AAC', sampleRate: 44100, channels: 1 });
    assert.equal(live?.bytesIn, 196920);
    assert.equal(idle?.publishing, false, 'a client flag is not the stream flag');
    assert.equal(idle?.publisherId, null);
    assert.equal(internal?.app, 'live__normal');
  });

  it('refuses a document that is not nginx-rtmp stats', () => {
    assert.throws(() => parseRtmpStat('<html>502</html>'), /not an nginx-rtmp/);
    assert.deepEqual(parseRtmpStat('<rtmp><server></server></rtmp>'), []);
  });
});

const PLAYLIST = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-TARGETDURATION:2
#EXT-X-DISCONTINUITY
#EXTINF:2.000,
s-4.ts
#EXTINF:2.000,
s-5.ts
#EXTINF:1.773,
s-6.ts
`;

describe('engine: HLS playlists and segment events', () => {
  it('parses sequence numbers, durations and URIs', () => {
    const p = parseMediaPlaylist(PLAYLIST);
    assert.ok(p);
    assert.equal(p.targetDuration, 2);
    assert.equal(p.ended, false);
    assert.deepEqual(
      p.segments.map((s) => [s.seq, s.duration, s.uri]),
      [
        [4, 2, 's-4.ts'],
        [5, 2, 's-5.ts'],
        [6, 1.773, 's-6.ts'],
      ],
    );
    assert.equal(parseMediaPlaylist(''), null, 'an empty file (being written) is not a playlist');
    assert.equal(parseMediaPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nx.m3u8\n'), null);
    assert.equal(parseMediaPlaylist(`${PLAYLIST}#EXT-X-ENDLIST\n`)?.ended, true);
  });

  it('reports each finished segment once, as the playlist grows', () => {
    const first = parseMediaPlaylist('#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\ns-0.ts\n');
    assert.ok(first);
    let r = finishedSince(null, first);
    assert.deepEqual(
      r.segments.map((s) => s.seq),
      [0],
    );
    const later = parseMediaPlaylist(PLAYLIST);
    assert.ok(later);
    r = finishedSince(r.lastSeq, later);
    assert.deepEqual(
      r.segments.map((s) => s.seq),
      [4, 5, 6],
      'everything newer than the last reported segment',
    );
    assert.equal(r.lastSeq, 6);
    assert.deepEqual(finishedSince(6, later).segments, [], 'an unchanged playlist reports nothing');
  });

  it('starts over when the engine restarted the numbering', () => {
    const restarted = parseMediaPlaylist('#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\ns-0.ts\n#EXTINF:2.0,\ns-1.ts\n');
    assert.ok(restarted);
    const r = finishedSince(57, restarted);
    assert.deepEqual(
      r.segments.map((s) => s.seq),
      [0, 1],
    );
    assert.equal(r.lastSeq, 1);
    assert.deepEqual(finishedSince(3, parseMediaPlaylist('#EXTM3U\n') as never), { segments: [], lastSeq: 3 });
  });

  it('ends a playlist once, and names the player session in a variant playlist', () => {
    const ended = withEndList(PLAYLIST);
    assert.match(ended, /s-6\.ts\n#EXT-X-ENDLIST\n$/);
    assert.equal(withEndList(ended), ended);
    assert.equal(
      sessionVariantPlaylist('s.m3u8?hls_ctx=abc'),
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH=1\ns.m3u8?hls_ctx=abc\n',
    );
  });

  it('counts HLS sessions while they poll and forgets idle ones', () => {
    const sessions = new HlsSessions();
    sessions.touch('a', 'live/s', 0);
    sessions.touch('b', 'live/s', 10_000);
    sessions.touch('c', 'live/other', 10_000);
    assert.equal(sessions.count('live/s', 20_000), 2);
    assert.equal(sessions.count('live/s', 35_000), 1, 'a session idle for 30 s is no viewer');
    sessions.sweep(35_000);
    assert.equal(sessions.size, 2);
  });

  it('reads a playlist once per short interval, whatever the number of players', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pl-cache-')), 's.m3u8');
    const cache = new PlaylistCache(200);
    assert.equal(await cache.read(file, 0), null, 'missing');
    fs.writeFileSync(file, 'one');
    assert.equal(await cache.read(file, 100), null, 'still the cached answer');
    assert.equal(await cache.read(file, 300), 'one');
    fs.writeFileSync(file, 'two');
    assert.equal(await cache.read(file, 400), 'one');
    assert.equal(await cache.read(file, 600), 'two');
  });

  it('keeps segments in memory only while the file is unchanged, within a byte budget', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seg-cache-'));
    const cache = new SegmentCache(10, 8);
    const a = path.join(dir, 'a.ts');
    fs.writeFileSync(a, 'aaaa');
    assert.equal((await cache.read(a, fs.statSync(a))).toString(), 'aaaa');
    assert.equal(cache.usedBytes, 4);
    fs.appendFileSync(a, 'AA'); // still being written: size changed
    assert.equal((await cache.read(a, fs.statSync(a))).toString(), 'aaaaAA');
    assert.equal(cache.usedBytes, 6);
    const b = path.join(dir, 'b.ts');
    fs.writeFileSync(b, 'bbbbbb');
    await cache.read(b, fs.statSync(b));
    assert.equal(cache.usedBytes, 6, 'the least recently used entry made room');
    const big = path.join(dir, 'big.ts');
    fs.writeFileSync(big, 'x'.repeat(9));
    assert.equal((await cache.read(big, fs.statSync(big))).length, 9);
    assert.equal(cache.usedBytes, 6, 'an entry over the per-file limit is served, not kept');
  });

  it('accepts only plain file names as path components', () => {
    for (const ok of ['live', 's-1.ts', 'a b.m3u8', '你好.m3u8', 'a..b']) assert.equal(isSafeFileName(ok), true, ok);
    for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', 'a\0b', 'x'.repeat(5000)]) assert.equal(isSafeFileName(bad), false, bad);
  });
});

describe('streams: publish rules and stored values', () => {
  it('accepts the secret in the query or contained in the stream name (SRS Stack rules)', () => {
    const secret = '8f7605d657c74d69b6b48f532c469bc9';
    assert.equal(publishAllowed({ stream: 'livestream', param: `?secret=${secret}` }, secret), true);
    assert.equal(publishAllowed({ stream: `livestream${secret}`, param: '' }, secret), true);
    assert.equal(publishAllowed({ stream: secret, param: '' }, secret), true);
    assert.equal(publishAllowed({ stream: 'livestream', param: '?secret=wrong' }, secret), false);
    assert.equal(publishAllowed({ stream: 'livestream', param: '' }, secret), false);
    assert.equal(publishAllowed({ stream: 'x', param: '' }, ''), true, 'no secret configured: open');
  });

  it("needs a live room's own secret for its stream, the stream secret for any other (own keys only)", () => {
    const rules = { authDisabled: false, secret: 'global', rooms: { room1: 'roomsecret' } };
    assert.equal(secretFor(rules, 'room1'), 'roomsecret');
    assert.equal(secretFor(rules, 'other'), 'global');
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) assert.equal(secretFor(rules, name), 'global', name);
    // A room of that name, as the store builds the map (no prototype), keeps its own secret.
    const protoRoom = Object.assign(Object.create(null) as Record<string, string>, { ['__proto__']: 'its-own' });
    assert.equal(secretFor({ ...rules, rooms: protoRoom }, '__proto__'), 'its-own');
  });

  it('keys streams as SRS Stack does', () => {
    assert.equal(streamKey('__defaultVhost__', 'live', 's'), 'live/s');
    assert.equal(streamKey('', 'live', 's'), 'live/s');
    assert.equal(streamKey('v.example', 'live', 's'), 'v.example/live/s');
  });

  it('reads stored streams and rooms defensively', () => {
    assert.deepEqual(parseStreamInfo('{"app":"live","stream":"s","update":"t","client_id":"3"}'), {
      vhost: '__defaultVhost__',
      app: 'live',
      stream: 's',
      param: '',
      update: 't',
      client_id: '3',
    });
    assert.equal(parseStreamInfo('not json'), null);
    assert.equal(parseStreamInfo('{"app":"live"}'), null);
    assert.equal(parseLiveRoom('{"uuid":"u","stream":"s","secret":5}')?.secret, '');
    assert.equal(parseLiveRoom('[]'), null);
  });

  it('reaches its own listener on loopback', () => {
    assert.equal(loopbackHost('0.0.0.0'), '127.0.0.1');
    assert.equal(loopbackHost('::'), '127.0.0.1');
    assert.equal(loopbackHost('10.0.0.5'), '10.0.0.5');
    assert.equal(loopbackHost('fd00::5'), '[fd00::5]');
  });
});
