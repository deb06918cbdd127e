// Scenarios › Streaming: SRS Stack's URL generator rules (docs/compatibility.md §12.2) for RTMP, SRT and WebRTC,
// the stream-renaming templates the page script fills, and when a browser may use the camera.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  STREAM_TOKEN,
  WHEP_PLAYER_PAGE,
  WHIP_PUBLISHER_PAGE,
  browserCanCapture,
  fillStream,
  splitHost,
  streamingUrls,
  urlRows,
  type StreamingUrls,
  type UrlInputs,
} from '../../server/features/streaming-guide/urls.js';

const base: UrlInputs = {
  hostname: 'example.com',
  secure: false,
  pagePort: '',
  rtmpPort: '1935',
  httpPort: '',
  srtPort: '10080',
  rtcPort: '8000',
  httpsPort: '2443',
  secret: 's3cr3t',
  stream: 'livestream',
};

/** Every string-valued URL or command of the page. */
function stringsOf(u: StreamingUrls): Array<[string, string]> {
  return Object.entries(u).filter((e): e is [string, string] => typeof e[1] === 'string');
}

describe('Streaming page URL rules: RTMP and HTTP (SRS Stack URL generator)', () => {
  it('builds the OBS server and key, the FFmpeg command, play URLs and player links', () => {
    const u = streamingUrls(base);
    assert.equal(u.rtmpServer, 'rtmp://example.com/live/');
    assert.equal(u.rtmpStreamKey, 'livestream?secret=s3cr3t');
    assert.equal(u.rtmpPublishUrl, 'rtmp://example.com/live/livestream?secret=s3cr3t');
    assert.equal(
      u.ffmpegCommand,
      "ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 -c:v libx264 -preset veryfast -tune zerolatency -g 60 -c:a aac -f flv 'rtmp://example.com/live/livestream?secret=s3cr3t'",
    );
    assert.equal(u.flvUrl, 'http://example.com/live/livestream.flv');
    assert.equal(u.m3u8Url, 'http://example.com/live/livestream.m3u8');
    assert.equal(u.llHlsUrl, 'http://example.com/live/livestream/ll.m3u8');
    assert.equal(u.llHlsPlayer, '/tools/player.html?url=http://example.com/live/livestream/ll.m3u8');
    assert.equal(u.flvPlayer, '/tools/player.html?url=http://example.com/live/livestream.flv');
    assert.deepEqual(u.firewall, { rtmp: 'TCP/1935', http: 'TCP/80', srt: 'UDP/10080', rtc: 'UDP/8000' });
  });

  it('omits RTMP 1935/80/443 and HTTP 80/443, shows any other port', () => {
    for (const p of ['', '1935', '80', '443']) assert.equal(streamingUrls({ ...base, rtmpPort: p }).rtmpServer, 'rtmp://example.com/live/');
    assert.equal(streamingUrls({ ...base, rtmpPort: '19350' }).rtmpServer, 'rtmp://example.com:19350/live/');
    assert.equal(streamingUrls({ ...base, pagePort: '2022' }).flvUrl, 'http://example.com:2022/live/livestream.flv');
    assert.equal(streamingUrls({ ...base, pagePort: '443', secure: true }).m3u8Url, 'https://example.com/live/livestream.m3u8');
    // HTTP_PORT (the port users reach behind NAT) wins over the page port.
    const mapped = streamingUrls({ ...base, pagePort: '2022', httpPort: '8080' });
    assert.equal(mapped.flvUrl, 'http://example.com:8080/live/livestream.flv');
    assert.equal(mapped.firewall.http, 'TCP/8080');
    assert.equal(streamingUrls({ ...base, httpPort: '80', pagePort: '2022' }).flvUrl, 'http://example.com/live/livestream.flv');
  });

  it('takes host and port from the Host header, refusing junk', () => {
    assert.deepEqual(splitHost('example.com:2022'), { hostname: 'example.com', port: '2022' });
    assert.deepEqual(splitHost('10.0.0.1'), { hostname: '10.0.0.1', port: '' });
    assert.deepEqual(splitHost('[::1]:2022'), { hostname: '[::1]', port: '2022' });
    assert.deepEqual(splitHost('[2001:db8::1]'), { hostname: '[2001:db8::1]', port: '' });
    for (const junk of ['evil"><script>', 'a b', 'host:99999999', ''])
      assert.deepEqual(splitHost(junk), { hostname: 'localhost', port: '' });
  });
});

