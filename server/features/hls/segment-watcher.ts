// The on_hls emulation for engines without it (nginx-rtmp): the engine rewrites a stream's playlist
// (write .bak, rename) each time it closes a segment, and lists only closed segments, so re-reading
// the playlist on every change yields each finished segment exactly once, never a partial one.
// fs.watch is the fast path; a periodic scan catches whatever inotify drops. What an engine left
// behind when the stack crashed is announced first, as leftovers, so the recorder can complete the
// records those segments belong to.
import fs from 'node:fs';
import path from 'node:path';
import type { EventHub } from '../../core/events.js';
import { createLogger } from '../../core/logger.js';
import type { HlsOutput } from '../../engine/media-engine.js';
import { finishedSince, parseMediaPlaylist, type PlaylistSegment } from './playlist.js';

const log = createLogger('hls-watch');

interface StreamState {
  lastSeq: number | null;
  running: Promise<void> | null;
  again: boolean;
}

export interface HlsSegmentWatcherOptions {
  readonly output: HlsOutput;
  readonly apps: readonly string[];
  readonly vhost: string;
  readonly events: EventHub;
  readonly scanIntervalMs?: number;
  /**
   * Output of the engine that ran before this process, laid out like `output.root`: announced
   * before any new segment, then discarded.
   */
  readonly leftovers?: { readonly dirs: () => string[]; readonly discard: () => void };
}

export class HlsSegmentWatcher {
  private readonly streams = new Map<string, StreamState>();
  private readonly watchers: fs.FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private replaying: Promise<void> = Promise.resolve();

  constructor(private readonly opts: HlsSegmentWatcherOptions) {}

  /** Existing playlists are taken as already reported: a restart never re-emits old segments. */
  async start(): Promise<void> {
    this.stopped = false;
    this.replaying = this.replayLeftovers();
    for (const app of this.opts.apps) {
      const dir = this.appDir(app);
      fs.mkdirSync(dir, { recursive: true });
      for (const stream of this.playlistsIn(dir)) {
        const playlist = parseMediaPlaylist(await readOrEmpty(path.join(dir, `${stream}.m3u8`)));
        this.streams.set(key(app, stream), { lastSeq: playlist?.segments.at(-1)?.seq ?? null, running: null, again: false });
      }
      try {
        const watcher = fs.watch(dir, (_event, filename) => {
          const name = filename?.toString();
          if (name?.endsWith('.m3u8')) this.check(app, name.slice(0, -'.m3u8'.length));
          else if (!name) this.scan();
        });
        watcher.on('error', (err) => log.warn(`watching ${dir} failed, relying on the periodic scan`, err));
        this.watchers.push(watcher);
      } catch (err) {
        log.warn(`cannot watch ${dir}, relying on the periodic scan`, err);
      }
    }
    this.timer = setInterval(() => this.scan(), this.opts.scanIntervalMs ?? 2000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const w of this.watchers.splice(0)) w.close();
    await Promise.all([...this.streams.values()].map((s) => s.running));
    await this.replaying;
  }

  /** Every finished segment the previous engine listed; the recorder ignores those it already has. */
  private async replayLeftovers(): Promise<void> {
    const leftovers = this.opts.leftovers;
    if (!leftovers) return;
    try {
      for (const root of leftovers.dirs()) {
        for (const app of this.opts.apps) {
          const dir = path.join(root, app);
          for (const stream of this.playlistsIn(dir)) {
            const playlist = parseMediaPlaylist(await readOrEmpty(path.join(dir, `${stream}.m3u8`)));
            if (playlist?.segments.length) await this.announce(app, stream, dir, playlist.segments, true);
          }
        }
      }
    } catch (err) {
      log.warn('replaying the segments left by the previous engine failed', err);
    } finally {
      leftovers.discard();
    }
  }

  private appDir(app: string): string {
    return path.join(this.opts.output.root, app);
  }

  private playlistsIn(dir: string): string[] {
    try {
      return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.m3u8'))
        .map((f) => f.slice(0, -'.m3u8'.length));
    } catch {
      return [];
    }
  }

  private scan(): void {
    if (this.stopped) return;
    for (const app of this.opts.apps) {
      const present = new Set(this.playlistsIn(this.appDir(app)));
      for (const stream of present) this.check(app, stream);
      // A playlist removed by the engine's cleanup: the next one with that name starts afresh.
      for (const [k, state] of this.streams) {
        const [a, s] = splitKey(k);
        if (a === app && !present.has(s) && !state.running) this.streams.delete(k);
      }
    }
  }

  /** Serialised per stream: a change during a check runs one more check afterwards. */
  private check(app: string, stream: string): void {
    if (this.stopped) return;
    const k = key(app, stream);
    let state = this.streams.get(k);
    if (!state) {
      state = { lastSeq: null, running: null, again: false };
      this.streams.set(k, state);
    }
    if (state.running) {
      state.again = true;
      return;
    }
    const s = state;
    s.running = (async () => {
      do {
        s.again = false;
        try {
          await this.report(app, stream, s);
        } catch (err) {
          log.warn(`reading the playlist of ${app}/${stream} failed`, err);
        }
      } while (s.again && !this.stopped);
    })().finally(() => {
      s.running = null;
    });
  }

  private async report(app: string, stream: string, state: StreamState): Promise<void> {
    await this.replaying; // late segments first: a record keeps the engine's order
    const dir = this.appDir(app);
    const text = await readOrEmpty(path.join(dir, `${stream}.m3u8`));
    const playlist = parseMediaPlaylist(text);
    if (!playlist) return;
    const { segments, lastSeq } = finishedSince(state.lastSeq, playlist);
    state.lastSeq = lastSeq;
    await this.announce(app, stream, dir, segments, false);
  }

  private async announce(app: string, stream: string, dir: string, segments: readonly PlaylistSegment[], leftover: boolean): Promise<void> {
    const prefix = this.opts.output.segmentPrefix ? `${this.opts.output.segmentPrefix}/` : '';
    for (const seg of segments) {
      const name = path.basename(seg.uri);
      const file = path.join(dir, name);
      let stat: fs.Stats;
      try {
        stat = await fs.promises.stat(file);
      } catch {
        continue; // already cleaned up: nothing left to hand over
      }
      await this.opts.events.emit('hls.segment', {
        vhost: this.opts.vhost,
        app,
        stream,
        file,
        url: `${app}/${prefix}${name}`,
        m3u8_url: `${app}/${stream}.m3u8`,
        seq_no: seg.seq,
        duration: seg.duration,
        size: stat.size,
        mtime: Math.floor(stat.mtimeMs),
        ...(leftover ? { leftover } : {}),
      });
    }
  }
}

function key(app: string, stream: string): string {
  return `${app}/${stream}`;
}

function splitKey(k: string): [string, string] {
  const i = k.indexOf('/');
  return [k.slice(0, i), k.slice(i + 1)];
}

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch {
    return '';
  }
}
