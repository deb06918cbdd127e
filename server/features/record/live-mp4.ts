// The MP4 written while recording (docs/compatibility.md §5.8), so that finishing a record does
// not re-read its segments: one ffmpeg per record takes each committed segment on stdin as it is
// committed and streams a fragmented MP4 back (remux.ts liveMp4Args); the fragments are written
// to `index.mp4.live.tmp` after a reserved head, which is filled at the end (fmp4-file.ts
// buildHead). record/end then only waits for the last keyframe interval, writes the head and
// flushes what the disk does not have yet.
//
// It is a shortcut, never the only copy: the segments stay the record. Whatever goes wrong (ffmpeg
// dies, a write fails, a segment was not fed, the head cannot index the fragments) makes finish()
// throw, and the finisher remuxes the segments as before. A record resumed after a restart gets a
// new writer fed with every segment committed so far.
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { STOP_ORDER, type Supervisor } from '../../core/process/supervisor.js';
import { BoxSplitter, buildHead, fragmentRuns, initTracks, type Fragment, type TrackInfo } from './fmp4-file.js';
import { liveMp4Args } from './remux.js';

const log = createLogger('record');

/** Room left in the head for the sidx boxes: about 2,700 references with audio and video. */
export const SIDX_ROOM = 64 * 1024;
/** Flushed to disk every so often, so the end has little left to flush. */
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;
/** Fragments waiting for the disk past this pause ffmpeg's output. */
const MAX_PENDING_BYTES = 32 * 1024 * 1024;
/** At the end ffmpeg has little left to take and only the last fragment to write: past this it is hung. */
const EXIT_TIMEOUT_MS = 60_000;

export interface LiveMp4Deps {
  supervisor: Supervisor;
  ffmpeg: string;
  /**
   * Writers at once (config RECORD_MP4_WRITERS): each is an ffmpeg of about 18 MB PSS, the cost
   * the one-box budget counts (README, Performance, Load); a record beyond it is remuxed at its end.
   */
  maxWriters: number;
}

/** The temporary name of a record's MP4 while it is written (removed with the other temporaries). */
export function liveMp4Path(dir: string): string {
  return path.join(dir, 'index.mp4.live.tmp');
}

class LiveMp4 {
  private readonly name: string;
  private stdin: NodeJS.WritableStream | null = null;
  private readonly splitter = new BoxSplitter();
  private fh: fs.promises.FileHandle | null = null;
  private ftyp: Buffer | null = null;
  private moov: Buffer | null = null;
  private tracks: TrackInfo[] = [];
  private reserve = 0;
  private moof: Buffer | null = null;
  private readonly fragments: Fragment[] = [];
  private position = 0;
  private unsynced = 0;
  private pendingBytes = 0;
  private failure: string | null = null;
  /** Segment keys fed, in order: finish() checks they are the record's. */
  private readonly fed: string[] = [];
  private feeding: Promise<void> = Promise.resolve();
  private writing: Promise<void> = Promise.resolve();
  private exitCode: number | null = null;
  private readonly exited: Promise<void>;
  private markExited: () => void = () => undefined;
  private readonly outputEnded: Promise<void>;
  private markOutputEnded: () => void = () => undefined;
  private outputDone = false;

  constructor(
    private readonly deps: LiveMp4Deps,
    readonly uuid: string,
    readonly file: string,
  ) {
    this.name = `record-mp4-${uuid}`;
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    this.outputEnded = new Promise((resolve) => (this.markOutputEnded = resolve));
  }

  async start(): Promise<void> {
    this.fh = await fs.promises.open(this.file, 'w');
    const child = this.deps.supervisor.add({
      name: this.name,
      command: this.deps.ffmpeg,
      args: liveMp4Args(),
      restart: 'never',
      stopOrder: STOP_ORDER.task,
      stdin: (stream) => (this.stdin = stream),
      stdout: (stream) => this.read(stream),
      onExit: (exit) => {
        this.exitCode = exit.code;
        if (exit.code !== 0) this.fail(`ffmpeg ${exit.reason}`);
        this.markExited();
      },
    });
    child.start();
  }

  /** Feeds a committed segment, after the ones before it. */
  append(file: string, key: string): void {
    this.fed.push(key);
    this.feeding = this.feeding.then(async () => {
      if (this.failure || !this.stdin) return;
      const stdin = this.stdin;
      try {
        // One read and one write per segment: half the CPU of a stream pipeline (measured), and
        // a pipeline without `end` leaves its listeners on stdin, one set per segment.
        const data = await fs.promises.readFile(file);
        // A gone ffmpeg never drains its pipe: its exit ends the wait.
        if (!stdin.write(data)) await Promise.race([once(stdin, 'drain').catch(() => undefined), this.exited]);
      } catch (err) {
        this.fail(`segment ${key} not fed: ${errorMessage(err)}`);
      }
    });
  }

