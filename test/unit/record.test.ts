import assert from 'node:assert/strict';
import { buildConfig } from '../../server/config.js';
import { matchesGlobs, normaliseGlobs, parseGlobText, streamPath, streamPathOfUrl, testGlobs } from '../../server/features/record/globs.js';
import { newestFirst, parseArtifact, parseWorkingTask, summarize, type TsFile } from '../../server/features/record/model.js';
import { buildVodPlaylist } from '../../server/features/record/playlist.js';
import { remuxArgs, remuxTimeoutMs } from '../../server/features/record/remux.js';

const TSID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const UUID = '11111111-2222-4333-8444-555555555555';

function ts(n: number, seqno: number, duration: number, extra: Partial<TsFile> = {}): TsFile {
  const key = `record/${UUID}/${TSID(n)}.ts`;
  return { key, tsid: TSID(n), tsfile: key, url: `live/s-${seqno}.ts`, seqno, duration, size: 1000, ...extra };
}

describe('record VOD playlist', () => {
  it('has SRS Stack tags, the largest segment (rounded up) as target duration and an end list', () => {
    const text = buildVodPlaylist([ts(1, 0, 2.0), ts(2, 1, 4.21), ts(3, 2, 1.5)], (f) => `${f.tsid}.ts`);
    const lines = text.trim().split('\n');
    assert.deepEqual(lines.slice(0, 6), [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-ALLOW-CACHE:YES',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXT-X-TARGETDURATION:5',
      '#EXT-X-MEDIA-SEQUENCE:0',
    ]);
    assert.deepEqual(lines.slice(6, 8), ['#EXTINF:2.00, no desc', `${TSID(1)}.ts`]);
    assert.equal(lines.at(-1), '#EXT-X-ENDLIST');
    assert.ok(!text.includes('#EXT-X-DISCONTINUITY'));
  });

  it('marks a sequence gap and a new publish with a discontinuity', () => {
    const text = buildVodPlaylist([ts(1, 7, 2), ts(2, 8, 2), ts(3, 12, 2), ts(4, 13, 2, { discontinuity: true })], (f) => f.tsid);
    const lines = text.trim().split('\n');
    const marks = lines.flatMap((l, i) => (l === '#EXT-X-DISCONTINUITY' ? [lines[i + 2]] : []));
    assert.deepEqual(marks, [TSID(3), TSID(4)]);
  });

  it('never declares a target duration of zero', () => {
    assert.match(
      buildVodPlaylist([], (f) => f.tsid),
      /#EXT-X-TARGETDURATION:1\n/,
    );
  });
});

