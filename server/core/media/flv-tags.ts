// Incremental FLV parser: bytes in (as they come off a pipe, split anywhere), whole tags out, each
// with what the relay needs to start a player cleanly — keyframes and codec sequence headers.
// Tags are zero-copy views of the input chunks whenever a tag lies inside one chunk.

export const FLV_HEADER_BYTES = 9;
const TAG_HEADER_BYTES = 11;
const PREVIOUS_TAG_SIZE_BYTES = 4;
/** FLV allows 16 MB; a live frame above 8 MB means a corrupt length, not a huge picture. */
export const MAX_TAG_DATA_BYTES = 8 * 1024 * 1024;

export type TagKind = 'audio' | 'video' | 'script';

const KIND_BY_TYPE: Record<number, TagKind> = { 8: 'audio', 9: 'video', 18: 'script' };

export interface FlvHeader {
  readonly version: number;
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
  /** The 9-byte header plus PreviousTagSize0: what every player must receive first. */
  readonly bytes: Buffer;
}

export interface FlvTag {
  readonly kind: TagKind;
  /** Milliseconds, 32-bit with the extension byte. */
  readonly timestamp: number;
  readonly dataSize: number;
  /** Video: a frame a decoder can start from (frame type 1). */
  readonly keyframe: boolean;
  /** AVC/HEVC decoder configuration or AAC AudioSpecificConfig (also Enhanced RTMP SequenceStart). */
  readonly sequenceHeader: boolean;
  /** Whole tag: 11-byte header, data and the trailing PreviousTagSize. */
  readonly bytes: Buffer;
}

export class FlvFormatError extends Error {
  override readonly name = 'FlvFormatError';
}

/** Reads the 9-byte file header; throws unless it starts with "FLV". */
export function parseFlvHeader(buf: Buffer): Omit<FlvHeader, 'bytes'> & { dataOffset: number } {
  if (buf.length < FLV_HEADER_BYTES) throw new FlvFormatError(`FLV header needs ${FLV_HEADER_BYTES} bytes, got ${buf.length}`);
  if (buf[0] !== 0x46 || buf[1] !== 0x4c || buf[2] !== 0x56) throw new FlvFormatError('not FLV: the signature "FLV" is missing');
  const flags = buf[4] as number;
  const dataOffset = buf.readUInt32BE(5);
  if (dataOffset < FLV_HEADER_BYTES || dataOffset > 1024) throw new FlvFormatError(`FLV header: implausible data offset ${dataOffset}`);
  return { version: buf[3] as number, hasAudio: (flags & 0x04) !== 0, hasVideo: (flags & 0x01) !== 0, dataOffset };
}

/** Classifies a tag from its type and first payload bytes. */
export function describeTag(typeByte: number, data: Buffer): { kind: TagKind | null; keyframe: boolean; sequenceHeader: boolean } {
  const kind = KIND_BY_TYPE[typeByte & 0x1f] ?? null;
  const b0 = data[0];
  if (kind === 'video' && b0 !== undefined) {
    if (b0 & 0x80) {
      // Enhanced RTMP (FourCC codecs): [isExHeader:1][frameType:3][packetType:4]
      const frameType = (b0 >> 4) & 0x07;
      return { kind, keyframe: frameType === 1, sequenceHeader: (b0 & 0x0f) === 0 };
    }
    const frameType = b0 >> 4;
    const codec = b0 & 0x0f;
    // AVC (7) and the widespread HEVC-in-FLV extension (12) carry a packet type: 0 = config record.
    const sequenceHeader = (codec === 7 || codec === 12) && data[1] === 0;
    return { kind, keyframe: frameType === 1, sequenceHeader };
  }
  if (kind === 'audio' && b0 !== undefined) {
    const soundFormat = b0 >> 4;
    return { kind, keyframe: false, sequenceHeader: soundFormat === 10 && data[1] === 0 };
  }
  return { kind, keyframe: false, sequenceHeader: false };
}

/**
 * Push chunks, get tags. Throws FlvFormatError on corruption (bad signature, a PreviousTagSize that
 * does not match, an oversized tag); the caller then drops the stream, since resynchronising a
 * live remux is not worth the risk of feeding players garbage.
 */
export class FlvParser {
  private pending: Buffer = Buffer.alloc(0);
  private headerInfo: FlvHeader | null = null;
  private skipBytes = 0;

  get header(): FlvHeader | null {
    return this.headerInfo;
  }

