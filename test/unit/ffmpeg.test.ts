import assert from 'node:assert/strict';
import {
  cameraArgs,
  ffprobeArgs,
  forwardArgs,
  forwardFeedArgs,
  liveInputArgs,
  heartbeatUrlOptions,
  joinOutputUrl,
  maskStreamUrl,
  outputFormatArgs,
  rebuildStreamUrl,
  splitStreamUrl,
  transcodeArgs,
  vliveFileArgs,
  vliveStreamArgs,
  withUrlParam,
} from '../../server/core/ffmpeg/argv.js';
import { checkBitrate, checkCarriage, checkCodecs, flvCarriesHevc, parseProbeJson } from '../../server/core/ffmpeg/probe.js';
import { SpeedWatchdog, ffmpegErrorLine, parseGoDuration, parseProgress, progressMarker } from '../../server/core/ffmpeg/progress.js';

const line = (time: string, speed: string) =>
  `frame=  250 fps= 25 q=-1.0 size=    1024kB time=${time} bitrate= 838.9kbits/s speed=${speed}`;

describe('ffmpeg progress lines (docs/compatibility.md §15.8)', () => {
  it('collapses padded values and reads time, speed and bitrate', () => {
    const p = parseProgress(line('00:00:10.00', '   1x'));
    assert.deepEqual(p, {
      line: 'frame=250 fps=25 q=-1.0 size=1024kB time=00:00:10.00 bitrate=838.9kbits/s speed=1x',
      time: '00:00:10.00',
      seconds: 10,
      speed: 1,
      bitrateKbps: 838.9,
      sizeBytes: 1024 * 1024,
    });
  });

  it('reads audio-only lines and fractional speeds', () => {
    const p = parseProgress('size=      50kB time=00:01:03.18 bitrate= 128.6kbits/s speed=1.01x');
    assert.equal(p?.seconds, 63.18);
    assert.equal(p?.speed, 1.01);
  });

  it('takes the first stats line, written with the first packet, as progress without a speed', () => {
    const p = parseProgress('frame=    1 fps=0.0 q=26.0 size=       9kB time=00:00:00.81 bitrate=  93.1kbits/s speed=N/A    ');
    assert.deepEqual([p?.time, p?.speed], ['00:00:00.81', null]);
  });

  it('ignores lines that are not progress: N/A, no size, zero or negative time', () => {
    assert.equal(parseProgress('Stream mapping:'), null);
    assert.equal(parseProgress('frame=1 size=N/A time=N/A bitrate=N/A speed=N/A'), null);
    assert.equal(parseProgress('frame=0 fps=0.0 q=0.0 size=0kB time=00:00:00.00 bitrate=N/A speed=0x'), null);
    assert.equal(parseProgress('frame=1 size=1kB time=-00:00:00.02 bitrate=1kbits/s speed=1x'), null);
    assert.equal(parseProgress('time=00:00:01.00 speed=1x'), null, 'no size=');
  });

  it('treats a speed of 0x as unknown, not abnormal', () => {
    assert.equal(parseProgress(line('00:00:01.00', '0x'))?.speed, null);
  });

  it('uses the time as the stall marker', () => {
    assert.equal(progressMarker(line('00:00:02.50', '1x')), '00:00:02.50');
    assert.equal(progressMarker('[flv @ 0x1] Failed to update header'), null);
  });
});

