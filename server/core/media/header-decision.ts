// The FLV header (hasAudio, hasVideo) of a stream that arrives over RTMP, which has none: decided
// from the first tags. The live tap decides it for its GOP cache, and a consumer subscribed from a
// stream's first tag (the LL-HLS muxer) decides it the same way.
import { flvHeaderOf, type FlvHeader, type FlvTag } from './flv-tags.js';

/** Without video after this much audio, the stream is audio only (its FLV header says so). */
export const AUDIO_ONLY_AFTER_MS = 1000;
/** Tags held while the header is undecided; a stream that sends this many is decided anyway. */
export const MAX_UNDECIDED_TAGS = 500;

/** AMF0 object key as onMetaData encodes it: 16-bit length, then the name. */
function amfKey(name: string): Buffer {
  const b = Buffer.alloc(2 + name.length);
  b.writeUInt16BE(name.length, 0);
  b.write(name, 2, 'latin1');
  return b;
}
const VIDEO_CODEC_KEY = amfKey('videocodecid');
const AUDIO_CODEC_KEY = amfKey('audiocodecid');

/**
 * Decides the FLV header (hasAudio, hasVideo) from what arrives, since RTMP has no header: at the
 * first video keyframe (audio and its config come before it from every encoder we know, and the
 * metadata names the audio codec); audio only when the metadata names no video codec and audio
 * comes; and without metadata, audio only after a second of audio without video. Pure, so it is
 * unit-tested.
 */
export class HeaderDecision {
  private meta: FlvTag | null = null;
  private sawAudio = false;
  private sawVideo = false;
  private firstAudioTs: number | null = null;
  private seen = 0;

  /** Feeds one tag; returns the header once it is decided (then keep it: later calls repeat it). */
  add(tag: FlvTag): FlvHeader | null {
    this.seen += 1;
    if (tag.kind === 'script') this.meta = tag;
    if (tag.kind === 'audio') {
      this.sawAudio = true;
      this.firstAudioTs ??= tag.timestamp;
    }
    if (tag.kind === 'video') this.sawVideo = true;
    const declares = (key: Buffer) => this.meta?.bytes.includes(key) ?? false;
    const metaVideo = declares(VIDEO_CODEC_KEY);
    const metaAudio = declares(AUDIO_CODEC_KEY);
    if (tag.kind === 'video' && tag.keyframe && !tag.sequenceHeader) return flvHeaderOf(this.sawAudio || metaAudio, true);
    // Audio before any video: audio only when the metadata says so, or (no metadata naming video)
    // after a second. The engine holds video back until a keyframe, so audio alone for a while
    // is normal at the start of an A/V stream.
    if (tag.kind === 'audio' && !this.sawVideo && !metaVideo) {
      const waited = tag.timestamp - (this.firstAudioTs ?? tag.timestamp) >= AUDIO_ONLY_AFTER_MS;
      if (metaAudio || waited) return flvHeaderOf(true, false);
    }
    if (this.seen >= MAX_UNDECIDED_TAGS) return flvHeaderOf(this.sawAudio || metaAudio, this.sawVideo || metaVideo);
    return null;
  }
}