describe('record globs', () => {
  it('matches the FAQ examples against /{app}/{stream}', () => {
    const path = streamPath('live', 'livestream');
    assert.equal(path, '/live/livestream');
    assert.ok(matchesGlobs(path, ['/live/livestream']));
    assert.ok(matchesGlobs(path, ['/live/*']));
    assert.ok(matchesGlobs(path, ['/*/*']));
    assert.ok(!matchesGlobs('/other/livestream', ['/live/*']));
    assert.ok(!matchesGlobs(path, ['/live/show', '/other/*']));
    assert.ok(matchesGlobs(path, []), 'no glob records everything');
  });

  it('drops empty entries and refuses a glob that could never match', () => {
    assert.deepEqual(normaliseGlobs(['', '  /live/* ', '\t']), ['/live/*']);
    assert.throws(() => normaliseGlobs(['live/*']), /must start with \//);
    assert.throws(() => normaliseGlobs(Array.from({ length: 101 }, (_, i) => `/a/${i}`)), /too many globs/);
    assert.deepEqual(parseGlobText('/live/*\r\n/other/a,/b/c'), ['/live/*', '/other/a', '/b/c']);
  });

  it('tests what a user pastes: publish URL with secret, play URL, or a path', () => {
    assert.equal(streamPathOfUrl('rtmp://1.2.3.4/live/livestream?secret=abc'), '/live/livestream');
    assert.equal(streamPathOfUrl('http://h:8080/live/show.flv'), '/live/show');
    assert.equal(streamPathOfUrl('/live/x.m3u8'), '/live/x');
    assert.throws(() => streamPathOfUrl('not a url'), /not a URL/);
    assert.deepEqual(testGlobs('rtmp://h/live/livestream', ['/other/*', '/live/*']), {
      path: '/live/livestream',
      matched: true,
      glob: '/live/*',
    });
    assert.deepEqual(testGlobs('rtmp://h/other/a', ['/live/*']), { path: '/other/a', matched: false, glob: '' });
    assert.equal(testGlobs('rtmp://h/other/a', []).matched, true);
  });
});

describe('record remux argv', () => {
  it('copies the streams of the VOD playlist into a fast-start MP4, no re-encode, no shell', () => {
    const args = remuxArgs('/d/record/u/index.m3u8', '/d/record/u/index.mp4.1.tmp');
    const after = (flag: string) => args[args.indexOf(flag) + 1];
    assert.equal(after('-i'), '/d/record/u/index.m3u8');
    assert.equal(after('-c'), 'copy');
    assert.equal(after('-movflags'), '+faststart');
    assert.equal(after('-protocol_whitelist'), 'file');
    assert.equal(args.at(-1), '/d/record/u/index.mp4.1.tmp');
    assert.equal(args.filter((a) => a === '-f').length, 2, 'input hls and output mp4 named explicitly');
    assert.ok(!args.some((a) => /libx264|aac|-c:v|-c:a/.test(a)));
    assert.ok(args.indexOf('-protocol_whitelist') < args.indexOf('-i'), 'input options precede -i');
  });

  it('grows the hung-process timeout with the size of the record', () => {
    assert.equal(remuxTimeoutMs(0), 60_000);
    assert.ok(remuxTimeoutMs(200 * 1024 * 1024) > remuxTimeoutMs(10 * 1024 * 1024));
  });
});

describe('record data read from Redis', () => {
  it('reads an SRS Stack artifact (no status, files inline) and derives totals', () => {
    const srs = JSON.stringify({
      uuid: UUID,
      m3u8_url: 'live/livestream.m3u8',
      vhost: '__defaultVhost__',
      app: 'live',
      stream: 'livestream',
      progress: false,
      update: '2024-11-16T08:00:00+08:00',
      nn: 2,
      files: [ts(1, 0, 2.5), ts(2, 1, 3), { key: '../../etc/passwd', tsid: 'x' }],
    });
    const a = parseArtifact(srs);
    assert.ok(a);
    assert.equal(a.status, 'done');
    assert.equal(a.files.length, 2, 'a malformed segment is dropped');
    assert.equal(a.duration, 5.5);
    assert.equal(a.size, 2000);
    assert.equal(a.begin, '2024-11-16T08:00:00+08:00');
    assert.equal(parseArtifact(srs.replace('"progress":false', '"progress":true'))?.status, 'finishing');
    assert.deepEqual(Object.keys(summarize(a)).slice(0, 9), [
      'uuid',
      'vhost',
      'app',
      'stream',
      'progress',
      'update',
      'begin',
      'nn',
      'duration',
    ]);
  });

  it('refuses malformed entries instead of throwing', () => {
    assert.equal(parseArtifact('{'), null);
    assert.equal(parseArtifact('[]'), null);
    assert.equal(parseArtifact(JSON.stringify({ uuid: '../x' })), null);
    assert.equal(parseWorkingTask(JSON.stringify({ uuid: UUID })), null, 'no m3u8_url');
    const task = parseWorkingTask(
      JSON.stringify({
        uuid: UUID,
        m3u8_url: 'live/a.m3u8',
        update: 'x',
        expired: true,
        msgs: [
          { msg: { file: '/h/a-1.ts', m3u8_url: 'live/a.m3u8', seq_no: 1 }, tsfile: ts(1, 1, 2) },
          { msg: {}, tsfile: {} },
        ],
      }),
    );
    assert.equal(task?.expired, true);
    assert.equal(task?.msgs.length, 1);
  });

  it('lists the newest record first', () => {
    const rows = [
      { begin: '2024-01-01T00:00:00Z', update: '2024-01-01T00:10:00Z', id: 'old' },
      { begin: '2024-03-01T00:00:00Z', update: '2024-03-01T00:00:01Z', id: 'new' },
      { begin: '2024-02-01T08:00:00+08:00', update: '2024-02-01T00:00:00Z', id: 'mid' },
    ];
    assert.deepEqual(
      rows.sort(newestFirst).map((r) => r.id),
      ['new', 'mid', 'old'],
    );
  });
});

describe('record config', () => {
  it('waits 300 s by default and refuses a window of zero', () => {
    assert.equal(buildConfig({}).record.waitSeconds, 300);
    assert.equal(buildConfig({ SRS_RECORD_WAIT_SECONDS: '5' }).record.waitSeconds, 5);
    assert.throws(() => buildConfig({ SRS_RECORD_WAIT_SECONDS: '0' }), /SRS_RECORD_WAIT_SECONDS must be a whole number from 1/);
  });
});
