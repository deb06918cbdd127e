// What a player joining a live FLV stream needs to show a picture at once: the file header, the
// latest metadata and codec configurations, then every tag since the last video keyframe.
import type { FlvHeader, FlvTag } from './flv-tags.js';

/** A GOP this large means keyframes stopped coming; hold no more and let joiners wait for one. */
export const DEFAULT_MAX_GOP_BYTES = 16 * 1024 * 1024;

export class GopCache {
  private header: FlvHeader | null = null;
  private metadata: FlvTag | null = null;
  private videoConfig: FlvTag | null = null;
  private audioConfig: FlvTag | null = null;
  private gop: FlvTag[] = [];
  private gopBytes = 0;
  /** True once the cached GOP starts on a keyframe (or the stream has no video). */
  private startable = false;

  constructor(private readonly maxGopBytes = DEFAULT_MAX_GOP_BYTES) {}

  setHeader(header: FlvHeader): void {
    this.header = header;
    this.startable = !header.hasVideo;
  }

  /** Bytes currently held for the GOP (without header and configs). */
  get bytes(): number {
    return this.gopBytes;
  }

  add(tag: FlvTag): void {
    if (tag.kind === 'script') {
      this.metadata = tag;
      return;
    }
    if (tag.sequenceHeader) {
      if (tag.kind === 'video') {
        // New decoder configuration: frames cached under the old one must not reach new players.
        this.videoConfig = tag;
        this.dropGop(this.header?.hasVideo ?? true);
      } else {
        this.audioConfig = tag;
      }
      return;
    }
    if (tag.kind === 'video' && tag.keyframe) {
      this.gop = [tag];
      this.gopBytes = tag.bytes.length;
      this.startable = true;
      return;
    }
    // Audio only: every frame is a start point and nothing needs caching beyond the config.
    if (!this.startable || !this.header?.hasVideo) return;
    if (this.gopBytes + tag.bytes.length > this.maxGopBytes) {
      this.dropGop(true);
      return;
    }
    this.gop.push(tag);
    this.gopBytes += tag.bytes.length;
  }

  /** The burst for a new player, or null while no keyframe is cached yet. */
  startBurst(): Buffer[] | null {
    const start = this.startTags();
    return start && [start.header.bytes, ...start.tags.map((t) => t.bytes)];
  }

  /**
   * The same burst as tags, for a consumer that needs to know what each is (a muxer): metadata,
   * codec configurations, then the GOP from its keyframe. null while no keyframe is cached yet.
   */
  startTags(): { header: FlvHeader; tags: FlvTag[] } | null {
    if (!this.header || !this.startable) return null;
    const tags: FlvTag[] = [];
    for (const t of [this.metadata, this.videoConfig, this.audioConfig]) if (t) tags.push(t);
    tags.push(...this.gop);
    return { header: this.header, tags };
  }

  private dropGop(waitForKeyframe: boolean): void {
    this.gop = [];
    this.gopBytes = 0;
    if (waitForKeyframe) this.startable = false;
  }
}
