import assert from 'node:assert/strict';
import type { StreamInfo } from '../../server/core/events.js';
import { pickStream, publishPath } from '../../server/features/restream/input-selection.js';
import { codecSummary, shownState, slotForms, slotTitle, sourceSummary, statusView } from '../../server/features/restream/routes.js';
import { NO_SOURCE_MESSAGE, plainProblem } from '../../server/features/restream/plain-errors.js';
import { checkPlatform, outputUrl, readSlotBase, slotSecrets, slotState } from '../../server/features/restream/slots.js';
import {
  checkStreamUrl,
  readSourceRequests,
  stackStreamOf,
  streamUrlSource,
  type SourceFile,
} from '../../server/features/restream/sources.js';
import { FORWARD } from '../../server/features/restream/forward/service.js';
import { checkPageUrl, downloadName, ytdlArgs } from '../../server/features/restream/vlive/downloader.js';
import { outputStreamHere, readTranscodeConfig } from '../../server/features/restream/transcode/service.js';

const stream = (app: string, name: string, update: string): StreamInfo => ({
  vhost: '__defaultVhost__',
  app,
  stream: name,
  param: '',
  update,
});

describe('input stream selection', () => {
  const streams = [
    stream('live', 'a', '2024-11-16T08:00:00Z'),
    stream('live', 'b', '2024-11-16T08:05:00Z'),
    stream('live', 'b-trans', '2024-11-16T08:06:00Z'),
    stream('other', 'a', '2024-11-16T08:01:00Z'),
  ];

  it('picks the most recently published stream', () => {
    assert.equal(pickStream(streams)?.stream, 'b-trans');
  });

  it('picks by name in any app, the latest of them', () => {
    const s = pickStream(streams, { name: 'a' });
    assert.deepEqual([s?.app, s?.stream], ['other', 'a']);
    assert.equal(pickStream(streams, { name: 'missing' }), null);
  });

  it('never picks the task’s own output (a transcode feeding on itself)', () => {
    assert.equal(pickStream(streams, { ownOutput: 'rtmp://localhost/live/b-trans?secret=x' })?.stream, 'b');
    assert.equal(publishPath('rtmp://h:1935/live/b-trans?secret=x'), '/live/b-trans');
    assert.equal(publishPath('srt://h:10080?streamid=x'), '');
  });
});

