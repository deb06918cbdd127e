// Live timeshift by stream name (features/timeshift): the store keeps the engine's segments of a
// stream that is not recorded for the window and prunes them by age (a manual clock, real files),
// and the DVR playlist it feeds keeps its sequence numbers going up as its head is pruned.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setLogLevel } from '../../server/core/logger.js';
import { buildDvrPlaylist } from '../../server/features/record/playlist.js';
import { dvrSegmentUri, dvrUrlOf } from '../../server/features/timeshift/delivery.js';
import { PRUNE_INTERVAL_MS, TimeshiftStore } from '../../server/features/timeshift/store.js';
import { tinySegment } from '../helpers/hls-fixture.js';
import { ManualClock } from '../helpers/manual-clock.js';

describe('timeshift store (manual clock)', () => {
  let root: string;
  let clock: ManualClock;
  let store: TimeshiftStore;
  let windowSeconds: number;
  let recorded: boolean;
  let diskLow: boolean;
  let seq: number;

  before(() => setLogLevel('error'));
  after(() => setLogLevel('info'));

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'timeshift-'));
    fs.mkdirSync(path.join(root, 'hls', 'live'), { recursive: true });
    clock = new ManualClock();
    windowSeconds = 60;
    recorded = false;
    diskLow = false;
    seq = 0;
    store = new TimeshiftStore({
      dir: path.join(root, 'timeshift'),
      windowSeconds: () => windowSeconds,
      recorded: () => recorded,
      diskLow: () => diskLow,
      clock,
    });
    await store.start();
  });

  afterEach(() => {
    store.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** The engine finished a 2 s segment of live/show; the engine deletes its own file soon after. */
  const segment = () => tinySegment(path.join(root, 'hls'), seq++);

  /** Feeds `count` segments, one every 2 s of clock time, as the engine would. */
  async function feed(count: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      const s = segment();
      await store.take(s);
      fs.rmSync(s.file); // the engine's cleanup: the store's copy must not depend on it
      await clock.advance(2000);
    }
  }

  const keptFiles = () => fs.readdirSync(path.join(root, 'timeshift', 'live', 'show'));

  it('keeps a copy of each segment for the window; its DVR playlist has every one with a PROGRAM-DATE-TIME', async () => {
    await feed(10);
    const w = store.window('live', 'show');
    assert.ok(w);
    assert.equal(w.files.length, 10);
    assert.equal(keptFiles().length, 10, 'copies on disk, the engine files are gone');
    const text = buildDvrPlaylist(w.files, dvrSegmentUri, { windowSeconds, beginMs: 0, history: w.history });
    assert.equal(text.split('#EXT-X-PROGRAM-DATE-TIME:').length - 1, 10);
    assert.match(text, /#EXT-X-MEDIA-SEQUENCE:0\n/);
    assert.doesNotMatch(text, /#EXT-X-ENDLIST/);
    const first = w.files[0];
    assert.ok(first);
    assert.equal(store.segmentFile('live', 'show', first.tsid), path.join(root, 'timeshift', first.key));
    assert.equal(store.segmentFile('live', 'other', first.tsid), null, "another stream's name does not reach it");
    assert.equal(w.live, true);
    store.published('live', 'show', false);
    assert.equal(store.window('live', 'show')?.live, false, 'unpublished: the window stops growing (EXT-X-ENDLIST)');
  });

  it('prunes what is older than the window, by age on the clock, and the playlist sequence keeps going up', async () => {
    await feed(40); // 80 s of segments, a 60 s window
    let w = store.window('live', 'show');
    assert.ok(w);
    assert.ok(w.files.length <= 31 && w.files.length >= 30, `about 60 s kept: ${w.files.length}`);
    const seqBefore = w.history.sequenceBase;
    assert.ok(seqBefore >= 9, 'the head was dropped and counted');
    assert.equal(keptFiles().length, w.files.length, 'pruned files are deleted');

    // The stream stops: nothing new arrives, and the window ages out on the clock alone.
    await clock.advance(30_000);
    w = store.window('live', 'show');
    assert.ok(w && w.files.length < 30 && w.files.length > 0, `half aged out: ${w?.files.length}`);
    assert.ok(w.history.sequenceBase > seqBefore);
    const text = buildDvrPlaylist(w.files, dvrSegmentUri, { windowSeconds, beginMs: 0, history: w.history });
    assert.match(text, new RegExp(`#EXT-X-MEDIA-SEQUENCE:${w.history.sequenceBase}\\n`));

    await clock.advance(60_000 + PRUNE_INTERVAL_MS);
    assert.equal(store.window('live', 'show'), null, 'older than the window: all gone');
    assert.deepEqual(keptFiles(), []);
    assert.equal(store.bytes, 0);
  });

  it('a new publish is a discontinuity, still counted once its segment heads the window', async () => {
    windowSeconds = 10;
    await feed(3);
    store.published('live', 'show', true);
    await feed(4); // the break's segment is the 4th; 5 segments fit in 10 s: the 3rd to the 7th
    let w = store.window('live', 'show');
    assert.ok(w);
    let text = buildDvrPlaylist(w.files, dvrSegmentUri, { windowSeconds, beginMs: 0, history: w.history });
    assert.equal(w.history.discontinuityBase, 0);
    assert.match(text, /#EXT-X-DISCONTINUITY\n/);
    await feed(2);
    w = store.window('live', 'show');
    assert.ok(w);
    text = buildDvrPlaylist(w.files, dvrSegmentUri, { windowSeconds, beginMs: 0, history: w.history });
    assert.match(text, /#EXT-X-DISCONTINUITY-SEQUENCE:1\n/, 'the break left the window: counted in the sequence');
    assert.doesNotMatch(text, /#EXT-X-DISCONTINUITY\n/);
  });

  it('keeps nothing when timeshift is off, the stream is recorded (its record keeps it) or the disk is low', async () => {
    windowSeconds = 0;
    await feed(2);
    recorded = true;
    windowSeconds = 60;
    await feed(2);
    recorded = false;
    diskLow = true;
    await feed(2);
    assert.equal(store.window('live', 'show'), null);
    diskLow = false;
    await feed(2);
    assert.equal(store.window('live', 'show')?.files.length, 2);
    windowSeconds = 0; // turned off: the next prune drops everything
    await clock.advance(PRUNE_INTERVAL_MS);
    assert.equal(store.window('live', 'show'), null);
  });

  it('a restart empties the store (its index was in memory)', async () => {
    await feed(2);
    store.stop();
    await store.start();
    assert.equal(fs.readdirSync(path.join(root, 'timeshift')).length, 0);
  });
});

describe('timeshift URLs', () => {
  it('the DVR playlist of a live HLS URL keeps its query (a signed token); other URLs have none', () => {
    assert.equal(dvrUrlOf('/live/show.m3u8'), '/live/show/dvr.m3u8');
    assert.equal(dvrUrlOf('/live/show.m3u8?token=abc&expires=1'), '/live/show/dvr.m3u8?token=abc&expires=1');
    assert.equal(dvrUrlOf('https://example.com:8443/live/show.m3u8?token=a'), 'https://example.com:8443/live/show/dvr.m3u8?token=a');
    assert.equal(dvrUrlOf('/live/show.flv'), null);
    assert.equal(dvrUrlOf('/live/show/ll.m3u8'), null);
    assert.equal(dvrUrlOf('/terraform/v1/hooks/record/hls/x.m3u8'), null);
    assert.equal(dvrUrlOf('rtmp://example.com/live/show.m3u8'), null);
    assert.equal(dvrUrlOf(''), null);
  });
});