describe('abnormal-speed watchdog', () => {
  /** Feeds progress lines 0.5 s apart (ffmpeg's stats period) whose media time advances `speed` x. */
  function feed(w: SpeedWatchdog, lines: number, speed: number, from = { wallMs: 0, media: 1 }): Array<string | null> {
    const reasons: Array<string | null> = [];
    for (let i = 0; i < lines; i++) {
      from.wallMs += 500;
      from.media += 0.5 * speed;
      reasons.push(w.check(line(clock(from.media), '1x'), from.wallMs));
    }
    return reasons;
  }
  const clock = (s: number) => `00:${String(Math.floor(s / 60)).padStart(2, '0')}:${(s % 60).toFixed(2).padStart(5, '0')}`;

  it('judges nothing before half a window, then restarts after more than 30 lines faster than 1.5x', () => {
    const w = new SpeedWatchdog();
    const reasons = feed(w, 10 + 31, 2.5);
    assert.equal(w.recent, 2.5);
    assert.equal(reasons.filter(Boolean).length, 1);
    assert.match(reasons.at(-1) ?? '', /abnormal speed 2.5x above 1.5x for 31 progress lines/);
  });

  it('restarts after more than 30 lines slower than 0.5x', () => {
    const w = new SpeedWatchdog();
    const reasons = feed(w, 10 + 31, 0.2);
    assert.match(reasons.at(-1) ?? '', /abnormal speed 0.2x below 0.5x for 31/);
  });

  it("catches a relay that falls to 0.3x after an hour at 1x, which ffmpeg's average speed never shows", () => {
    const w = new SpeedWatchdog();
    const at = { wallMs: 0, media: 1 };
    assert.deepEqual(feed(w, 7200, 1, at).filter(Boolean), [], 'an hour at 1x');
    // ffmpeg would print speed=0.99x for hours; the window sees 0.3x within 10 s, then 31 lines.
    const reasons = feed(w, 20 + 31, 0.3, at);
    assert.equal(w.recent, 0.3);
    assert.match(reasons.find(Boolean) ?? '', /below 0.5x/);
  });

  it('a normal line resets the count, and a repeated time does not count', () => {
    const w = new SpeedWatchdog(1.5, 0.5, 30, 1000);
    const at = { wallMs: 0, media: 1 };
    feed(w, 1, 3, at);
    assert.deepEqual(feed(w, 29, 3, at).filter(Boolean), [], '29 fast lines judged');
    // A window of 1 s: the first 1x line still averages 2x (the 30th fast one), the second is normal.
    assert.deepEqual(feed(w, 2, 1, at).filter(Boolean), []);
    for (let i = 0; i < 40; i++) assert.equal(w.check(line(clock(at.media), '3x'), (at.wallMs += 1)), null, 'same time is not progress');
    assert.deepEqual(feed(w, 2, 3, at).filter(Boolean), [], 'counting starts again');
  });

  it('a timestamp jump alone cannot trip it: it leaves the 10 s window before 31 lines', () => {
    const w = new SpeedWatchdog();
    const at = { wallMs: 0, media: 1 };
    feed(w, 40, 1, at);
    at.media += 3600; // the source restarted its clock an hour ahead
    assert.deepEqual(feed(w, 60, 1, at).filter(Boolean), []);
    at.media -= 3000; // and back
    assert.deepEqual(feed(w, 60, 1, at).filter(Boolean), []);
  });

  it('honours a custom fast threshold (abnormal-fast-speed)', () => {
    assert.deepEqual(feed(new SpeedWatchdog(4), 80, 3).filter(Boolean), []);
  });
});

describe('ffmpeg failure summary', () => {
  it('picks the last error-looking line, skipping progress and "Conversion failed!"', () => {
    const tail = [
      'Input #0, flv, from rtmp://127.0.0.1:1935/live/livestream:',
      '[tcp @ 0x55] Connection to tcp://10.0.0.1:1935?tcp_nodelay=0 failed: Connection refused',
      'rtmp://10.0.0.1/live/******: Connection refused',
      'Conversion failed!',
    ];
    assert.equal(ffmpegErrorLine(tail), 'rtmp://10.0.0.1/live/******: Connection refused');
    assert.equal(ffmpegErrorLine(['just a line']), 'just a line');
  });

  it('prefers the line naming the cause over the generic ones ffmpeg prints after it', () => {
    const tail = [
      '[flv @ 0x55] Video codec hevc not compatible with flv',
      'Could not write header for output file #0 (incorrect codec parameters ?): Function not implemented',
      'Error initializing output stream 0:1 --',
    ];
    assert.equal(ffmpegErrorLine(tail), '[flv @ 0x55] Video codec hevc not compatible with flv');
    assert.equal(
      ffmpegErrorLine(['Input #0, flv', 'Error while decoding stream #0:0: Invalid data found']),
      'Error while decoding stream #0:0: Invalid data found',
    );
  });
});

describe('Go durations (max-stream-duration)', () => {
  it('parses what SRS Stack users write and refuses the rest', () => {
    assert.equal(parseGoDuration('90s'), 90_000);
    assert.equal(parseGoDuration('1h30m'), 5_400_000);
    assert.equal(parseGoDuration('500ms'), 500);
    assert.equal(parseGoDuration('1.5h'), 5_400_000);
    assert.equal(parseGoDuration('10'), null);
    assert.equal(parseGoDuration('1d'), null);
    assert.equal(parseGoDuration(''), null);
  });
});

