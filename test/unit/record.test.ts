import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildConfig } from '../../server/config.js';
import { RetryGate } from '../../server/core/backoff.js';
import { dataPaths, srsStackDataPath } from '../../server/core/data-dir.js';
import { EventHub, type HlsSegmentEvent } from '../../server/core/events.js';
import { setLogLevel } from '../../server/core/logger.js';
import { tinySegment } from '../helpers/hls-fixture.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { matchesGlobs, normaliseGlobs, parseGlobText, streamPath, streamPathOfUrl, testGlobs } from '../../server/features/record/globs.js';
import {
  newestFirst,
  parseArtifact,
  parseWorkingTask,
  summarize,
  type Artifact,
  type TsFile,
  type WorkingTask,
} from '../../server/features/record/model.js';
import { buildDvrPlaylist, buildVodPlaylist } from '../../server/features/record/playlist.js';
import { remuxArgs, remuxTimeoutMs } from '../../server/features/record/remux.js';
import { RecordService } from '../../server/features/record/service.js';
import {
  DEFAULT_RETENTION,
  diskIsLow,
  lowDiskTransition,
  planRetention,
  validateRetention,
  type DiskSpace,
  type RetainedRecord,
  type RetentionPolicy,
} from '../../server/features/record/retention.js';
import {
  checkClipRange,
  cleanTitle,
  clipArgs,
  libraryPage,
  parseLibraryQuery,
  thumbnailArgs,
} from '../../server/features/record/library.js';
import type { RecordPatterns, RecordStorage } from '../../server/features/record/store.js';
import { DISABLED_WAIT_MS, IDLE_CHECK_INTERVAL_MS, idleWindowMs, recordIsOver } from '../../server/features/record/wait-window.js';

const TSID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const UUID = '11111111-2222-4333-8444-555555555555';

function ts(n: number, seqno: number, duration: number, extra: Partial<TsFile> = {}): TsFile {
  const key = `record/${UUID}/${TSID(n)}.ts`;
  return { key, tsid: TSID(n), tsfile: key, url: `live/s-${seqno}.ts`, seqno, duration, size: 1000, ...extra };
}

