// The MP4 written while recording (docs/compatibility.md §5.8), so that finishing a record does
// not re-read its segments: each committed segment is transmuxed as it is committed, by mux.js's
// TS→fMP4 transmuxer (videojs, Apache-2.0; already the stack's LL-HLS box writer,
// server/core/media/fmp4.ts) driven by live-mp4-muxer.ts, into fragments written to
// `index.mp4.live.tmp` after a reserved head, which is filled at the end (fmp4-file.ts buildHead).
// record/end then only flushes the last keyframe interval, writes the head and syncs what the
// disk does not have yet.
//
// The transmuxing runs in one worker thread shared by all writers (live-mp4-worker.ts): on the
// stack's thread it stalled the event loop that serves HTTP-FLV, LL-HLS and the publish hook about
// 20 ms per 2.5 Mbit/s segment per writer (README, Performance, Recording). This thread only reads
// segments, hands them over (transferred, not copied) and writes what comes back. The worker is
// started with the first writer and stopped with the last (it costs memory when idle).
//
// It is a shortcut, never the only copy: the segments stay the record. Whatever it cannot carry
// (see live-mp4-muxer.ts), a failed write, a segment not fed, or the worker failing or dying makes
// finish() throw, and the finisher remuxes the segments with ffmpeg as before; a dead worker is
// replaced for the writers opened after it. A record resumed after a restart gets a new writer fed
// with every segment committed so far.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { errorMessage } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { ownBuffer, transferList, type MuxReply, type MuxRequest } from './live-mp4-messages.js';

const log = createLogger('record');

/** Flushed to disk every so often, so the end has little left to flush. */
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

export interface LiveMp4Deps {
  /**
   * Writers at once (config RECORD_MP4_WRITERS). Each costs the worker thread about 0.3 % of a core for
   * a 2.5 Mbit/s stream and holds one keyframe interval of media there, 2–3 MB (README,
   * Performance, Recording); the stack's thread only reads and writes. A record beyond it is
   * remuxed at its end.
   */
  maxWriters: number;
}

/** The temporary name of a record's MP4 while it is written (removed with the other temporaries). */
export function liveMp4Path(dir: string): string {
  return path.join(dir, 'index.mp4.live.tmp');
}

type Request = MuxRequest extends infer R ? (R extends unknown ? Omit<R, 'seq'> : never) : never;

/** The worker thread the writers share: one request, one reply, matched by sequence number. */
class MuxWorker {
  private readonly worker = new Worker(new URL('./live-mp4-worker.js', import.meta.url), { name: 'record-mp4' });
  private readonly pending = new Map<number, { resolve: (reply: MuxReply) => void; reject: (err: Error) => void }>();
  private seq = 0;
  /** Why it cannot take requests any more (it failed, exited or was stopped). */
  dead: string | null = null;
  /** Writers using it: stopped when the last is done. */
  users = 0;

  constructor() {
    // Kept referenced only while a reply is awaited: an idle worker does not hold the process.
    this.worker.unref();
    this.worker.on('message', (reply: MuxReply) => {
      const waiting = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      if (this.pending.size === 0) this.worker.unref();
      if (!waiting) return;
      if (reply.error !== undefined) waiting.reject(new Error(reply.error));
      else waiting.resolve(reply);
    });
    this.worker.on('error', (err) => this.die(`the transmuxing worker failed: ${errorMessage(err)}`));
    this.worker.on('messageerror', (err) => this.die(`the transmuxing worker's reply could not be read: ${errorMessage(err)}`));
    this.worker.on('exit', (code) => this.die(`the transmuxing worker exited (code ${code})`));
  }

  request(message: Request, transfer: ArrayBuffer[] = []): Promise<MuxReply> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...message, seq }, transfer);
    });
  }

  async stop(): Promise<void> {
    this.die('the transmuxing worker was stopped');
    await this.worker.terminate();
  }

  private die(reason: string): void {
    if (this.dead) return;
    this.dead = reason;
    if (reason !== 'the transmuxing worker was stopped') log.warn(`record: ${reason}; its records' MP4s are remuxed at their end`);
    for (const { reject } of this.pending.values()) reject(new Error(reason));
    this.pending.clear();
    this.worker.unref();
  }
}

class LiveMp4 {
  private fh: fs.promises.FileHandle | null = null;
  private position = 0;
  private unsynced = 0;
  private failure: string | null = null;
  /** Segment keys fed, in order: finish() checks they are the record's. */
  private readonly fed: string[] = [];
  private feeding: Promise<void> = Promise.resolve();

  constructor(
    readonly uuid: string,
    readonly file: string,
    readonly worker: MuxWorker,
  ) {}

  async start(): Promise<void> {
    this.fh = await fs.promises.open(this.file, 'w');
  }

  /** Feeds a committed segment, after the ones before it. */
  append(file: string, key: string): void {
    this.fed.push(key);
    this.feeding = this.feeding.then(async () => {
      if (this.failure) return;
      try {
        const ts = ownBuffer(await fs.promises.readFile(file));
        await this.write(await this.worker.request({ id: this.uuid, op: 'push', ts }, transferList([ts])));
      } catch (err) {
        this.fail(`segment ${key} not written: ${errorMessage(err)}`);
      }
    });
  }