describe('output URLs (server + stream key)', () => {
  it('joins server and key with exactly one slash, as SRS Stack does', () => {
    assert.equal(joinOutputUrl('rtmp://a.example/live2', 'key'), 'rtmp://a.example/live2/key');
    assert.equal(joinOutputUrl('rtmp://a.example/live2/', 'key'), 'rtmp://a.example/live2/key');
    assert.equal(joinOutputUrl('rtmp://a.example/live2', '/key'), 'rtmp://a.example/live2/key');
    assert.equal(joinOutputUrl('rtmp://a.example/live2/key', ''), 'rtmp://a.example/live2/key');
  });

  it('splits a single URL at the last slash (FAQ "How SRS Restreams to Custom Platforms")', () => {
    assert.deepEqual(splitStreamUrl('rtmp://ip/app/stream'), { server: 'rtmp://ip/app', secret: 'stream' });
    assert.deepEqual(splitStreamUrl('rtmp://ip:1935/app/sub/stream?auth=a/b'), {
      server: 'rtmp://ip:1935/app/sub',
      secret: 'stream?auth=a/b',
    });
    assert.deepEqual(splitStreamUrl('rtmp://ip/app'), { server: 'rtmp://ip/app', secret: '' }, 'an app alone has no key');
  });

  it('masks the stream key, query values and URL passwords for display', () => {
    assert.equal(maskStreamUrl('rtmp://a.example/live2/abcd-efgh'), 'rtmp://a.example/live2/******');
    assert.equal(maskStreamUrl('rtmp://127.0.0.1:1935/live/x?secret=abc'), 'rtmp://127.0.0.1:1935/live/******?secret=******');
    assert.equal(maskStreamUrl('rtsp://admin:pw@10.0.0.2/stream1'), 'rtsp://admin:******@10.0.0.2/stream1');
    assert.equal(maskStreamUrl('rtmp://a.example/live'), 'rtmp://a.example/live');
  });
});

describe('ffmpeg argv builders', () => {
  const input = 'http://127.0.0.1:2022/live/livestream.flv?consumer=t';

  it('forward copies the codecs, FLV for RTMP and RTMPS, MPEG-TS with unsplit PES for SRT', () => {
    // SRS Stack's `-i … -c copy` on the live tap, without its -re (the GOP burst would keep the
    // task a GOP behind live) and with `-fpsprobesize 0`: no frame-rate guess before the first frame.
    assert.deepEqual(forwardArgs(input, 'rtmp://a/live/k'), [
      '-fpsprobesize',
      '0',
      '-i',
      input,
      '-c',
      'copy',
      '-f',
      'flv',
      'rtmp://a/live/k',
    ]);
    assert.deepEqual(liveInputArgs('rtmp://127.0.0.1:1935/live/a'), ['-fpsprobesize', '0']);
    assert.deepEqual(liveInputArgs('rtsp://cam/1'), []);
    assert.deepEqual(liveInputArgs('/data/a.mp4'), []);
    assert.deepEqual(forwardArgs(input, 'rtmps://a:443/live/k').slice(-3), ['-f', 'flv', 'rtmps://a:443/live/k']);
    const srt = 'srt://a:10080?streamid=#!::r=live/k,m=publish';
    assert.deepEqual(forwardArgs(input, srt).slice(-5), ['-pes_payload_size', '0', '-f', 'mpegts', srt]);
    assert.deepEqual(outputFormatArgs('udp://a:1234'), []);
    // With a slate the stack writes FLV into ffmpeg's stdin.
    assert.deepEqual(forwardFeedArgs('rtmp://a/live/k'), [
      '-f',
      'flv',
      '-fpsprobesize',
      '0',
      '-i',
      'pipe:0',
      '-c',
      'copy',
      '-f',
      'flv',
      'rtmp://a/live/k',
    ]);
  });

  it('virtual live loops a file forever in real time, and relays a URL without -re', () => {
    assert.deepEqual(vliveFileArgs('/data/vlive/a.mp4', 'rtmp://a/live/k'), [
      '-stream_loop',
      '-1',
      '-re',
      '-i',
      '/data/vlive/a.mp4',
      '-c',
      'copy',
      '-f',
      'flv',
      'rtmp://a/live/k',
    ]);
    assert.deepEqual(vliveStreamArgs('rtsp://cam/1', 'rtmp://a/live/k'), [
      '-rtsp_transport',
      'tcp',
      '-i',
      'rtsp://cam/1',
      '-c',
      'copy',
      '-f',
      'flv',
      'rtmp://a/live/k',
    ]);
    assert.ok(!vliveStreamArgs('http://h/live.flv', 'rtmp://a/live/k').includes('-re'));
    // HLS arrives a segment at a time: paced, or the output bursts and progress freezes per segment.
    assert.deepEqual(vliveStreamArgs('https://cdn/live/a.m3u8?token=1', 'rtmp://a/live/k').slice(0, 3), [
      '-re',
      '-i',
      'https://cdn/live/a.m3u8?token=1',
    ]);
    assert.ok(!vliveStreamArgs('rtmp://h/live/a.m3u8', 'rtmp://a/live/k').includes('-re'), 'only HTTP playlists');
  });

  it('camera adds a silent AAC track when asked, copying the video', () => {
    const silent = cameraArgs('rtsp://cam/1', 'rtmp://a/live/k', 'silent');
    assert.deepEqual(silent.slice(0, 7), ['-re', '-fflags', 'nobuffer', '-rtsp_transport', 'tcp', '-i', 'rtsp://cam/1']);
    const joined = silent.join(' ');
    assert.match(joined, /-f lavfi -i anullsrc=channel_layout=stereo:sample_rate=44100 -map 0:v -map 1:a/);
    assert.match(joined, /-c:a aac -ac 2 -ar 44100 -b:a 20k -c:v copy/);
    assert.deepEqual(cameraArgs('rtmp://cam/live/1', 'rtmp://a/live/k', ''), [
      '-fpsprobesize',
      '0',
      '-re',
      '-fflags',
      'nobuffer',
      '-i',
      'rtmp://cam/live/1',
      '-c',
      'copy',
      '-f',
      'flv',
      'rtmp://a/live/k',
    ]);
  });

  it('transcode encodes x264/aac with the chosen settings, -ac only when channels are set', () => {
    const p = {
      vcodec: 'libx264',
      vprofile: 'main',
      vpreset: 'veryfast',
      vbitrate: 800,
      acodec: 'aac',
      abitrate: 48,
      achannels: 1,
    } as const;
    assert.equal(
      transcodeArgs(input, 'rtmp://h/live/x-trans', p).join(' '),
      `-fpsprobesize 0 -i ${input} -vcodec libx264 -profile:v main -preset:v veryfast -tune zerolatency -b:v 800k -r 25 -g 50 -bf 0 -acodec aac -b:a 48k -ac 1 -f flv rtmp://h/live/x-trans`,
    );
    assert.ok(!transcodeArgs(input, 'rtmp://h/live/x', { ...p, achannels: 0 }).includes('-ac'));
  });

  it('probes with SRS Stack arguments, TCP for RTSP', () => {
    assert.deepEqual(ffprobeArgs('/f.mp4').slice(-2), ['-i', '/f.mp4']);
    assert.deepEqual(ffprobeArgs('rtsp://cam/1').slice(-4), ['-rtsp_transport', 'tcp', '-i', 'rtsp://cam/1']);
    assert.ok(ffprobeArgs('/f.mp4').includes('-show_streams'));
  });
});

