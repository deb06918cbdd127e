// The edge role's pure parts: its settings (EDGE_ORIGIN) and the nginx config it runs
// (docs/architecture.md#edges). The integration test (test/integration/edge.test.ts) runs both.
import assert from 'node:assert/strict';
import { buildConfig, ConfigError } from '../../server/config.js';
import { edgeName } from '../../server/edge-app.js';
import { renderEdgeNginxConfig, type EdgeNginxConfigOptions } from '../../server/engine/nginx-rtmp/edge-config.js';
import { originFlvUrl } from '../../server/features/edge/origin-pull.js';
import { edgeRelayArgs, planRelays, rtmpPlayers } from '../../server/features/edge/rtmp-relay.js';
import type { EngineClient, EngineStream } from '../../server/engine/media-engine.js';

const OPTIONS: EdgeNginxConfigOptions = {
  prefix: '/data/engine',
  modulePath: '/usr/lib/nginx/modules/ngx_rtmp_module.so',
  workerUser: null,
  listenHost: '0.0.0.0',
  httpPort: 2022,
  rtmpPort: 1935,
  statSocket: '/data/engine/engine.sock',
  origin: 'http://origin.example.com:2022',
  stackPort: 40123,
  apps: ['live'],
  session: 'edge0123456789abcdef',
  cacheMb: 512,
};

/** The body of the first `location <match> {…}` block. */
function location(conf: string, match: string): string {
  const start = conf.indexOf(`location ${match} {`);
  assert.ok(start >= 0, `no location ${match}`);
  return conf.slice(start, conf.indexOf('\n    }', start));
}

describe('edge: settings', () => {
  it('is off by default, and on with the origin URL', () => {
    assert.equal(buildConfig({}).edge, null);
    assert.deepEqual(buildConfig({ EDGE_ORIGIN: 'http://origin.example.com:2022/' }).edge, {
      origin: 'http://origin.example.com:2022',
      cacheMb: 1024,
    });
    const told = buildConfig({ EDGE_ORIGIN: 'https://[2001:db8::1]', EDGE_CACHE_MB: '64' }).edge;
    assert.deepEqual(told, { origin: 'https://[2001:db8::1]', cacheMb: 64 });
  });

  it('refuses an origin that is not a bare http(s) URL', () => {
    for (const bad of ['origin:2022', 'ftp://o', 'http://o:2022/live', 'http://o?x=1', 'http://user:pw@o', 'http://o"x']) {
      assert.throws(
        () => buildConfig({ EDGE_ORIGIN: bad }),
        (err: unknown) => err instanceof ConfigError && /EDGE_ORIGIN must be/.test(err.message),
        bad,
      );
    }
    assert.throws(() => buildConfig({ EDGE_ORIGIN: 'http://o', EDGE_CACHE_MB: '0' }), /EDGE_CACHE_MB/);
  });

  it("names the edge by its host name, as nginx and the origin's stats can carry it", () => {
    assert.equal(edgeName('cdn-edge-1.example.com'), 'cdn-edge-1.example.com');
    assert.equal(edgeName('bad name"; x'), 'bad-name---x');
    assert.equal(edgeName(''), 'edge');
  });

  it("pulls a stream from the origin's HTTP-FLV with the name escaped as the FLV route expects", () => {
    assert.equal(originFlvUrl('http://o:2022', 'live', 'a b#c'), 'http://o:2022/live/a%20b%23c.flv');
  });
});