describe('Streaming page URL rules: SRT', () => {
  it('publishes and plays with SRS Stack streamids on the SRT port, always shown', () => {
    const u = streamingUrls(base);
    assert.equal(u.srtPublishStreamId, '#!::r=live/livestream?secret=s3cr3t,m=publish');
    assert.equal(u.srtPlayStreamId, '#!::r=live/livestream,latency=20,m=request');
    assert.equal(u.srtPublishUrl, 'srt://example.com:10080?streamid=#!::r=live/livestream?secret=s3cr3t,m=publish');
    assert.equal(u.srtPlayUrl, 'srt://example.com:10080?streamid=#!::r=live/livestream,latency=20,m=request');
    // vMix takes the pieces separately (Hostname, Port, Latency 20, Stream ID).
    assert.equal(u.srtHost, 'example.com');
    assert.equal(u.srtPort, '10080');
  });

  it('gives FFmpeg the MPEG-TS muxer with SRS Stack arguments, ffplay quoted per shell', () => {
    const u = streamingUrls(base);
    assert.equal(
      u.srtFfmpegCommand,
      "ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 -c:v libx264 -preset veryfast -tune zerolatency -g 60 -c:a aac -pes_payload_size 0 -f mpegts 'srt://example.com:10080?streamid=#!::r=live/livestream?secret=s3cr3t,m=publish'",
    );
    // POSIX shells: single quotes, so bash does not history-expand the "!" of "#!::".
    assert.equal(
      u.ffplayCommand,
      "ffplay -fflags nobuffer -flags low_delay -analyzeduration 1000000 -i 'srt://example.com:10080?streamid=#!::r=live/livestream,latency=20,m=request'",
    );
    assert.equal(
      u.ffplayCommandWindows,
      'ffplay -fflags nobuffer -flags low_delay -analyzeduration 1000000 -i "srt://example.com:10080?streamid=#!::r=live/livestream,latency=20,m=request"',
    );
  });

  it('uses SRT_PORT (shown even when 80 or 443) and falls back to 10080 when it is set empty', () => {
    assert.equal(streamingUrls({ ...base, srtPort: '20080' }).srtPublishUrl.split('?')[0], 'srt://example.com:20080');
    assert.equal(streamingUrls({ ...base, srtPort: '443' }).srtPlayUrl.split('?')[0], 'srt://example.com:443');
    assert.equal(streamingUrls({ ...base, srtPort: '' }).srtPort, '10080');
    assert.equal(streamingUrls({ ...base, srtPort: '20080' }).firewall.srt, 'UDP/20080');
    assert.equal(streamingUrls({ ...base, hostname: '[2001:db8::1]' }).srtPublishUrl.split('?')[0], 'srt://[2001:db8::1]:10080');
  });
});

