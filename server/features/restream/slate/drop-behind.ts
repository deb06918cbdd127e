// Backpressure of a ContinuousFeed (docs/architecture.md, "The slate"): the feed writes into its
// ffmpeg's stdin as the stream arrives, and when the destination is slower than the stream (a thin
// uplink, a platform that stalls) Node would queue the bytes without limit. The policy mirrors the
// HTTP-FLV players' (features/flv/flv-relay.ts) with the difference that a feed is not dropped —
// its destination would see a reconnect — but skips media: past `maxQueuedBytes` queued, media
// tags are dropped until the next video keyframe (any audio tag for a stream without video) that
// fits under half the limit, so the destination resumes on a picture it can decode, with time
// for the queue to drain. Codec configurations and metadata always pass: what follows needs them.
import type { FlvTag } from '../../../core/media/flv-tags.js';

/** As much as an HTTP-FLV player may fall behind (features/flv/flv-gateway.ts): seconds of any stream. */
export const FEED_QUEUE_BYTES = 4 * 1024 * 1024;

export class DropBehind {
  private dropping = false;
  /** Media tags dropped so far, and their bytes. */
  droppedTags = 0;
  droppedBytes = 0;
  /** Times the feed started dropping. */
  episodes = 0;

  constructor(private readonly maxQueuedBytes = FEED_QUEUE_BYTES) {}

  get isDropping(): boolean {
    return this.dropping;
  }

  /** The tags to write now, given the bytes still queued for the destination and whether the stream has video. */
  admit(tags: readonly FlvTag[], queued: number, hasVideo: boolean): FlvTag[] {
    const out: FlvTag[] = [];
    let pending = queued;
    for (const t of tags) {
      const size = t.bytes.length;
      if (t.sequenceHeader || t.kind === 'script') {
        out.push(t);
        pending += size;
        continue;
      }
      if (this.dropping) {
        const resumesHere = hasVideo ? t.kind === 'video' && t.keyframe : t.kind === 'audio';
        if (!resumesHere || pending + size > this.maxQueuedBytes / 2) {
          this.drop(size);
          continue;
        }
        this.dropping = false;
      } else if (pending + size > this.maxQueuedBytes) {
        this.dropping = true;
        this.episodes += 1;
        this.drop(size);
        continue;
      }
      out.push(t);
      pending += size;
    }
    return out;
  }

  private drop(size: number): void {
    this.droppedTags += 1;
    this.droppedBytes += size;
  }
}
