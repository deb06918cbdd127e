// The records being recorded, one per playlist, and how a segment joins one without ever being
// lost. A segment is written ahead into the working task (Redis) before it is copied, the copy
// lands under a temporary name and is renamed, and only then is it committed to the record. After
// a kill -9, the next start commits or redoes every written-ahead segment. A record leaves this
// state when it is detached for finishing: recording → finishing (finish.ts) → done.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { errorMessage } from '../../core/errors.js';
import type { EventHub, HlsSegmentEvent } from '../../core/events.js';
import { createLogger } from '../../core/logger.js';
import { isoNow, type Clock } from './clock.js';
import { BadSegmentError, checkSegment, copySegment, exists, removeTemporaries } from './disk.js';
import type { LiveMp4s } from './live-mp4.js';
import type { RecordCounters } from './metrics.js';
import type { Artifact, PendingSegment, TsFile, WorkingTask } from './model.js';
import type { RecordPaths } from './paths.js';
import type { RecordStorage } from './store.js';

const log = createLogger('record');

/** How many committed segments a record remembers, to take a segment announced again only once. */
export const RECENT_SEGMENTS = 64;

export interface LiveTask {
  state: WorkingTask;
  artifact: Artifact;
  /**
   * `url|seq|size|mtime` of the last committed segments: an engine that re-announces a recent
   * segment (a rescan, a leftover replayed after a crash) is ignored, while a new file that only
   * shares the name and size (numbering restarted, a looped file) is not. Bounded, because a 24/7
   * stream's record may never end.
   */
  recent: string[];
  /** Clock time of the last segment taken: the wait window is measured from it. */
  lastSegmentMs: number;
  /** Set by a new publish: the next segment starts a discontinuity. */
  discontinuityNext: boolean;
}

/**
 * A record resumed after a restart gets a new MP4 writer, fed everything it holds, only up to this
 * size: past it, the start-up would read gigabytes again while everything else recovers, so such
 * a record is remuxed at its end instead (docs/compatibility.md §5.8).
 */
const RESUME_FEED_MAX_BYTES = 2 * 1024 ** 3;

export function segmentIdentity(url: string, seqno: number, size: number, mtime: number | undefined): string {
  return `${url}|${seqno}|${size}|${mtime ?? ''}`;
}

export interface RecordingsDeps {
  store: RecordStorage;
  paths: RecordPaths;
  events: EventHub;
  clock: Clock;
  counters: RecordCounters;
  /** Each record's MP4 written while it records; without it, records are remuxed at the end. */
  liveMp4?: LiveMp4s;
}

export class Recordings {
  private readonly live = new Map<string, LiveTask>();

  constructor(private readonly deps: RecordingsDeps) {}

  get size(): number {
    return this.live.size;
  }

  ofPlaylist(m3u8Url: string): LiveTask | undefined {
    return this.live.get(m3u8Url);
  }

  withUuid(uuid: string): LiveTask | undefined {
    return [...this.live.values()].find((t) => t.state.uuid === uuid);
  }

  all(): LiveTask[] {
    return [...this.live.values()];
  }

  /** Whether the record already took this segment (committed recently, or written ahead). */
  holds(task: LiveTask, segment: HlsSegmentEvent, size: number): boolean {
    const id = segmentIdentity(segment.url, segment.seq_no, size, segment.mtime);
    return (
      task.recent.includes(id) || task.state.msgs.some((p) => segmentIdentity(p.msg.url, p.msg.seq_no, p.tsfile.size, p.msg.mtime) === id)
    );
  }

  /** A new record of the segment's playlist. */
  async begin(segment: HlsSegmentEvent): Promise<LiveTask> {
    const { store, paths, events, clock } = this.deps;
    const uuid = randomUUID();
    const at = isoNow(clock);
    const state: WorkingTask = { m3u8_url: segment.m3u8_url, uuid, nn: 0, update: at, expired: false, msgs: [] };
    const artifact: Artifact = {
      uuid,
      m3u8_url: segment.m3u8_url,
      vhost: segment.vhost,
      app: segment.app,
      stream: segment.stream,
      progress: true,
      update: at,
      nn: 0,
      files: [],
      begin: at,
      status: 'recording',
      duration: 0,
      size: 0,
    };
    // Neither a full disk nor a Redis that cannot save loses the segment: the copy and the commit
    // retry both, and the commit saves the whole record.
    await fs.promises.mkdir(paths.dir(uuid), { recursive: true }).catch(() => undefined);
    await this.deps.liveMp4?.open(uuid, paths.dir(uuid));
    await store.begin(state, artifact).catch((err) => log.warn(`record ${uuid}: cannot save its start yet, the commit will`, err));
    const task: LiveTask = { state, artifact, recent: [], lastSegmentMs: clock.now(), discontinuityNext: false };
    this.live.set(segment.m3u8_url, task);
    log.info(`record ${uuid} of ${segment.m3u8_url}: begins`);
    void events.emit('record.begin', { vhost: segment.vhost, app: segment.app, stream: segment.stream, uuid });
    return task;
  }

  /** Adds a segment (of `size` bytes, checked) to the record: written ahead, copied, committed. */
  async add(task: LiveTask, segment: HlsSegmentEvent, size: number): Promise<void> {
    const { store, paths, clock } = this.deps;
    const tsid = randomUUID();
    const key = paths.segmentKey(task.state.uuid, tsid);
    const file: TsFile = { key, tsid, tsfile: key, url: segment.url, seqno: segment.seq_no, duration: segment.duration, size };
    if (segment.mtime) file.mtime = segment.mtime;
    // A leftover continues the publish that was cut; the next new segment still starts a new one.
    if (!segment.leftover) {
      if (task.discontinuityNext) file.discontinuity = true;
      task.discontinuityNext = false;
    }
    task.state.msgs.push({ msg: segment, tsfile: file });
    // Written ahead, so a crash during the copy is repaired at the next start. Without Redis the
    // copy still protects the segment from the engine's cleanup; the commit is retried later.
    await store.saveWorking(task.state).catch((err) => log.warn(`record ${task.state.uuid}: cannot write ahead`, err));
    // A failed copy is retried by the commit while the engine still has the file.
    await copySegment(segment.file, paths.absolute(key)).catch(() => undefined);
    await this.commitPending(task);
    task.lastSegmentMs = clock.now();
  }