describe('edge: nginx config', () => {
  const conf = renderEdgeNginxConfig(OPTIONS);

  it("serves HTTP on the public port and RTMP players from the edge's own relay, never the origin's RTMP", () => {
    assert.match(conf, /^ {4}listen 2022;$/m);
    assert.match(conf, /^ {4}listen 1935;$/m);
    // Only the relay on loopback publishes; nginx-rtmp itself never connects to the origin.
    assert.match(conf, /allow publish 127\.0\.0\.1;\n\s+deny publish all;/);
    assert.doesNotMatch(conf, /\bpull\b|\bpush\b|\bexec/);
    assert.match(conf, /worker_processes 1;/, "one worker: the relay's publish and every player of a stream meet in it");
    assert.match(conf, /listen "unix:\/data\/engine\/engine\.sock";\n\s+location = \/stat \{ rtmp_stat all; \}/);
    assert.match(renderEdgeNginxConfig({ ...OPTIONS, listenHost: '10.0.0.2' }), /listen 10\.0\.0\.2:2022;/);
    assert.match(renderEdgeNginxConfig({ ...OPTIONS, listenHost: '::' }), /listen \[::\]:2022 ipv6only=off;/);
  });

  it('caches and collapses: one lock per cache key, the cache on disk under the prefix', () => {
    assert.match(conf, /proxy_cache_path "\/data\/engine\/cache" [^;]*keys_zone=srs_edge:[^;]*max_size=512m/);
    assert.match(conf, /proxy_cache_lock on;/);
    assert.match(conf, /upstream srs_origin \{\n\s+server origin\.example\.com:2022;/);
    assert.match(
      renderEdgeNginxConfig({ ...OPTIONS, origin: 'https://o.example.com' }),
      /server o\.example\.com:443;[\s\S]*proxy_ssl_server_name on;/,
    );
  });

  it("shares playlists for a second under the edge's own hls_ctx, keyed per blocking-reload part, never per viewer session", () => {
    const playlist = location(conf, '~ \\.m3u8$');
    assert.match(playlist, /proxy_pass http:\/\/srs_origin\$edge_path\?hls_ctx=edge0123456789abcdef\$edge_msn\$edge_part;/);
    assert.match(playlist, /proxy_cache_key \$edge_path\$edge_msn\$edge_part;/);
    assert.doesNotMatch(playlist, /\$args|\$arg_hls_ctx|\$request_uri/, "a viewer's own hls_ctx never reaches the key or the origin");
    // The origin's no-cache (it counts sessions) is overridden; viewers are told one second.
    assert.match(playlist, /proxy_ignore_headers Cache-Control/);
    assert.match(playlist, /proxy_cache_valid 200 1s;/);
    assert.match(playlist, /add_header Cache-Control "public, max-age=1" always;/);
    // Only decimal _HLS_msn / _HLS_part go on (the origin answers anything else 400, uncached).
    assert.match(conf, /"~\^\[0-9\]\{1,12\}\$" "&_HLS_msn=\$arg__HLS_msn";/);
  });

  it("keeps segments, parts and init segments as long as the origin's Cache-Control says, keyed by path alone", () => {
    const media = location(conf, '~ \\.(ts|m4s|mp4)$');
    assert.match(media, /proxy_pass http:\/\/srs_origin\$edge_path;/);
    assert.match(media, /proxy_cache_key \$edge_path;/);
    assert.doesNotMatch(media, /proxy_ignore_headers/);
  });

  it("passes HTTP-FLV and the version probe to the edge's stack process unbuffered and uncached", () => {
    const flv = location(conf, '~ \\.flv$');
    assert.match(flv, /proxy_pass http:\/\/127\.0\.0\.1:40123;/);
    assert.match(flv, /proxy_buffering off;/);
    assert.match(flv, /proxy_cache off;/);
    assert.match(location(conf, '= /terraform/v1/mgmt/versions'), /proxy_pass http:\/\/127\.0\.0\.1:40123;/);
  });

  it('refuses a session that would change the config', () => {
    assert.throws(() => renderEdgeNginxConfig({ ...OPTIONS, session: 'x;y' }), /hls_ctx/);
  });
});

describe("edge: RTMP players from the edge's own pull", () => {
  const client = (id: string, publishing: boolean): EngineClient => ({
    id,
    address: '127.0.0.1',
    publishing,
    relay: false,
    aliveMs: 1000,
    pageUrl: '',
    bytesIn: 0,
    bytesOut: 0,
  });
  const stream = (app: string, name: string, players: number, published: boolean): EngineStream => ({
    app,
    stream: name,
    publishing: published,
    publisherId: published ? 'p' : null,
    clients: [...(published ? [client('p', true)] : []), ...Array.from({ length: players }, (_, i) => client(String(i), false))],
    video: null,
    audio: null,
    bytesIn: 0,
    uptimeMs: 0,
  });

  it("copies the edge's loopback HTTP-FLV into its nginx-rtmp, as argv (never a shell), the name one argument", () => {
    const flv = originFlvUrl('http://127.0.0.1:40123', 'live', 'a#b%c;$(x)');
    const args = edgeRelayArgs(flv, 'rtmp://127.0.0.1:1935/live/a#b%c;$(x)');
    assert.deepEqual(args, [
      ...['-hide_banner', '-nostdin', '-loglevel', 'warning', '-stats'],
      ...['-fpsprobesize', '0', '-i', 'http://127.0.0.1:40123/live/a%23b%25c%3B%24(x).flv'],
      ...['-c', 'copy', '-f', 'flv', 'rtmp://127.0.0.1:1935/live/a#b%c;$(x)'],
    ]);
  });

  it("counts a stream's RTMP players (not its publisher, the relay), in the app only, names the stack could publish only", () => {
    const players = rtmpPlayers(
      [
        stream('live', 'a', 3, true),
        stream('live', 'b', 1, false),
        stream('live', 'c', 0, true),
        stream('other', 'd', 2, false),
        stream('live', 'e f', 1, false),
      ],
      'live',
    );
    assert.deepEqual(
      [...players],
      [
        ['a', 3],
        ['b', 1],
      ],
    );
  });

  it('starts a relay for the first player, keeps it while players stay, stops it idleStopMs after the last left', () => {
    const none = new Map<string, number>();
    let plan = planRelays(new Map([['a', 1]]), new Set(), none, 0, 3000);
    assert.deepEqual([plan.start, plan.stop], [['a'], []]);
    plan = planRelays(new Map([['a', 2]]), new Set(['a']), plan.idleSince, 1000, 3000);
    assert.deepEqual([plan.start, plan.stop], [[], []]);
    // The last player left at 2000: kept for 3 s, a player coming back in between resets the wait.
    plan = planRelays(none, new Set(['a']), plan.idleSince, 2000, 3000);
    assert.deepEqual([plan.start, plan.stop, [...plan.idleSince]], [[], [], [['a', 2000]]]);
    plan = planRelays(none, new Set(['a']), plan.idleSince, 4999, 3000);
    assert.deepEqual(plan.stop, []);
    plan = planRelays(new Map([['a', 1]]), new Set(['a']), plan.idleSince, 5000, 3000);
    assert.deepEqual([plan.stop, plan.idleSince.size], [[], 0]);
    plan = planRelays(none, new Set(['a']), plan.idleSince, 6000, 3000);
    plan = planRelays(none, new Set(['a']), plan.idleSince, 9000, 3000);
    assert.deepEqual([plan.start, plan.stop, plan.idleSince.size], [[], ['a'], 0]);
  });
});