describe('Streaming page URL rules: WebRTC (WHIP, WHEP)', () => {
  it('signals WHIP and WHEP on the console origin, media on RTC_PORT/udp', () => {
    const u = streamingUrls({ ...base, pagePort: '2022' });
    assert.equal(u.whipUrl, 'http://example.com:2022/rtc/v1/whip/?app=live&stream=livestream&secret=s3cr3t');
    assert.equal(u.whepUrl, 'http://example.com:2022/rtc/v1/whep/?app=live&stream=livestream');
    assert.equal(u.firewall.rtc, 'UDP/8000');
    assert.equal(streamingUrls({ ...base, rtcPort: '18000' }).firewall.rtc, 'UDP/18000');
    assert.equal(streamingUrls({ ...base, rtcPort: '' }).firewall.rtc, 'UDP/8000');
    const https = streamingUrls({ ...base, secure: true, pagePort: '443' });
    assert.equal(https.whipUrl, 'https://example.com/rtc/v1/whip/?app=live&stream=livestream&secret=s3cr3t');
  });

  it('links the publisher and player pages with the stream (and the secret for publishing) as escaped query values', () => {
    const u = streamingUrls({ ...base, stream: 'n#1 &b' });
    const query = (link: string) => Object.fromEntries(new URL(link, 'http://console.test').searchParams);
    assert.ok(u.whipPublisherPage.startsWith(`${WHIP_PUBLISHER_PAGE}?`));
    assert.ok(u.whepPlayerPage.startsWith(`${WHEP_PLAYER_PAGE}?`));
    assert.deepEqual(query(u.whipPublisherPage), { stream: 'n#1 &b', secret: 's3cr3t' });
    assert.deepEqual(query(u.whepPlayerPage), { stream: 'n#1 &b', autostart: 'true' });
  });

  it('points plain-HTTP pages at this page over HTTPS: 443 behind a front on 80, else HTTPS_LISTEN', () => {
    assert.equal(streamingUrls(base).httpsPage, 'https://example.com/mgmt/scenarios?tab=live');
    assert.equal(streamingUrls({ ...base, pagePort: '80' }).httpsPage, 'https://example.com/mgmt/scenarios?tab=live');
    assert.equal(streamingUrls({ ...base, pagePort: '2022' }).httpsPage, 'https://example.com:2443/mgmt/scenarios?tab=live');
    assert.equal(streamingUrls({ ...base, pagePort: '2022', httpsPort: '443' }).httpsPage, 'https://example.com/mgmt/scenarios?tab=live');
    assert.equal(streamingUrls({ ...base, secure: true, pagePort: '2443' }).httpsPage, 'https://example.com:2443/mgmt/scenarios?tab=live');
  });

  it('knows when a browser refuses the camera: plain HTTP except on loopback hosts', () => {
    for (const host of ['localhost', 'LOCALHOST', 'srs.localhost', '127.0.0.1', '127.1.2.3', '[::1]'])
      assert.ok(browserCanCapture(false, host), host);
    for (const host of ['example.com', '10.0.0.1', '192.168.1.2', '[2001:db8::1]', 'localhost.example.com', '127.0.0.1.nip.io'])
      assert.ok(!browserCanCapture(false, host), host);
    assert.ok(browserCanCapture(true, 'example.com'));
  });
});

describe('Streaming page stream names: escaping and the renaming templates', () => {
  it('escapes the stream in HTTP URLs, keeps it raw in rtmp:// and srt://', () => {
    const u = streamingUrls({ ...base, stream: 'a b&c', secret: 'x&y' });
    assert.equal(u.rtmpStreamKey, 'a b&c?secret=x&y');
    assert.equal(u.srtPublishStreamId, '#!::r=live/a b&c?secret=x&y,m=publish');
    assert.equal(u.flvUrl, 'http://example.com/live/a%20b%26c.flv');
    assert.equal(u.m3u8Url, 'http://example.com/live/a%20b%26c.m3u8');
    assert.equal(u.llHlsUrl, 'http://example.com/live/a%20b%26c/ll.m3u8');
    assert.equal(u.whipUrl, 'http://example.com/rtc/v1/whip/?app=live&stream=a%20b%26c&secret=x%26y');
    assert.equal(new URL(u.whipUrl).searchParams.get('stream'), 'a b&c');
    assert.equal(new URL(u.whepUrl).searchParams.get('stream'), 'a b&c');
    assert.equal(new URL(u.whepPlayerPage, 'http://console.test').searchParams.get('stream'), 'a b&c');
  });

  it('keeps the placeholder in every URL that names the stream', () => {
    const t = streamingUrls({ ...base, stream: STREAM_TOKEN });
    const named = stringsOf(t).filter(([key]) => !['rtmpServer', 'srtHost', 'srtPort', 'httpsPage'].includes(key));
    assert.equal(named.length, 20, named.map(([k]) => k).join());
    for (const [key, value] of named) assert.notEqual(fillStream(value, 'abcdef'), value, key);
  });

  it('fills a template into exactly the URLs built for the name (any name, each escaping level)', () => {
    const t = streamingUrls({ ...base, stream: STREAM_TOKEN });
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 12 }), (name) => {
        // The placeholder itself cannot occur in a real name (checkStreamName allows [A-Za-z0-9_-]).
        fc.pre(!name.includes('{') && !name.includes('%'));
        const real = streamingUrls({ ...base, stream: name });
        for (const [key, value] of stringsOf(t)) assert.equal(fillStream(value, name), real[key as keyof StreamingUrls], key);
      }),
    );
  });

  it('the page script applies the same filling rule', async () => {
    // views/public/streaming.js runs in browsers; its fill() is lifted out and compared.
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(new URL('../../../views/public/streaming.js', import.meta.url), 'utf8');
    const body = /function fill\(template, name\) \{([\s\S]*?)\n {2}\}/.exec(source)?.[1];
    assert.ok(body, 'fill() is in streaming.js');
    const fill = new Function('TOKEN', 'template', 'name', body) as (token: string, template: string, name: string) => string;
    const t = streamingUrls({ ...base, stream: STREAM_TOKEN });
    for (const name of ['abcdef', 'a b&c', 'x/y?z']) {
      for (const [key, value] of stringsOf(t)) assert.equal(fill(STREAM_TOKEN, value, name), fillStream(value, name), `${key} ${name}`);
    }
  });
});

