// The slates of the restream slots (docs/architecture.md, "The slate"): each slot with a grace period
// gets its ffmpeg's stdin fed by a ContinuousFeed, and keeps its task planned while that feed lives —
// through a publisher drop, for up to the grace period — so the destination sees one unbroken stream.
// Slate clips are encoded once per stream format and kept for the stack's life.
import fs from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../../core/logger.js';
import { FlvParser } from '../../../core/media/flv-tags.js';
import type { LiveSource } from '../../../core/media/live-source.js';
import { runOnce } from '../../../core/process/run-once.js';
import { ContinuousFeed, type FeedState } from './continuous-feed.js';
import { clipOf, slateEncodeArgs, slateKey, type SlateClip, type SlateFormat } from './slate-clip.js';

const log = createLogger('slate');
const ENCODE_TIMEOUT_MS = 60_000;

export interface SlateSessionsOptions {
  readonly source: LiveSource;
  readonly ffmpeg: string;
  /** Where the encoded clips are written (the stack's temporary folder). */
  readonly dir: string;
  /** A picture the user chose for the slate, or null (a plain dark frame). */
  readonly image: () => string | null;
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
  attach(slot: string, app: string, stream: string, graceMs: number, stdin: NodeJS.WritableStream): void {
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

  private clip(format: SlateFormat): Promise<SlateClip> {
    const image = this.opts.image();
    const key = slateKey(format, image);
    let clip = this.clips.get(key);
    if (!clip) {
      clip = this.encode(format, image, key);
      this.clips.set(key, clip);
      // A failed encode is retried next time.
      clip.catch(() => this.clips.delete(key));
    }
    return clip;
  }

  private async encode(format: SlateFormat, image: string | null, key: string): Promise<SlateClip> {
    fs.mkdirSync(this.opts.dir, { recursive: true });
    const file = path.join(this.opts.dir, `slate-${key.replace(/[^a-z0-9@x.-]+/gi, '_')}.flv`);
    const res = await runOnce(this.opts.ffmpeg, slateEncodeArgs(format, image, file), { timeoutMs: ENCODE_TIMEOUT_MS });
    if (res.code !== 0) throw new Error(`ffmpeg could not encode the slate: ${res.stderr.trim().split('\n').at(-1) ?? `exit ${res.code}`}`);
    const fps = format.video?.fps ?? 25;
    return clipOf(new FlvParser().push(fs.readFileSync(file)), Math.round(1000 / fps));
  }
}