describe('stream URL options', () => {
  it('reads and strips max-stream-duration and abnormal-fast-speed', () => {
    assert.deepEqual(heartbeatUrlOptions('rtsp://cam/1?channel=2&max-stream-duration=1h&abnormal-fast-speed=2.5'), {
      url: 'rtsp://cam/1?channel=2',
      maxRunMs: 3_600_000,
      abnormalFastSpeed: 2.5,
    });
    assert.deepEqual(heartbeatUrlOptions('rtmp://h/live/s?max-stream-duration=30m'), { url: 'rtmp://h/live/s', maxRunMs: 1_800_000 });
    const srt = 'srt://h:10080?streamid=#!::r=live/s,m=request';
    assert.deepEqual(heartbeatUrlOptions(srt), { url: srt });
  });

  it('sets or removes one query parameter, keeping the rest as written', () => {
    assert.equal(withUrlParam('rtsp://cam/1', 'max-stream-duration', '1h'), 'rtsp://cam/1?max-stream-duration=1h');
    assert.equal(
      withUrlParam('rtsp://cam/1?a=1&max-stream-duration=1h', 'max-stream-duration', '6h'),
      'rtsp://cam/1?a=1&max-stream-duration=6h',
    );
    assert.equal(withUrlParam('rtsp://cam/1?max-stream-duration=1h', 'max-stream-duration', ''), 'rtsp://cam/1');
  });

  it('re-escapes raw passwords in the user info', () => {
    assert.equal(rebuildStreamUrl('rtsp://admin:p@ss#1@192.168.1.2/live'), 'rtsp://admin:p%40ss%231@192.168.1.2/live');
    assert.equal(rebuildStreamUrl('rtsp://admin:p%40ss@192.168.1.2/live'), 'rtsp://admin:p%40ss@192.168.1.2/live', 'already escaped');
    assert.equal(rebuildStreamUrl('rtmp://h/live/s'), 'rtmp://h/live/s');
  });
});

