// What a player joining a live FLV stream needs to show a picture at once: the file header, the
// latest metadata and codec configurations, then every tag since the last video keyframe.
import type { FlvHeader, FlvTag } from './flv-tags.js';

/** A GOP this large means keyframes stopped coming; hold no more and let joiners wait for one. */
export const DEFAULT_MAX_GOP_BYTES = 16 * 1024 * 1024;

export class GopCache {
  private header: FlvHeader | null = null;
  private metadata: Buffer | null = null;
  private videoConfig: Buffer | null = null;
  private audioConfig: Buffer | null = null;
  private gop: Buffer[] = [];
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
      this.metadata = tag.bytes;
      return;
    }
    if (tag.sequenceHeader) {
      if (tag.kind === 'video') {
        // New decoder configuration: frames cached under the old one must not reach new players.
        this.videoConfig = tag.bytes;
        this.dropGop(this.header?.hasVideo ?? true);
      } else {
        this.audioConfig = tag.bytes;
      }
      return;
    }
    if (tag.kind === 'video' && tag.keyframe) {
      this.gop = [tag.bytes];
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
    this.gop.push(tag.bytes);
    this.gopBytes += tag.bytes.length;
  }

  /** The burst for a new player, or null while no keyframe is cached yet. */
  startBurst(): Buffer[] | null {
    if (!this.header || !this.startable) return null;
    const out = [this.header.bytes];
    for (const b of [this.metadata, this.videoConfig, this.audioConfig]) if (b) out.push(b);
    out.push(...this.gop);
    return out;
  }

  private dropGop(waitForKeyframe: boolean): void {
    this.gop = [];
    this.gopBytes = 0;
    if (waitForKeyframe) this.startable = false;
  }
}