  /**
   * Ends the input and completes the file: returns its path once it is whole and on disk. Throws
   * when it is not the record's segments `keys`, in order, made into one MP4.
   */
  async finish(keys: readonly string[]): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<void>((resolve) => (timer = setTimeout(resolve, EXIT_TIMEOUT_MS)));
    const ended = this.feeding.then(() => {
      this.stdin?.end();
      return Promise.all([this.exited, this.outputEnded]);
    });
    await Promise.race([ended, hung]);
    clearTimeout(timer);
    if (this.exitCode === null || !this.outputDone) this.fail(`ffmpeg did not take its input and end within ${EXIT_TIMEOUT_MS / 1000} s`);
    await this.writing;
    await this.deps.supervisor.remove(this.name);
    if (this.failure) throw new Error(this.failure);
    if (keys.length !== this.fed.length || keys.some((k, i) => k !== this.fed[i])) {
      throw new Error(`it holds ${this.fed.length} segments, the record ${keys.length}`);
    }
    if (this.splitter.pending) throw new Error('ffmpeg ended inside a box');
    const head = this.ftyp && this.moov ? buildHead(this.ftyp, this.moov, this.tracks, this.fragments, this.reserve) : null;
    if (!head) throw new Error('its fragments cannot be indexed');
    const fh = this.fh as fs.promises.FileHandle;
    await fh.write(head, 0, head.length, 0);
    await fh.datasync();
    await fh.close();
    this.fh = null;
    return this.file;
  }

  /** Stops ffmpeg and removes the file. */
  async discard(): Promise<void> {
    this.fail('discarded');
    await this.deps.supervisor.remove(this.name);
    await this.writing;
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
    await fs.promises.rm(this.file, { force: true });
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = reason;
    // Its output is of no use any more: it stops now rather than at the end of the record.
    void this.deps.supervisor.remove(this.name);
  }

  private read(stream: NodeJS.ReadableStream): void {
    stream.on('data', (chunk: Buffer) => {
      if (this.failure) return;
      try {
        for (const box of this.splitter.push(chunk)) this.take(box, stream);
      } catch (err) {
        this.fail(`ffmpeg's output: ${errorMessage(err)}`);
      }
    });
    const ended = () => {
      this.outputDone = true;
      this.markOutputEnded();
    };
    stream.on('end', ended);
    stream.on('close', ended);
  }

  /** One top-level box of ffmpeg's output: kept (ftyp, moov), written (moof+mdat) or dropped (mfra). */
  private take(box: Buffer, stream: NodeJS.ReadableStream): void {
    const type = box.toString('latin1', 4, 8);
    if (type === 'ftyp' && !this.ftyp) this.ftyp = Buffer.from(box);
    else if (type === 'moov' && this.ftyp && !this.moov) {
      this.moov = Buffer.from(box);
      this.tracks = initTracks(this.moov);
      this.reserve = this.ftyp.length + this.moov.length + SIDX_ROOM;
      this.position = this.reserve;
    } else if (type === 'moof' && this.moov && !this.moof) this.moof = Buffer.from(box);
    else if (type === 'mdat' && this.moof) {
      const moof = this.moof;
      this.moof = null;
      this.fragments.push({ size: moof.length + box.length, runs: fragmentRuns(moof, this.tracks) });
      this.write([moof, box], stream);
    } else if (type !== 'mfra') {
      // ffmpeg's random-access index at the end points into its own output, not our file: dropped.
      throw new Error(`unexpected ${type} box`);
    }
  }

  private write(parts: Buffer[], stream: NodeJS.ReadableStream): void {
    const bytes = parts.reduce((s, b) => s + b.length, 0);
    const at = this.position;
    this.position += bytes;
    this.pendingBytes += bytes;
    if (this.pendingBytes > MAX_PENDING_BYTES) stream.pause();
    this.writing = this.writing.then(async () => {
      try {
        if (this.failure || !this.fh) return;
        await this.fh.writev(parts, at);
        this.unsynced += bytes;
        if (this.unsynced >= SYNC_EVERY_BYTES) {
          this.unsynced = 0;
          await this.fh.datasync();
        }
      } catch (err) {
        this.fail(`cannot write ${this.file}: ${errorMessage(err)}`);
      } finally {
        this.pendingBytes -= bytes;
        if (this.pendingBytes <= MAX_PENDING_BYTES / 2 && stream.isPaused()) stream.resume();
      }
    });
  }
}

/** The MP4 of each record being recorded, by record uuid. */
export class LiveMp4s {
  private readonly writers = new Map<string, LiveMp4>();

  constructor(private readonly deps: LiveMp4Deps) {}

  /** Starts a record's MP4; without it (it could not start) the record is remuxed at the end. */
  async open(uuid: string, dir: string): Promise<void> {
    await this.discard(uuid);
    if (this.writers.size >= this.deps.maxWriters) {
      log.info(
        `record ${uuid}: ${this.deps.maxWriters} MP4s are written while recording already (RECORD_MP4_WRITERS); this one is remuxed at its end`,
      );
      return;
    }
    const writer = new LiveMp4(this.deps, uuid, liveMp4Path(dir));
    try {
      await writer.start();
      this.writers.set(uuid, writer);
    } catch (err) {
      log.warn(`record ${uuid}: no MP4 written while recording, it will be remuxed at the end`, err);
      await writer.discard().catch(() => undefined);
    }
  }

  append(uuid: string, file: string, key: string): void {
    this.writers.get(uuid)?.append(file, key);
  }

  /** Completes a record's MP4 (see LiveMp4.finish); null when it has none. */
  async finish(uuid: string, keys: readonly string[]): Promise<string | null> {
    const writer = this.writers.get(uuid);
    if (!writer) return null;
    this.writers.delete(uuid);
    try {
      return await writer.finish(keys);
    } catch (err) {
      await writer.discard().catch(() => undefined);
      throw err;
    }
  }

  async discard(uuid: string): Promise<void> {
    const writer = this.writers.get(uuid);
    this.writers.delete(uuid);
    await writer?.discard();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.writers.keys()].map((uuid) => this.discard(uuid)));
  }
}