  push(chunk: Buffer): FlvTag[] {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const tags: FlvTag[] = [];
    let offset = 0;
    if (!this.headerInfo) {
      if (buf.length < FLV_HEADER_BYTES) {
        this.pending = Buffer.from(buf);
        return tags;
      }
      const h = parseFlvHeader(buf);
      // Players expect the canonical 9-byte header followed by a zero PreviousTagSize0.
      const bytes = Buffer.alloc(FLV_HEADER_BYTES + PREVIOUS_TAG_SIZE_BYTES);
      buf.copy(bytes, 0, 0, FLV_HEADER_BYTES);
      bytes.writeUInt32BE(FLV_HEADER_BYTES, 5);
      this.headerInfo = { version: h.version, hasAudio: h.hasAudio, hasVideo: h.hasVideo, bytes };
      this.skipBytes = h.dataOffset - FLV_HEADER_BYTES + PREVIOUS_TAG_SIZE_BYTES;
      offset = FLV_HEADER_BYTES;
    }
    if (this.skipBytes) {
      const skip = Math.min(this.skipBytes, buf.length - offset);
      offset += skip;
      this.skipBytes -= skip;
    }
    while (buf.length - offset >= TAG_HEADER_BYTES) {
      const typeByte = buf[offset] as number;
      const dataSize = buf.readUIntBE(offset + 1, 3);
      if (dataSize > MAX_TAG_DATA_BYTES) throw new FlvFormatError(`FLV tag of ${dataSize} bytes: stream corrupt`);
      const total = TAG_HEADER_BYTES + dataSize + PREVIOUS_TAG_SIZE_BYTES;
      if (buf.length - offset < total) break;
      const previousTagSize = buf.readUInt32BE(offset + TAG_HEADER_BYTES + dataSize);
      if (previousTagSize !== TAG_HEADER_BYTES + dataSize) {
        throw new FlvFormatError(`FLV PreviousTagSize ${previousTagSize} != ${TAG_HEADER_BYTES + dataSize}: stream corrupt`);
      }
      const bytes = buf.subarray(offset, offset + total);
      offset += total;
      const info = describeTag(typeByte, bytes.subarray(TAG_HEADER_BYTES, TAG_HEADER_BYTES + dataSize));
      if (!info.kind) continue; // unknown tag types are legal to skip
      const timestamp = (bytes.readUIntBE(4, 3) | ((bytes[7] as number) << 24)) >>> 0;
      tags.push({ kind: info.kind, timestamp, dataSize, keyframe: info.keyframe, sequenceHeader: info.sequenceHeader, bytes });
    }
    // Keep the incomplete tail; copy it so the big chunk it came from can be freed.
    const rest = buf.subarray(offset);
    this.pending = rest.length ? Buffer.from(rest) : Buffer.alloc(0);
    return tags;
  }
}

/**
 * Wraps one RTMP audio, video or data message (RTMP carries FLV tag bodies) as a whole FLV tag: a
 * fresh buffer, since RTMP parsers reuse theirs. null for message types FLV has no tag for.
 */
export function flvTagOf(typeByte: number, timestamp: number, data: Buffer): FlvTag | null {
  const info = describeTag(typeByte, data);
  if (!info.kind) return null;
  if (data.length > MAX_TAG_DATA_BYTES) throw new FlvFormatError(`FLV tag of ${data.length} bytes: stream corrupt`);
  const bytes = Buffer.allocUnsafe(TAG_HEADER_BYTES + data.length + PREVIOUS_TAG_SIZE_BYTES);
  bytes[0] = typeByte & 0x1f;
  bytes.writeUIntBE(data.length, 1, 3);
  // FLV splits the 32-bit time into 24 low bits and an extension byte holding the high 8.
  bytes.writeUIntBE(timestamp & 0xffffff, 4, 3);
  bytes[7] = (timestamp >>> 24) & 0xff;
  bytes.writeUIntBE(0, 8, 3);
  data.copy(bytes, TAG_HEADER_BYTES);
  bytes.writeUInt32BE(TAG_HEADER_BYTES + data.length, TAG_HEADER_BYTES + data.length);
  return {
    kind: info.kind,
    timestamp: timestamp >>> 0,
    dataSize: data.length,
    keyframe: info.keyframe,
    sequenceHeader: info.sequenceHeader,
    bytes,
  };
}

/** The 9-byte FLV file header and PreviousTagSize0 a player must receive first. */
export function flvHeaderOf(hasAudio: boolean, hasVideo: boolean): FlvHeader {
  const bytes = Buffer.from([0x46, 0x4c, 0x56, 0x01, (hasAudio ? 0x04 : 0) | (hasVideo ? 0x01 : 0), 0, 0, 0, 9, 0, 0, 0, 0]);
  return { version: 1, hasAudio, hasVideo, bytes };
}