  /**
   * Commits the task's written-ahead segments whose copy is in place, in order. A copy that a crash
   * or an error (a full disk) interrupted is redone while the engine's file still exists; until then
   * that segment and the ones after it wait, and the record shows why. A segment whose source is
   * gone, or is not MPEG-TS, is lost: counted, and the record says so. Memory changes only once
   * Redis has the commit, so a failed commit is simply tried again.
   */
  async commitPending(task: LiveTask): Promise<void> {
    const { store, paths, clock, counters } = this.deps;
    const { state, artifact } = task;
    if (state.msgs.length === 0) return;
    const committed: PendingSegment[] = [];
    let done = 0;
    let lost = 0;
    let problem: string | null = null;
    for (const pending of state.msgs) {
      const target = paths.absolute(pending.tsfile.key);
      if (!(await exists(target))) {
        try {
          pending.tsfile.size = await checkSegment(pending.msg.file);
          await copySegment(pending.msg.file, target);
        } catch (err) {
          if (!(err instanceof BadSegmentError) && (await exists(pending.msg.file))) {
            problem = `segment ${pending.msg.url} not recorded yet, retrying: ${errorMessage(err)}`;
            break;
          }
          problem = `segment ${pending.msg.url} lost: ${errorMessage(err)}`;
          lost += 1;
          done += 1;
          continue;
        }
      }
      committed.push(pending);
      done += 1;
    }
    if (problem && problem !== artifact.error) log.warn(`record ${state.uuid}: ${problem}`);
    const files = committed.map((p) => p.tsfile);
    const last = committed.at(-1)?.msg;
    const update = files.length ? isoNow(clock) : state.update;
    const nextState: WorkingTask = { ...state, msgs: state.msgs.slice(done), nn: state.nn + files.length, update };
    const nextArtifact: Artifact = {
      ...artifact,
      ...(last ? { vhost: last.vhost, app: last.app, stream: last.stream } : {}),
      nn: artifact.nn + files.length,
      duration: files.reduce((sum, f) => sum + f.duration, artifact.duration),
      size: files.reduce((sum, f) => sum + f.size, artifact.size),
      update,
    };
    if (lost) nextArtifact.lost = (artifact.lost ?? 0) + lost;
    // The last problem stays shown while segments wait or once one was lost; a drained backlog clears it.
    if (problem) nextArtifact.error = problem;
    else if (!nextArtifact.lost) delete nextArtifact.error;
    await store.commitSegments(nextState, nextArtifact, files);
    for (const f of files) this.deps.liveMp4?.append(state.uuid, paths.absolute(f.key), f.key);
    counters.segmentsLost += lost;
    task.state = nextState;
    task.artifact = nextArtifact;
    task.recent = [...task.recent, ...files.map((f) => segmentIdentity(f.url, f.seqno, f.size, f.mtime))].slice(-RECENT_SEGMENTS);
  }

  /**
   * Recording → finishing: commits what it can, folds the segments into the artifact and detaches
   * the record from its playlist, whose next segment starts a new record. Returns the artifact to finish.
   */
  async detach(task: LiveTask): Promise<Artifact> {
    const { store, clock } = this.deps;
    await this.commitPending(task);
    const { artifact } = task;
    artifact.files = await store.recordingFiles(artifact.uuid);
    artifact.status = 'finishing';
    artifact.update = isoNow(clock);
    await store.detach(task.state.m3u8_url, artifact);
    this.live.delete(task.state.m3u8_url);
    return artifact;
  }

  /**
   * A working task reloaded at start: the record goes on, its written-ahead segments are committed
   * (or copied again), and its next segment starts a discontinuity (the engine restarted too).
   */
  async resume(state: WorkingTask, artifact: Artifact): Promise<void> {
    const { store, paths, clock } = this.deps;
    const recent = await store.recordingFiles(state.uuid, RECENT_SEGMENTS);
    const task: LiveTask = {
      state,
      artifact: { ...artifact, status: 'recording', progress: true },
      recent: recent.map((f) => segmentIdentity(f.url, f.seqno, f.size, f.mtime)),
      lastSegmentMs: Date.parse(state.update) || clock.now(),
      discontinuityNext: true,
    };
    this.live.set(state.m3u8_url, task);
    await fs.promises.mkdir(paths.dir(state.uuid), { recursive: true });
    await removeTemporaries(paths.dir(state.uuid));
    const { liveMp4 } = this.deps;
    if (liveMp4 && artifact.size <= RESUME_FEED_MAX_BYTES) {
      // A new MP4 for the record, fed what it already holds: the one being written was cut.
      await liveMp4.open(state.uuid, paths.dir(state.uuid));
      for (const f of await store.recordingFiles(state.uuid)) liveMp4.append(state.uuid, paths.absolute(f.key), f.key);
    }
    if (state.msgs.length) log.info(`record ${state.uuid}: recovering ${state.msgs.length} segment(s) written ahead before a crash`);
    await this.commitPending(task);
    log.info(`record ${state.uuid} of ${state.m3u8_url}: resumed with ${task.artifact.nn} segments`);
  }
}