describe('record live timeshift (DVR playlist)', () => {
  const begin = Date.parse('2026-12-06T10:00:00Z');
  const uri = (f: TsFile) => f.tsid;
  const lines = (text: string) => text.trim().split('\n');

  it('a live window of the last N seconds: no ENDLIST, media sequence of the first kept, a wall-clock time on each segment', () => {
    const files = [ts(0, 0, 2), ts(1, 1, 2), ts(2, 2, 2), ts(3, 3, 2), ts(4, 4, 2)];
    const text = buildDvrPlaylist(files, uri, { windowSeconds: 6, beginMs: begin });
    assert.doesNotMatch(text, /ENDLIST|PLAYLIST-TYPE:VOD/);
    assert.match(text, /#EXT-X-MEDIA-SEQUENCE:2\n/);
    assert.match(text, /#EXT-X-DISCONTINUITY-SEQUENCE:0\n/);
    assert.deepEqual(
      lines(text).filter((l) => !l.startsWith('#')),
      [TSID(2), TSID(3), TSID(4)],
    );
    assert.deepEqual(
      lines(text).filter((l) => l.startsWith('#EXT-X-PROGRAM-DATE-TIME')),
      ['10:00:04', '10:00:06', '10:00:08'].map((t) => `#EXT-X-PROGRAM-DATE-TIME:2026-12-06T${t}.000Z`),
    );
    assert.equal(
      lines(buildDvrPlaylist(files, uri, { windowSeconds: 0, beginMs: begin })).filter((l) => !l.startsWith('#')).length,
      5,
      '0: all',
    );
    assert.equal(
      lines(buildDvrPlaylist(files, uri, { windowSeconds: 1, beginMs: begin })).filter((l) => !l.startsWith('#')).length,
      1,
      'at least the last',
    );
  });

  it('a republish: its wall-clock time from the engine file, discontinuities before the window counted', () => {
    const republished = begin + 60_000;
    const files = [ts(0, 0, 2), ts(1, 1, 2), ts(2, 0, 2, { discontinuity: true, mtime: republished + 2000 }), ts(3, 1, 2), ts(4, 2, 2)];
    const all = buildDvrPlaylist(files, uri, { windowSeconds: 0, beginMs: begin });
    assert.match(all, new RegExp(`#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:${new Date(republished).toISOString()}\n`));
    const tail = buildDvrPlaylist(files, uri, { windowSeconds: 4, beginMs: begin });
    assert.match(tail, /#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n/);
    assert.doesNotMatch(tail, /#EXT-X-DISCONTINUITY\n/, 'the break is before the window');
  });
});

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

describe('record post-processing directory', () => {
  it("takes SRS Stack's ./containers/data/… as the data directory; other relative paths are refused", () => {
    assert.equal(srsStackDataPath('/d', './containers/data/srs-s3-bucket'), '/d/srs-s3-bucket');
    assert.equal(srsStackDataPath('/d', 'containers/data/srs-s3-bucket/'), '/d/srs-s3-bucket');
    assert.equal(srsStackDataPath('/d', './containers/data'), '/d');
    assert.equal(srsStackDataPath('/d', 'containers//data/a/b'), '/d/a/b');
    assert.equal(srsStackDataPath('/d', './containers/data/../../etc'), null, 'leaves the data directory');
    assert.equal(srsStackDataPath('/d', './containers/data/x/../../y'), null);
    assert.equal(srsStackDataPath('/d', './containers/database'), null);
    assert.equal(srsStackDataPath('/d', 'srs-s3-bucket'), null);
    assert.equal(srsStackDataPath('/d', '/data/srs-s3-bucket'), null, 'absolute paths keep their own rule');
  });
});

describe('record wait window (decision)', () => {
  it('is the configured window while recording is on, and at most 30 s once it is off', () => {
    assert.equal(idleWindowMs(300, true), 300_000);
    assert.equal(idleWindowMs(300, false), DISABLED_WAIT_MS);
    assert.equal(DISABLED_WAIT_MS, 30_000);
    assert.equal(idleWindowMs(5, false), 5000, 'a window shorter than 30 s stays');
  });

  it('ends a record only once more than the window passed since its last segment, or once it was ended', () => {
    const task = (lastSegmentMs: number, extra: Partial<{ expired: boolean; pending: number }> = {}) => ({
      lastSegmentMs,
      state: { expired: extra.expired ?? false, msgs: new Array(extra.pending ?? 0) },
    });
    assert.equal(recordIsOver(task(1000), 4000, 3000), false, 'exactly the window: not yet');
    assert.equal(recordIsOver(task(1000), 4001, 3000), true);
    assert.equal(recordIsOver(task(1000, { expired: true }), 1000, 3000), true, 'record/end: at once');
    assert.equal(recordIsOver(task(1000, { pending: 1 }), 60_000, 3000), false, 'a segment still waits for its copy');
    assert.equal(recordIsOver(task(1000, { expired: true, pending: 1 }), 60_000, 3000), false);
  });
});

/** The record store's contract, in memory: every value is copied in and out, as through Redis. */
class MemoryRecordStore implements RecordStorage {
  settings: RecordPatterns = { all: true, globs: [], postCpDir: '' };
  readonly working = new Map<string, WorkingTask>();
  readonly saved = new Map<string, Artifact>();
  private readonly files = new Map<string, TsFile[]>();

  async patterns(): Promise<RecordPatterns> {
    return copy(this.settings);
  }
  async setAll(all: boolean): Promise<void> {
    this.settings.all = all;
  }
  async setGlobs(globs: string[]): Promise<void> {
    this.settings.globs = copy(globs);
  }
  async setPostCpDir(dir: string): Promise<void> {
    this.settings.postCpDir = dir;
  }
  async workingTasks(): Promise<WorkingTask[]> {
    return [...this.working.values()].map(copy);
  }
  async saveWorking(task: WorkingTask): Promise<void> {
    this.working.set(task.m3u8_url, copy(task));
  }
  async artifacts(): Promise<Artifact[]> {
    return [...this.saved.values()].map(copy);
  }
  async artifact(uuid: string): Promise<Artifact | null> {
    const a = this.saved.get(uuid);
    return a ? copy(a) : null;
  }
  async saveArtifact(artifact: Artifact): Promise<void> {
    this.saved.set(artifact.uuid, copy(artifact));
  }
  async begin(task: WorkingTask, artifact: Artifact): Promise<void> {
    await this.saveWorking(task);
    await this.saveArtifact(artifact);
  }
  async commitSegments(task: WorkingTask, artifact: Artifact, files: TsFile[]): Promise<void> {
    this.files.set(artifact.uuid, [...(this.files.get(artifact.uuid) ?? []), ...files.map(copy)]);
    await this.begin(task, artifact);
  }
  async recordingFiles(uuid: string, last = 0): Promise<TsFile[]> {
    const list = this.files.get(uuid) ?? [];
    return (last > 0 ? list.slice(-last) : list).map(copy);
  }
  async detach(m3u8Url: string, artifact: Artifact): Promise<void> {
    this.working.delete(m3u8Url);
    await this.saveArtifact(artifact);
    this.files.delete(artifact.uuid);
  }
  async removeArtifact(uuid: string): Promise<void> {
    this.saved.delete(uuid);
    this.files.delete(uuid);
  }
  retentionPolicy: RetentionPolicy = { ...DEFAULT_RETENTION };
  async retention(): Promise<RetentionPolicy> {
    return copy(this.retentionPolicy);
  }
  async setRetention(policy: RetentionPolicy): Promise<void> {
    this.retentionPolicy = copy(policy);
  }
}

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe('record wait window (RecordService on a manual clock)', () => {
  const TICK_MS = IDLE_CHECK_INTERVAL_MS; // how often the service checks whether its records are over
  let root: string;
  let clock: ManualClock;
  let store: MemoryRecordStore;
  let events: EventHub;
  let service: RecordService;
  let seq: number;
  /** The data disk the recorder sees (statfs), set by a test; null: unknown. */
  let disk: DiskSpace | null = null;

  before(() => setLogLevel('error'));
  after(() => setLogLevel('info'));

  /** A recorder whose finishing always fails at the remux (no ffmpeg), so finishing is observable. */
  function startRecorder(waitSeconds: number): RecordService {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'record-clock-'));
    fs.mkdirSync(path.join(root, 'record'));
    fs.mkdirSync(path.join(root, 'hls', 'live'), { recursive: true });
    clock = new ManualClock();
    store = new MemoryRecordStore();
    events = new EventHub();
    seq = 0;
    const config = buildConfig({ SRS_RECORD_WAIT_SECONDS: String(waitSeconds), FFMPEG_BIN: path.join(root, 'no-ffmpeg') });
    disk = null;
    service = new RecordService(config, dataPaths(root), store, events, clock, () => Promise.resolve(disk));
    return service;
  }

  afterEach(async () => {
    await service?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** The engine finished one more segment of live/show (an MPEG-TS file: its first byte is the sync byte). */
  const segment = (): HlsSegmentEvent => tinySegment(path.join(root, 'hls'), seq++);

  const records = () => service.files();

  async function startedRecorder(waitSeconds: number): Promise<void> {
    startRecorder(waitSeconds);
    await service.onRedisReady();
    service.start();
  }

  it('a stream whose segments come back inside the window continues its record; the record ends one check after the window', async () => {
    await startedRecorder(3);
    await events.emit('hls.segment', segment());
    const [first] = await records();
    assert.equal(first?.status, 'recording');

    await clock.advance(3000 - TICK_MS); // the stream pauses for almost the whole window
    assert.deepEqual(
      (await records()).map((r) => r.status),
      ['recording'],
    );
    await events.emit('hls.segment', segment()); // and comes back
    const [continued] = await records();
    assert.equal(continued?.uuid, first?.uuid, 'the same record');
    assert.equal(continued?.nn, 2);

    await clock.advance(3000); // exactly the window since the last segment
    assert.equal((await records())[0]?.status, 'recording', 'not over at exactly the window');
    await clock.advance(TICK_MS); // the next check
    assert.equal((await records())[0]?.status, 'finishing', 'over once more than the window passed');
    assert.equal(store.working.size, 0, 'detached from its playlist');

    await events.emit('hls.segment', segment());
    const after = await records();
    assert.equal(after.length, 2, 'the next segment begins a new record');
    assert.notEqual(after.find((r) => r.status === 'recording')?.uuid, first?.uuid);
  });

  it('with recording turned off, a running record ends 30 s after its last segment instead of its window', async () => {
    await startedRecorder(300);
    await events.emit('hls.segment', segment());
    await clock.advance(DISABLED_WAIT_MS + TICK_MS);
    assert.equal((await records())[0]?.status, 'recording', 'on: the 300 s window applies');
    await events.emit('hls.segment', segment());

    await service.setAll(false);
    await events.emit('hls.segment', segment());
    assert.equal((await records())[0]?.nn, 2, 'off: no new segment is taken');
    await clock.advance(DISABLED_WAIT_MS);
    assert.equal((await records())[0]?.status, 'recording', 'not over at exactly 30 s');
    await clock.advance(TICK_MS);
    assert.equal((await records())[0]?.status, 'finishing', 'off: over once more than 30 s passed');
  });

  it('a failed finish is retried after its backoff (2 s, then 4 s), not before', async () => {
    await startedRecorder(60);
    await events.emit('hls.segment', segment());
    const [record] = await records();
    assert.ok(record);
    await service.end(record.uuid);
    await clock.advance(0);
    let [failing] = await records();
    assert.equal(failing?.status, 'finishing');
    assert.equal(failing?.attempts, 1);
    assert.equal(failing?.next_retry, new Date(clock.now() + 2000).toISOString());

    await clock.advance(1999);
    assert.equal((await records())[0]?.attempts, 1, 'not retried before its time');
    await clock.advance(1);
    [failing] = await records();
    assert.equal(failing?.attempts, 2, 'retried after 2 s');
    assert.equal(failing?.next_retry, new Date(clock.now() + 4000).toISOString());
    await clock.advance(3999);
    assert.equal((await records())[0]?.attempts, 2);
    await clock.advance(1);
    assert.equal((await records())[0]?.attempts, 3, 'retried 4 s later');
  });

  it('a segment that arrives before Redis is ready waits for the reload of the records', async () => {
    startRecorder(60);
    let taken = false;
    const early = events.emit('hls.segment', segment()).then(() => (taken = true));
    await clock.advance(15_000 - 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(taken, false, 'still waiting for the reload');
    await service.onRedisReady();
    await early;
    assert.equal((await records())[0]?.nn, 1, 'recorded once the records were reloaded');
  });

  it('a segment waits 15 s at most for Redis, then is not recorded', async () => {
    startRecorder(60);
    let given = false;
    const late = events.emit('hls.segment', segment()).then(() => (given = true));
    await clock.advance(15_000 - 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(given, false, 'still waiting at 14.999 s');
    await clock.advance(1);
    await late;
    assert.deepEqual(await records(), [], 'nothing recorded without the reload (a record could be one already in Redis)');
  });

  /** A finished record that ended `daysAgo` days before the clock's now, with `bytes` on disk. */
  function finished(name: string, daysAgo: number, bytes: number): Artifact {
    const at = new Date(clock.now() - daysAgo * 86_400_000).toISOString();
    const uuid = `00000000-0000-4000-8000-${name.padStart(12, '0')}`;
    const artifact: Artifact = {
      uuid,
      m3u8_url: 'live/old.m3u8',
      vhost: '__defaultVhost__',
      app: 'live',
      stream: `old${name}`,
      progress: false,
      update: at,
      nn: 1,
      files: [],
      begin: at,
      status: 'done',
      duration: 10,
      size: bytes,
      mp4_size: bytes,
    };
    fs.mkdirSync(path.join(root, 'record', uuid), { recursive: true });
    fs.writeFileSync(path.join(root, 'record', uuid, 'index.mp4'), 'mp4');
    void store.saveArtifact(artifact);
    return artifact;
  }

  it('retention removes records past N days, oldest first, and never the one recording (fake clock)', async () => {
    await startedRecorder(60);
    await events.emit('hls.segment', segment()); // live/show begins now…
    clock.jump(5 * 86_400_000); // …and is still on air five days later
    await events.emit('hls.segment', segment());
    const live = (await records()).find((r) => r.status === 'recording');
    assert.ok(live, 'recording');
    const old3 = finished('3', 3, 100);
    const old2 = finished('2', 2, 100);
    const recent = finished('1', 0.5, 100);

    await service.setRetention({ days: 1 }); // applied at once
    const left = (await records()).map((r) => r.uuid);
    assert.deepEqual(left.sort(), [live.uuid, recent.uuid].sort(), 'the two records older than a day are gone, the live one stays');
    assert.equal(fs.existsSync(path.join(root, 'record', old3.uuid)), false, 'with their files');
    assert.equal(fs.existsSync(path.join(root, 'record', old2.uuid)), false);

    clock.jump(86_400_000); // a day later, the next check removes the one that was recent
    await events.emit('hls.segment', segment()); // (the show goes on)
    await clock.advance(60_000); // retention plans once a minute
    assert.deepEqual(
      (await records()).map((r) => r.uuid),
      [live.uuid],
    );
  });

  it('retention by size removes the oldest finished records until the total fits, never the live one', async () => {
    await startedRecorder(60);
    const a = finished('a', 3, 400);
    finished('b', 2, 400);
    finished('c', 1, 400);
    await events.emit('hls.segment', segment()); // 188 bytes, live
    // 3 × 800 + 188 bytes; a limit of 2000 bytes must drop the oldest only (… 1600 + 188 fits).
    await service.setRetention({ maxGb: 2000 / 1024 ** 3 });
    const left = await records();
    assert.equal(left.length, 3);
    assert.equal(
      left.some((r) => r.uuid === a.uuid),
      false,
      'the oldest went first',
    );
    await service.setRetention({ maxGb: 1 / 1024 ** 3 }); // 1 byte: everything finished goes, the live one stays
    assert.deepEqual(
      (await records()).map((r) => r.status),
      ['recording'],
    );
  });

  it('the disk guard warns once when free space falls under the threshold, on the page and by event, and again after it recovered', async () => {
    await startedRecorder(60);
    const warnings: number[] = [];
    events.on('storage.low', (e) => void warnings.push(e.free_mb));
    disk = { totalBytes: 10 * 1024 ** 3, freeBytes: 3 * 1024 ** 3 };
    await service.setRetention({ warnFreeMb: 2048 });
    assert.equal(await service.diskWarning(), null);
    disk = { totalBytes: 10 * 1024 ** 3, freeBytes: 1024 ** 3 };
    await clock.advance(5000);
    await clock.advance(5000);
    assert.deepEqual(warnings, [1024], 'once, not every check');
    assert.deepEqual(await service.diskWarning(), { kind: 'low', dir: path.join(root, 'record'), freeMb: 1024, thresholdMb: 2048 });
    disk = { totalBytes: 10 * 1024 ** 3, freeBytes: 3 * 1024 ** 3 };
    await clock.advance(5000);
    disk = { totalBytes: 10 * 1024 ** 3, freeBytes: 1024 ** 2 };
    await clock.advance(5000);
    assert.deepEqual(warnings, [1024, 1]);
  });
});

describe('record retention (planner)', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const rec = (uuid: string, daysAgo: number, bytes: number, status: RetainedRecord['status'] = 'done'): RetainedRecord => {
    const at = new Date(now - daysAgo * 86_400_000).toISOString();
    return { uuid, begin: at, update: at, status, bytes };
  };
  const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ ...DEFAULT_RETENTION, ...p });

  it('keeps everything with no limit set', () => {
    assert.deepEqual(planRetention([rec('a', 100, 1e12)], policy({}), now, null).remove, []);
  });

  it('removes by age, then by size, oldest first; live and finishing records are never chosen', () => {
    const records = [
      rec('new', 1, 500),
      rec('live', 30, 2000, 'recording'),
      rec('mid', 5, 500),
      rec('fin', 40, 500, 'finishing'),
      rec('old', 20, 500),
    ];
    const byAge = planRetention(records, policy({ days: 10 }), now, null);
    assert.deepEqual(byAge.remove, [{ uuid: 'old', reason: 'age' }]);
    const bySize = planRetention(records, policy({ maxGb: 3200 / 1024 ** 3 }), now, null);
    assert.deepEqual(bySize.remove, [
      { uuid: 'old', reason: 'size' },
      { uuid: 'mid', reason: 'size' },
    ]);
    assert.equal(bySize.keptBytes, 3000);
    const byPercent = planRetention(records, policy({ maxPercent: 50 }), now, { totalBytes: 7000, freeBytes: 0 });
    assert.deepEqual(
      byPercent.remove.map((r) => r.uuid),
      ['old'],
    );
    const impossible = planRetention(records, policy({ maxGb: 1 / 1024 ** 3 }), now, null);
    assert.deepEqual(
      impossible.remove.map((r) => r.uuid),
      ['old', 'mid', 'new'],
      'the live and finishing records stay even over the limit',
    );
  });

  it('validates settings: numbers from 0, named in the error; strings from a form', () => {
    assert.deepEqual(validateRetention(DEFAULT_RETENTION, { days: '7', maxPercent: 80 }), {
      ...DEFAULT_RETENTION,
      days: 7,
      maxPercent: 80,
    });
    assert.throws(() => validateRetention(DEFAULT_RETENTION, { days: -1 }), /days must be a number from 0/);
    assert.throws(() => validateRetention(DEFAULT_RETENTION, { maxPercent: 101 }), /maxPercent/);
    assert.throws(() => validateRetention(DEFAULT_RETENTION, { maxGb: 'lots' }), /maxGb/);
  });

  it('the disk guard: low under the threshold, off at 0, and an edge only when it changes', () => {
    const disk = { totalBytes: 1e10, freeBytes: 100 * 1024 * 1024 };
    assert.equal(diskIsLow(disk, policy({ warnFreeMb: 200 })), true);
    assert.equal(diskIsLow(disk, policy({ warnFreeMb: 50 })), false);
    assert.equal(diskIsLow(disk, policy({ warnFreeMb: 0 })), false);
    assert.equal(lowDiskTransition(false, true), 'warn');
    assert.equal(lowDiskTransition(true, true), null);
    assert.equal(lowDiskTransition(true, false), 'recovered');
  });
});

describe('record library', () => {
  const summary = (uuid: string, app: string, stream: string, begin: string, status: 'done' | 'recording' = 'done') =>
    ({ uuid, vhost: '', app, stream, progress: false, update: begin, begin, nn: 1, duration: 1, size: 1, status }) as const;
  const all = [
    summary('3', 'live', 'show', '2026-01-03T00:00:00Z', 'recording'),
    summary('2', 'live', 'talk', '2026-01-02T00:00:00Z'),
    summary('1', 'live', 'show', '2026-01-01T00:00:00Z'),
  ];

  it('pages and filters by stream, status and time', () => {
    const q = (body: Record<string, unknown>) => parseLibraryQuery(body);
    assert.deepEqual(
      libraryPage(all, q({ size: 2 })).records.map((r) => r.uuid),
      ['3', '2'],
    );
    assert.deepEqual(libraryPage(all, q({ size: 2, page: 2 })), { records: [all[2]], total: 3, page: 2, size: 2 });
    assert.deepEqual(
      libraryPage(all, q({ stream: '/live/show' })).records.map((r) => r.uuid),
      ['3', '1'],
    );
    assert.deepEqual(
      libraryPage(all, q({ status: 'done', from: '2026-01-01T12:00:00Z' })).records.map((r) => r.uuid),
      ['2'],
    );
    assert.throws(() => q({ size: 0 }), /size must be an integer from 1 to 200/);
    assert.throws(() => q({ status: 'gone' }), /status must be one of/);
    assert.throws(() => q({ from: 'yesterday' }), /from must be an RFC3339 time/);
  });

  it('a clip copies without re-encoding, from a seek to its in point, for its length', () => {
    const args = clipArgs('/d/record/a/index.mp4', 30, 90.5, '/d/record/b/index.mp4.tmp');
    assert.deepEqual(args.slice(args.indexOf('-ss'), args.indexOf('-ss') + 4), ['-ss', '30.000', '-i', '/d/record/a/index.mp4']);
    assert.deepEqual(args.slice(args.indexOf('-t'), args.indexOf('-t') + 2), ['-t', '60.500']);
    assert.deepEqual(args.slice(args.indexOf('-seek_streams_individually'), args.indexOf('-ss')), ['-seek_streams_individually', '0']);
    const live = clipArgs('/d/record/b/source.m3u8', 30, 90.5, '/d/record/b/index.mp4.tmp', 'hls');
    assert.deepEqual(live.slice(live.indexOf('-f'), live.indexOf('-ss')), ['-f', 'hls'], 'no MP4 demuxer option for a playlist');
    assert.deepEqual(args.slice(args.indexOf('-c'), args.indexOf('-c') + 2), ['-c', 'copy']);
    assert.equal(args.at(-1), '/d/record/b/index.mp4.tmp');
    assert.throws(() => checkClipRange(10, 5, 100), /0 <= start < end/);
    assert.throws(() => checkClipRange(120, 130, 100), /past the record's end/);
    assert.doesNotThrow(() => checkClipRange(0, 500, 100));
  });

  it('a thumbnail is one frame, taken at 2 s or the middle of a short record', () => {
    const args = thumbnailArgs('/in.mp4', 1, '/out.jpg');
    assert.equal(args[args.indexOf('-ss') + 1], '0.500');
    assert.equal(args[args.indexOf('-frames:v') + 1], '1');
    assert.equal(thumbnailArgs('/in.mp4', 600, '/out.jpg')[args.indexOf('-ss') + 1], '2.000');
  });

  it('a title is one line and bounded', () => {
    assert.equal(cleanTitle('  Keynote\n day 1 '), 'Keynote day 1');
    assert.throws(() => cleanTitle('x'.repeat(201)), /at most 200/);
  });
});

describe('record thumbnail retry', () => {
  it('RetryGate: a failure waits its backoff (doubling, capped), success clears it, and it gives up after the last try', () => {
    const gate = new RetryGate(10_000, 40_000, 4);
    assert.equal(gate.allowed('a', 0), true);
    gate.failed('a', 0);
    assert.equal(gate.allowed('a', 9_999), false);
    assert.equal(gate.allowed('a', 10_000), true);
    gate.failed('a', 10_000);
    assert.equal(gate.allowed('a', 29_999), false, 'the second wait is 20 s');
    gate.failed('a', 30_000);
    assert.equal(gate.allowed('a', 69_999), false, 'the third is capped at 40 s');
    assert.equal(gate.allowed('a', 70_000), true);
    gate.failed('a', 70_000);
    assert.equal(gate.allowed('a', 10_000_000), false, 'four failures: given up');
    assert.equal(gate.allowed('b', 0), true, 'keys are apart');
    gate.succeeded('a');
    assert.equal(gate.allowed('a', 0), true);
  });

  it('a failed thumbnail is made again after its backoff, not on every request (ffmpeg that fails, then works)', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'record-thumb-'));
    try {
      const calls = path.join(root, 'calls');
      const ffmpeg = path.join(root, 'ffmpeg');
      // Counts its runs; fails until `works` exists, then writes its last argument (the JPEG).
      fs.writeFileSync(
        ffmpeg,
        `#!/bin/sh\necho run >> '${calls}'\n[ -e '${root}/works' ] || exit 1\nfor last; do :; done\necho jpeg > "$last"\n`,
        { mode: 0o755 },
      );
      const clock = new ManualClock();
      const store = new MemoryRecordStore();
      const service = new RecordService(buildConfig({ FFMPEG_BIN: ffmpeg }), dataPaths(root), store, new EventHub(), clock, () =>
        Promise.resolve(null),
      );
      const runs = () => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').split('\n').filter(Boolean).length : 0);
      const done = parseArtifact(JSON.stringify({ uuid: UUID, m3u8_url: 'live/s.m3u8', files: [], status: 'done', duration: 10 }));
      assert.ok(done);
      await store.saveArtifact(done);
      fs.mkdirSync(path.join(root, 'record', UUID), { recursive: true });
      setLogLevel('error');
      assert.equal(await service.thumbnail(UUID), null);
      assert.equal(await service.thumbnail(UUID), null);
      assert.equal(runs(), 1, 'the second request inside the backoff does not run ffmpeg');
      fs.writeFileSync(path.join(root, 'works'), '');
      await clock.advance(9_000);
      assert.equal(await service.thumbnail(UUID), null, 'still waiting');
      await clock.advance(1_000);
      const file = await service.thumbnail(UUID);
      assert.equal(runs(), 2);
      assert.ok(file && fs.readFileSync(file, 'utf8').startsWith('jpeg'), 'retried and made');
    } finally {
      setLogLevel('info');
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