describe('ffprobe results', () => {
  const json = JSON.stringify({
    streams: [
      { index: 0, codec_type: 'video', codec_name: 'h264', profile: 'High', width: 1280, height: 720, pix_fmt: 'yuv420p', level: 31 },
      { index: 1, codec_type: 'audio', codec_name: 'aac', sample_rate: '44100', channels: 2, channel_layout: 'stereo' },
      { index: 2, codec_type: 'audio', codec_name: 'mp3' },
    ],
    format: { start_time: '0.000000', duration: '120.03', bit_rate: '698000', nb_streams: 3, probe_score: 100, filename: '/x' },
  });

  it('keeps the first video and audio stream and the format fields as strings', () => {
    const p = parseProbeJson(json);
    assert.deepEqual(p.format, {
      start_time: '0.000000',
      duration: '120.03',
      bit_rate: '698000',
      nb_streams: 3,
      probe_score: 100,
      has_video: true,
      has_audio: true,
    });
    assert.equal(p.video?.profile, 'High');
    assert.equal(p.audio?.codec_name, 'aac');
    assert.equal((p.video as unknown as Record<string, unknown>).index, undefined);
  });

  it('turns ffprobe errors into a clear 400', () => {
    assert.throws(() => parseProbeJson('{"error":{"code":-2,"string":"No such file or directory"}}'), /ffprobe: No such file or directory/);
    assert.throws(() => parseProbeJson('not json'), /no readable result/);
  });

  it('refuses a bitrate over the limit with SRS Stack’s message', () => {
    const p = parseProbeJson(json);
    assert.doesNotThrow(() => checkBitrate(p, 5000));
    assert.throws(() => checkBitrate(p, 600), /bitrate 698Kbps is too large, exceed 600Kbps/);
    const live = {
      ...p,
      format: { has_video: true, has_audio: true },
      video: { ...p.video!, bit_rate: '299008' },
      audio: { ...p.audio!, bit_rate: '64000' },
    };
    assert.throws(() => checkBitrate(live, 300), /bitrate 363Kbps is too large/, 'a live stream: the sum of its streams');
    const unknown = { ...p, format: { has_video: true, has_audio: true } };
    assert.doesNotThrow(() => checkBitrate(unknown, 1), 'no bitrate anywhere: nothing to check');
  });

  it('accepts h264/h265 and aac/mp3 only', () => {
    const p = parseProbeJson(json);
    assert.doesNotThrow(() => checkCodecs(p));
    assert.doesNotThrow(() => checkCodecs({ ...p, video: { ...p.video!, codec_name: 'hevc' } }));
    assert.throws(() => checkCodecs({ ...p, video: { ...p.video!, codec_name: 'vp9' } }), /invalid video codec vp9/);
    assert.throws(() => checkCodecs({ ...p, audio: { ...p.audio!, codec_name: 'opus' } }), /invalid audio codec opus/);
    assert.throws(() => checkCodecs({ ...p, video: null, audio: null }), /no video or audio/);
  });
});

describe('H.265 over RTMP', () => {
  it('knows which FFmpeg releases put H.265 into FLV (6.1, enhanced RTMP)', () => {
    assert.equal(flvCarriesHevc('5.1.9-0+deb12u1'), false, "Debian 12's");
    assert.equal(flvCarriesHevc('4.4.2-0ubuntu0.22.04.1'), false, "Ubuntu 22.04's");
    assert.equal(flvCarriesHevc('6.0'), false);
    assert.equal(flvCarriesHevc('6.1.1-3ubuntu5'), true, "Ubuntu 24.04's");
    assert.equal(flvCarriesHevc('n7.1'), true);
    assert.equal(flvCarriesHevc('N-113005-g1a2b3c'), true, 'a git build: let ffmpeg decide');
  });

  it('refuses H.265 to RTMP(S) with an older FFmpeg only', () => {
    const old = { binary: 'ffmpeg', version: '5.1.9-0+deb12u1' };
    assert.throws(() => checkCarriage('hevc', 'rtmp://h/live/k', old), /H\.265, which FFmpeg 5\.1\.9-0\+deb12u1 cannot send over RTMP/);
    assert.throws(() => checkCarriage('hevc', 'rtmps://h:443/live/k', old), /SRT destination/);
    assert.doesNotThrow(() => checkCarriage('hevc', 'srt://h:10080', old));
    assert.doesNotThrow(() => checkCarriage('h264', 'rtmp://h/live/k', old));
    assert.doesNotThrow(() => checkCarriage(undefined, 'rtmp://h/live/k', old), 'audio only');
    assert.doesNotThrow(() => checkCarriage('hevc', 'rtmp://h/live/k', { binary: 'ffmpeg', version: '7.0.2' }));
  });
});
