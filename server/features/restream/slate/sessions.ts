// The slates of the restream slots (docs/architecture.md, "The slate"): each slot with a grace period
// gets its ffmpeg's stdin fed by a ContinuousFeed, and keeps its task planned while that feed lives —
// through a publisher drop, for up to the grace period — so the destination sees one unbroken stream.
// Slate clips are encoded once per stream format and look, and kept until the look changes.
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { createLogger } from '../../../core/logger.js';
import { FlvParser } from '../../../core/media/flv-tags.js';
import type { LiveSource } from '../../../core/media/live-source.js';
import { runOnce } from '../../../core/process/run-once.js';
import { ContinuousFeed, type FeedState } from './continuous-feed.js';
import { clipOf, slateEncodeArgs, slateKey, type SlateClip, type SlateFormat, type SlateLook } from './slate-clip.js';

const log = createLogger('slate');
const ENCODE_TIMEOUT_MS = 60_000;

export interface SlateSessionsOptions {
  readonly source: LiveSource;
  readonly ffmpeg: string;
  /** Where the encoded clips are written (the stack's temporary folder). */
  readonly dir: string;
  /** What the slate shows now: the user's picture or the default frame (slate/picture.ts). */
  readonly look: () => SlateLook;
  /** A feed ended by itself (the grace period ran out): its task group re-plans. */
  readonly onFeedEnded: (slot: string) => void;
}

interface Session {
  readonly app: string;
  readonly stream: string;
  feed: ContinuousFeed | null;
  state: FeedState;
}

export class SlateSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly clips = new Map<string, Promise<SlateClip>>();

  constructor(private readonly opts: SlateSessionsOptions) {}

  /** The stream a slot's feed is carrying (live, or the slate while its publisher is away), or null. */
  holding(slot: string): { app: string; stream: string; state: FeedState } | null {
    const s = this.sessions.get(slot);
    return s && s.feed && s.state !== 'ended' ? { app: s.app, stream: s.stream, state: s.state } : null;
  }

  /** Feeds one spawn of a slot's ffmpeg: replaces the slot's previous feed. */
  attach(slot: string, app: string, stream: string, graceMs: number, stdin: Writable): void {
    this.detach(slot);
    const session: Session = { app, stream, feed: null, state: 'waiting' };
    this.sessions.set(slot, session);
    // The process is gone (killed, or exited): its feed goes with it.
    stdin.once('close', () => {
      if (this.sessions.get(slot) === session) this.detach(slot);
    });
    session.feed = new ContinuousFeed({
      source: this.opts.source,
      app,
      stream,
      graceMs,
      slate: (format) => this.clip(format),
      write: (bytes) => void stdin.write(bytes),
      // Bounded (drop-behind.ts): a destination slower than the stream costs frames, not memory.
      queued: () => stdin.writableLength,
      onLagging: ({ droppedTags, episodes }) =>
        log.warn(
          `slot ${slot}: the destination is slower than ${app}/${stream}: media dropped up to the next keyframe (${episodes} time(s), ${droppedTags} tags so far)`,
        ),
      end: (reason) => {
        session.state = 'ended';
        stdin.end();
        if (this.sessions.get(slot) === session) {
          this.sessions.delete(slot);
          log.info(`slot ${slot}: feed of ${app}/${stream} ended: ${reason}`);
          this.opts.onFeedEnded(slot);
        }
      },
      onState: (state) => {
        session.state = state;
        if (state === 'slate') log.info(`slot ${slot}: ${app}/${stream} stopped publishing: the slate runs for up to ${graceMs} ms`);
        if (state === 'live' && session.feed) log.info(`slot ${slot}: ${app}/${stream} is live`);
      },
    });
  }

  /** Stops a slot's feed (its task stopped or changed). */
  detach(slot: string): void {
    const s = this.sessions.get(slot);
    if (!s) return;
    this.sessions.delete(slot);
    s.feed?.close('the task stopped');
  }

  /**
   * The look changed (a new picture, or back to the default): clips are encoded again, and every
   * running feed takes the new one for its next drop (one already on the slate keeps the old one).
   */
  renew(): void {
    this.clips.clear();
    for (const s of this.sessions.values()) s.feed?.renewSlate();
  }

  private clip(format: SlateFormat): Promise<SlateClip> {
    const look = this.opts.look();
    const key = slateKey(format, look.id);
    let clip = this.clips.get(key);
    if (!clip) {
      clip = this.encode(format, look, key);
      this.clips.set(key, clip);
      // A failed encode is retried next time.
      clip.catch(() => {
        if (this.clips.get(key) === clip) this.clips.delete(key);
      });
    }
    return clip;
  }

  private async encode(format: SlateFormat, look: SlateLook, key: string): Promise<SlateClip> {
    fs.mkdirSync(this.opts.dir, { recursive: true });
    const file = path.join(this.opts.dir, `slate-${key.replace(/[^a-z0-9@x.-]+/gi, '_')}.flv`);
    try {
      const res = await runOnce(this.opts.ffmpeg, slateEncodeArgs(format, look, file), { timeoutMs: ENCODE_TIMEOUT_MS });
      if (res.code !== 0)
        throw new Error(`ffmpeg could not encode the slate: ${res.stderr.trim().split('\n').at(-1) ?? `exit ${res.code}`}`);
      const fps = format.video?.fps ?? 25;
      return clipOf(new FlvParser().push(fs.readFileSync(file)), Math.round(1000 / fps));
    } finally {
      // The clip lives in memory from here.
      fs.rmSync(file, { force: true });
    }
  }
}
