// Where in-process consumers of a live stream (the LL-HLS segmenter) get its media: the FLV header,
// then every tag from the first one (metadata, AVC and AAC sequence headers, frames), then its end.
// Kept minimal on purpose: the engine's live tap implements it, and until then an ffmpeg pull
// (features/ll-hls/pull-source.ts) does.
import type { FlvHeader, FlvTag } from './flv-tags.js';

export interface LiveSink {
  /** The FLV file header (hasAudio / hasVideo), once, before any tag. */
  header(header: FlvHeader): void;
  /**
   * Tags in stream order. Their bytes never change once delivered, so a sink may keep them (the
   * segmenter holds frames until their part closes, as the GOP cache holds a GOP).
   */
  tags(tags: readonly FlvTag[]): void;
  /** The stream is gone for this subscriber (unpublished, or the source failed); nothing follows. */
  end(reason: string): void;
}

export interface LiveSource {
  /**
   * Delivers app/stream to `sink` from now on. A stream that is not live ends the sink with a
   * reason. Returns the unsubscribe function (idempotent; no `end` follows it).
   */
  subscribe(app: string, stream: string, sink: LiveSink): () => void;
}