describe('Streaming page template: availability and the HTTPS hint', () => {
  async function render(available: { srt: boolean; webrtc: boolean }, canCapture: boolean): Promise<string> {
    const ejs = (await import('ejs')).default;
    const views = new URL('../../../views/', import.meta.url).pathname;
    const t = (key: string, vars?: Record<string, unknown>) => (vars ? `${key}(${Object.values(vars).join(' ')})` : key);
    return ejs.renderFile(
      `${views}streaming/live.ejs`,
      {
        defaultStream: 'livestream',
        urls: streamingUrls(base),
        templates: streamingUrls({ ...base, stream: STREAM_TOKEN }),
        srtLatency: 20,
        available,
        canCapture,
        t,
      },
      { root: views, async: false },
    );
  }

  it('shows the SRT and WebRTC URLs while the features run, a notice instead when they do not', async () => {
    const both = await render({ srt: true, webrtc: true }, true);
    for (const id of ['srt-server', 'srt-streamid', 'srt-play-url', 'srt-ffmpeg-command', 'whip-url', 'whip-obs-server', 'whep-url'])
      assert.ok(both.includes(`id="${id}"`), id);
    assert.ok(!both.includes('streaming.srt.unavailable') && !both.includes('streaming.rtc.unavailable'));
    assert.ok(!both.includes('id="https-hint"'));

    const none = await render({ srt: false, webrtc: false }, true);
    for (const id of ['srt-server', 'srt-play-url', 'whip-url', 'whep-url']) assert.ok(!none.includes(`id="${id}"`), id);
    assert.ok(none.includes('streaming.srt.unavailable(UDP/10080)'));
    assert.ok(none.includes('streaming.rtc.unavailable(UDP/8000)'));
    assert.ok(none.includes('id="rtmp-server"'), 'RTMP stays');

    const srtOnly = await render({ srt: true, webrtc: false }, true);
    assert.ok(srtOnly.includes('id="srt-server"') && !srtOnly.includes('id="whip-url"'));
  });

  it('shows the HTTPS hint only where the browser would refuse the camera', async () => {
    const html = await render({ srt: true, webrtc: true }, false);
    assert.ok(html.includes('id="https-hint"'));
    assert.ok(html.includes('href="https://example.com/mgmt/scenarios?tab=live"'));
  });
});

describe('streaming URLs: a live room page’s list', () => {
  const urls = streamingUrls({ ...base, stream: 'room1', secret: 'ROOMKEY' });
  it('lists the Streaming page’s publish and play URLs of the stream; FLV, HLS and LL-HLS play in the page', () => {
    const rows = urlRows(urls, { srt: true, webrtc: true });
    assert.deepEqual(
      rows.publish.map((r) => r.value),
      [urls.rtmpServer, 'room1?secret=ROOMKEY', urls.rtmpPublishUrl, urls.srtPublishUrl, urls.whipUrl],
    );
    assert.deepEqual(
      rows.play.map((r) => [r.value, r.play ?? false]),
      [
        ['http://example.com/live/room1.flv', true],
        ['http://example.com/live/room1.m3u8', true],
        ['http://example.com/live/room1/ll.m3u8', true],
        [urls.srtPlayUrl, false],
        [urls.whepUrl, false],
      ],
    );
    const ids = [...rows.publish, ...rows.play].map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'ids are unique on the page');
  });
  it('leaves out SRT and WebRTC when their ingest does not run', () => {
    const rows = urlRows(urls, { srt: false, webrtc: false });
    assert.ok(![...rows.publish, ...rows.play].some((r) => /^srt:|\/rtc\//.test(r.value)));
  });
});