describe('slots', () => {
  it('accepts the named platforms and custom ids with the feature’s marker only', () => {
    assert.equal(checkPlatform('wx', FORWARD), 'wx');
    assert.equal(checkPlatform('forwarding-4-a1b2c3', FORWARD), 'forwarding-4-a1b2c3');
    assert.throws(() => checkPlatform('vlive-1-abc', FORWARD), /invalid platform=vlive-1-abc/);
    assert.throws(() => checkPlatform('forwarding-../x', FORWARD), /letters, digits/);
  });

  it('splits a full URL given as server with an empty key, and refuses non-RTMP/SRT servers', () => {
    assert.deepEqual(readSlotBase({ platform: 'wx', server: 'rtmp://ip/app/stream', enabled: true }, FORWARD), {
      platform: 'wx',
      server: 'rtmp://ip/app',
      secret: 'stream',
      enabled: true,
      custom: false,
      label: '',
    });
    const srt = readSlotBase({ platform: 'wx', server: 'srt://ip:10080?streamid=#!::r=live/s,m=publish' }, FORWARD);
    assert.equal(srt.secret, '', 'an SRT URL is never split');
    assert.throws(() => readSlotBase({ platform: 'wx', server: 'http://ip/app' }, FORWARD), /rtmp:\/\/, rtmps:\/\/ or srt:\/\//);
    assert.throws(() => readSlotBase({ platform: 'wx' }, FORWARD), /no server/);
    assert.throws(
      () => readSlotBase({ platform: 'wx', server: 'rtmp://ip/app', enabled: 'yes' }, FORWARD),
      /enabled must be true or false/,
    );
  });

  it('sends rtmp://localhost without a port to the engine’s actual RTMP port', () => {
    assert.equal(outputUrl({ server: 'rtmp://localhost/live', secret: 's?secret=x' }, 2935), 'rtmp://127.0.0.1:2935/live/s?secret=x');
    assert.equal(outputUrl({ server: 'rtmp://localhost:1935/live', secret: 's' }, 2935), 'rtmp://localhost:1935/live/s');
    assert.equal(outputUrl({ server: 'rtmp://a.example/live2', secret: 'k' }, 2935), 'rtmp://a.example/live2/k');
  });

  it('masks the key, its parts and URL passwords', () => {
    assert.deepEqual(slotSecrets({ server: 'rtmp://u:hunter22@h/live', secret: 'stream1?secret=abcdef' }).sort(), [
      'abcdef',
      'hunter22',
      'stream1',
      'stream1?secret=abcdef',
    ]);
  });

  it('reports Inactive, Waiting, Starting, Streaming and Retrying', () => {
    const live = (status: string) => ({ status }) as never;
    assert.equal(slotState(false, live('ready')), 'inactive');
    assert.equal(slotState(true, null), 'waiting');
    assert.equal(slotState(true, live('starting')), 'starting');
    assert.equal(slotState(true, live('ready')), 'streaming');
    assert.equal(slotState(true, live('backoff')), 'retrying');
  });

  it('offers the named slots, the configured ones and one new custom slot while under the limit', () => {
    const base = { server: 'rtmp://h/live', secret: 'k', enabled: true, custom: true, label: 'Mine' };
    const configured = [{ ...base, platform: 'forwarding-1-aaaaaa' }];
    const forms = slotForms(configured, FORWARD, 10);
    assert.deepEqual(
      forms.map((f) => f.platform.replace(/-[0-9a-f]{6}$/, '-X')),
      ['wx', 'bilibili', 'kuaishou', 'forwarding-1-X', 'forwarding-2-X'],
    );
    assert.equal(slotForms(configured, FORWARD, 1).length, 4, 'no new slot at the limit');
  });
});

describe('virtual-live and camera sources', () => {
  it('accepts rtmp, srt, rtsp and http(s) FLV/HLS/TS stream URLs only', () => {
    for (const ok of [
      'rtmp://h/live/s',
      'srt://h:10080?streamid=x',
      'rtsp://cam/1',
      'http://h/live/s.flv',
      'https://h/hls/s.m3u8?t=1',
      'http://h/a.ts',
    ]) {
      assert.doesNotThrow(() => checkStreamUrl(ok), ok);
    }
    assert.throws(() => checkStreamUrl('file:///etc/passwd'), /invalid url scheme/);
    assert.throws(() => checkStreamUrl('http://h/page.html'), /invalid url path suffix/);
    assert.throws(() => checkStreamUrl('http://h/'), /empty/);
    assert.deepEqual(Object.keys(streamUrlSource('http://h/live/s.flv')), ['name', 'uuid', 'target']);
    assert.equal(streamUrlSource('http://h/live/s.flv').name, 's.flv');
  });

  it('reads file lists, refusing missing targets and unknown types', () => {
    assert.throws(() => readSourceRequests([]), /no files/);
    assert.throws(() => readSourceRequests([{ type: 'upload' }]), /no target/);
    assert.throws(() => readSourceRequests([{ target: 'x', type: 'ftp' }]), /invalid files\[0\]\.type ftp/);
    const [f] = readSourceRequests([{ target: 'upload/x.mp4', type: 'upload', uuid: '../../etc' }]);
    assert.match(f?.uuid ?? '', /^[0-9a-f-]{36}$/, 'a uuid that is not one is replaced');
  });

  it('tells a stream of this stack from another server by host and port', () => {
    const ports = [19350, 1935];
    assert.deepEqual(stackStreamOf('rtmp://localhost:1935/live/livestream?secret=abc', ports), { app: 'live', stream: 'livestream' });
    assert.deepEqual(stackStreamOf('rtmp://127.0.0.1:19350/live/s', ports), { app: 'live', stream: 's' });
    assert.deepEqual(stackStreamOf('rtmp://LOCALHOST/live/s', ports), { app: 'live', stream: 's' }, '1935 when no port');
    assert.deepEqual(stackStreamOf('rtmp://[::1]:1935/live/s', ports), { app: 'live', stream: 's' });
    assert.equal(stackStreamOf('rtmp://localhost/live/s', [19350]), null, 'another server on 1935');
    assert.equal(stackStreamOf('rtmp://10.0.0.2:1935/live/s', ports), null);
    assert.equal(stackStreamOf('rtmp://localhost.example.com:1935/live/s', ports), null);
    assert.equal(stackStreamOf('srt://127.0.0.1:1935?streamid=#!::r=live/s', ports), null);
    assert.equal(stackStreamOf('rtmp://localhost:1935/live', ports), null);
  });

  it('takes a source without type as a file (SRS Stack), or as a stream when its target is a URL', () => {
    const uuid = '6c1d0000-0000-4000-8000-000000000000';
    const [upload] = readSourceRequests([{ name: 'm.flv', size: 1, target: `upload/${uuid}.flv`, uuid }]);
    assert.deepEqual([upload?.type, upload?.target, upload?.uuid], ['upload', `upload/${uuid}.flv`, uuid]);
    assert.equal(readSourceRequests([{ target: 'upload/x.mp4', type: '' }])[0]?.type, 'upload');
    assert.equal(readSourceRequests([{ target: 'rtsp://cam/1' }])[0]?.type, 'stream');
  });

  it('summarises a source like SRS Stack’s console', () => {
    const file = {
      name: 'm.mp4',
      path: 'm.mp4',
      size: 10 * 1024 * 1024,
      uuid: 'u',
      target: 'vlive/u.mp4',
      type: 'upload',
      format: { duration: '120.03', bit_rate: '698000', has_video: true, has_audio: true },
      video: { codec_type: 'video', codec_name: 'h264', profile: 'High', width: 1280, height: 720 },
      audio: { codec_type: 'audio', codec_name: 'aac', sample_rate: '44100', channels: 2 },
    } as SourceFile;
    assert.equal(sourceSummary(file), 'File 10MB 120s 698Kbps');
    assert.equal(codecSummary(file), 'Video(h264 High 1280x720) Audio(aac 44100HZ 2CH)');
    assert.equal(sourceSummary({ ...file, type: 'stream' }), 'Stream 698Kbps');
  });
});

describe('transcode settings', () => {
  it('fills SRS Stack’s defaults and validates ranges and choices', () => {
    assert.deepEqual(readTranscodeConfig({ all: true, server: 'rtmp://localhost/live/', secret: 's-trans' }), {
      all: true,
      vcodec: 'libx264',
      acodec: 'aac',
      vprofile: 'baseline',
      vpreset: 'faster',
      vbitrate: 1200,
      abitrate: 64,
      achannels: 0,
      server: 'rtmp://localhost/live/',
      secret: 's-trans',
      stream: '',
    });
    assert.throws(() => readTranscodeConfig({ all: true }), /no server/);
    assert.throws(() => readTranscodeConfig({ vbitrate: 50 }), /vbitrate must be between 100 and 100000/);
    assert.throws(() => readTranscodeConfig({ vcodec: 'libx265' }), /vcodec must be one of libx264/);
    assert.throws(() => readTranscodeConfig({ vpreset: 'placebo' }), /vpreset must be one of/);
    assert.throws(() => readTranscodeConfig({ achannels: 6 }), /achannels must be between 0 and 2/);
    assert.equal(readTranscodeConfig({ achannels: '1' }).achannels, 1, 'form posts send strings');
  });

  it('takes an explicit source stream (absent: SRS Stack’s most recently published) and refuses a bad name', () => {
    assert.equal(readTranscodeConfig({ stream: ' cam1 ' }).stream, 'cam1');
    assert.equal(readTranscodeConfig({}).stream, '');
    assert.throws(() => readTranscodeConfig({ stream: 'a/b' }), /source stream/);
  });

  it('knows the stream it publishes back into this stack, and none when it publishes elsewhere', () => {
    const secret = 'livestream-trans?secret=abc';
    assert.equal(outputStreamHere({ server: 'rtmp://localhost/live/', secret }, []), 'livestream-trans');
    assert.equal(outputStreamHere({ server: 'rtmp://127.0.0.1:1935/live', secret: 'x-trans' }, []), 'x-trans');
    assert.equal(outputStreamHere({ server: 'rtmp://media.example.com/live/', secret }, ['media.example.com']), 'livestream-trans');
    assert.equal(outputStreamHere({ server: 'rtmp://a.rtmp.youtube.com/live2', secret: 'key' }, ['media.example.com']), '');
    assert.equal(outputStreamHere({ server: 'rtmp://localhost/other/', secret }, []), '', 'only the live app is played');
    assert.equal(outputStreamHere({ server: 'srt://localhost:10080', secret: '' }, []), '');
  });
});

describe('status table rows', () => {
  it('shows bitrate and the judged speed together, and nothing for a task without progress', () => {
    const row = (task: Record<string, unknown> | null) => statusView({ platform: 'wx', state: 'streaming', task });
    const task = { source: 'live/a', output: 'rtmp://h/live/******', restarts: 0, pid: 7, lastError: null, tail: [] };
    assert.equal(row({ ...task, bitrateKbps: 2412.6, speed: 1.004 }).bitrate, '2413 Kbps · 1.00x');
    assert.equal(row({ ...task, bitrateKbps: null, speed: 3.1 }).bitrate, '3.10x');
    assert.equal(row({ ...task, bitrateKbps: null, speed: null }).bitrate, '');
    assert.equal(row(null).bitrate, '');
  });
});

describe('virtual live from a web page', () => {
  it('runs the downloader on one video, H.264 first, size-limited, the URL after --', () => {
    assert.deepEqual(ytdlArgs('https://v.example/watch?v=1', '/data/upload/u.%(ext)s', '', 1024), [
      ...['--no-playlist', '--newline', '--no-mtime', '-f', 'best[vcodec^=avc1]/best', '--max-filesize', '1024'],
      ...['--output', '/data/upload/u.%(ext)s', '--', 'https://v.example/watch?v=1'],
    ]);
    assert.deepEqual(ytdlArgs('https://v/1', 'o', 'socks5://127.0.0.1:1080', 1).slice(-4), [
      '--proxy',
      'socks5://127.0.0.1:1080',
      '--',
      'https://v/1',
    ]);
  });

  it('takes only http(s) web pages', () => {
    assert.equal(checkPageUrl(' https://www.youtube.com/watch?v=abc '), 'https://www.youtube.com/watch?v=abc');
    for (const bad of ['file:///etc/passwd', '--exec=rm http://h/', 'http://', 'http://h/a b', 'ftp://h/x', 'http://[bad/x']) {
      assert.throws(() => checkPageUrl(bad), /a web page starting with http/, bad);
    }
  });

  it('names a download after the page, with the extension of the file', () => {
    assert.equal(downloadName('https://h/videos/My%20Show.mp4?x=1', '.mp4'), 'My Show.mp4');
    assert.equal(downloadName('https://www.youtube.com/watch?v=abc', '.mp4'), 'watch.mp4');
    assert.equal(downloadName('https://h/', '.mkv'), 'video.mkv');
    assert.equal(downloadName('https://h/a%zz', '.mp4'), 'a%zz.mp4', 'malformed escapes are kept');
  });
});

describe('failures in plain words', () => {
  const key = (...texts: string[]) => plainProblem(...texts)?.key.replace('restream.problem.', '');

  it('a publish this stack refused (wrong or missing secret) is a refused key, not "Input/output error"', () => {
    // ffmpeg's own words when nginx-rtmp refuses the publish, secret masked as the task shows it.
    const lastError = 'exited with code 1: rtmp://127.0.0.1:41001/live/x?secret=******: Input/output error';
    assert.equal(key(lastError), 'refused');
    assert.equal(key('[rtmp @ 0x1] Server error: NetStream.Publish.BadName'), 'refused');
  });

  it('names the address nothing answers at, and the host that does not exist, never the password', () => {
    const refused = plainProblem(
      'exited with code 1: rtmp://127.0.0.1:1/live/x: Connection refused',
      '[tcp @ 0x5594a81773c0] Connection to tcp://127.0.0.1:1?tcp_nodelay=0 failed: Connection refused',
    );
    assert.deepEqual(refused, { key: 'restream.problem.noAnswer', params: { address: '127.0.0.1:1' } });
    const camera = plainProblem('camera rtsp://admin:******@10.0.0.5:554/stream1: ffprobe: Connection refused');
    assert.deepEqual(camera?.params, { address: '10.0.0.5:554' });
    // The last line is only the consequence; the cause is two lines up.
    const dns = plainProblem(
      '[tcp @ 0x1] Failed to resolve hostname nonexistent.invalid: Name or service not known\n' +
        '[rtmp @ 0x2] Cannot open connection tcp://nonexistent.invalid:1935?tcp_nodelay=0\n' +
        'rtmp://nonexistent.invalid/live/x: Input/output error',
    );
    assert.deepEqual(dns, { key: 'restream.problem.unknownHost', params: { host: 'nonexistent.invalid' } });
  });

  it('knows our own refusal of a slot without a source, camera credentials, missing streams and files', () => {
    assert.equal(key(NO_SOURCE_MESSAGE), 'noSource');
    assert.equal(key('rtsp://10.0.0.5/s1: Server returned 401 Unauthorized (authorization failed)'), 'unauthorized');
    assert.equal(key('http://h/live/s.flv: Server returned 404 Not Found'), 'notFound');
    assert.equal(key('/data/upload/a.mp4: No such file or directory'), 'missingFile');
    assert.equal(key('Connection to tcp://10.0.0.9:554 failed: Connection timed out'), 'timeout');
    assert.equal(key('something else entirely'), undefined);
    assert.equal(plainProblem(null, undefined, ''), null);
  });

  it('a slot that restarted and is connecting again is retrying, shown with its failure', () => {
    assert.equal(shownState('starting', 0), 'starting');
    assert.equal(shownState('starting', 33), 'retrying');
    const row = statusView({
      platform: 'wx',
      state: 'starting',
      task: {
        source: 'live/a',
        output: 'rtmp://h/live/******',
        restarts: 33,
        pid: 7,
        lastError: 'exited with code 1: rtmp://h/live/******: Input/output error',
        tail: [],
      },
    });
    assert.equal(row.state, 'retrying');
    assert.equal(row.badge, 'error');
    assert.equal(row.problem?.key, 'restream.problem.refused');
    assert.equal(
      statusView({ platform: 'wx', state: 'streaming', task: { ...row, lastError: 'old: Input/output error', tail: [] } }).problem,
      null,
      'a streaming slot’s old error is history',
    );
  });

  it('names slots by platform, numbers custom ones, and never shows an internal id', () => {
    assert.deepEqual(slotTitle('wx', []), {
      titleKey: 'restream.platform.wx',
      titleVars: {},
      serverKey: 'restream.platform.wx.server',
      guideKey: 'restream.platform.wx.guide',
    });
    const customs = ['wx', 'forwarding-1-aaaaaa', 'forwarding-2-bbbbbb'];
    assert.deepEqual(slotTitle('forwarding-2-bbbbbb', customs).titleVars, { n: 2 });
    assert.deepEqual(slotTitle('forwarding-3-cccccc', customs).titleVars, { n: 3 }, 'the new slot comes next');
    assert.equal(slotTitle('forwarding-1-aaaaaa', customs).guideKey, '');
  });
});