  /**
   * Completes the file: returns its path once it is whole and on disk. Throws when it is not the
   * record's segments `keys`, in order, made into one MP4.
   */
  async finish(keys: readonly string[]): Promise<string> {
    await this.feeding;
    let head: Uint8Array | undefined;
    if (!this.failure) {
      try {
        const reply = await this.worker.request({ id: this.uuid, op: 'finish' });
        await this.write(reply);
        head = reply.head;
      } catch (err) {
        this.fail(`the last keyframe interval not written: ${errorMessage(err)}`);
      }
    }
    if (this.failure) throw new Error(this.failure);
    if (keys.length !== this.fed.length || keys.some((k, i) => k !== this.fed[i])) {
      throw new Error(`it holds ${this.fed.length} segments, the record ${keys.length}`);
    }
    if (!head) throw new Error('its fragments cannot be indexed');
    const fh = this.fh as fs.promises.FileHandle;
    await fh.write(head, 0, head.length, 0);
    await fh.datasync();
    await fh.close();
    this.fh = null;
    return this.file;
  }

  /** Stops and removes the file. */
  async discard(): Promise<void> {
    this.fail('discarded');
    await this.feeding;
    // The worker forgets this writer (nothing to forget when it is gone).
    await this.worker.request({ id: this.uuid, op: 'close' }).catch(() => undefined);
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
    await fs.promises.rm(this.file, { force: true });
  }

  private fail(reason: string): void {
    this.failure ??= reason;
  }

  /** Writes the fragments the worker gave after those before them (the first after the head's reserve). */
  private async write(reply: MuxReply): Promise<void> {
    const parts = reply.parts ?? [];
    if (this.position === 0 && reply.reserve) this.position = reply.reserve;
    if (this.failure || !this.fh || parts.length === 0) return;
    const bytes = parts.reduce((s, b) => s + b.length, 0);
    try {
      await this.fh.writev(parts, this.position);
      this.position += bytes;
      this.unsynced += bytes;
      if (this.unsynced >= SYNC_EVERY_BYTES) {
        this.unsynced = 0;
        await this.fh.datasync();
      }
    } catch (err) {
      this.fail(`cannot write ${this.file}: ${errorMessage(err)}`);
    }
  }
}

/** The MP4 of each record being recorded, by record uuid. */
export class LiveMp4s {
  private readonly writers = new Map<string, LiveMp4>();
  /** The worker new writers get; replaced when it died. */
  private worker: MuxWorker | null = null;

  constructor(private readonly deps: LiveMp4Deps) {}

  /** Records whose MP4 is being written (srs_stack_record_mp4_writers). */
  get size(): number {
    return this.writers.size;
  }

  /** Starts a record's MP4; without it (it could not start) the record is remuxed at the end. */
  async open(uuid: string, dir: string): Promise<void> {
    await this.discard(uuid);
    if (this.writers.size >= this.deps.maxWriters) {
      log.info(
        `record ${uuid}: ${this.deps.maxWriters} MP4s are written while recording already (RECORD_MP4_WRITERS); this one is remuxed at its end`,
      );
      return;
    }
    const writer = new LiveMp4(uuid, liveMp4Path(dir), this.acquire());
    try {
      await writer.start();
      this.writers.set(uuid, writer);
    } catch (err) {
      log.warn(`record ${uuid}: no MP4 written while recording, it will be remuxed at the end`, err);
      await this.release(writer, () => writer.discard().catch(() => undefined));
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
    return await this.release(writer, async () => {
      try {
        return await writer.finish(keys);
      } catch (err) {
        await writer.discard().catch(() => undefined);
        throw err;
      }
    });
  }

  async discard(uuid: string): Promise<void> {
    const writer = this.writers.get(uuid);
    this.writers.delete(uuid);
    if (writer) await this.release(writer, () => writer.discard());
  }

  async stop(): Promise<void> {
    await Promise.all([...this.writers.keys()].map((uuid) => this.discard(uuid)));
    await this.worker?.stop();
    this.worker = null;
  }

  /**
   * Stops the writers' worker thread as if it had died (its writers' finish() throws; the next
   * writer gets a new one). For the tests of that fallback.
   */
  async killWorker(): Promise<void> {
    await this.worker?.stop();
  }

  /** The worker for a new writer: the running one, or a new one when there is none or it died. */
  private acquire(): MuxWorker {
    if (!this.worker || this.worker.dead) this.worker = new MuxWorker();
    this.worker.users++;
    return this.worker;
  }

  /** Runs a writer's last step, then stops its worker when no writer uses it any more. */
  private async release<T>(writer: LiveMp4, last: () => Promise<T>): Promise<T> {
    try {
      return await last();
    } finally {
      const worker = writer.worker;
      if (--worker.users === 0) {
        if (this.worker === worker) this.worker = null;
        await worker.stop();
      }
    }
  }
}
