// Splicing two encodings into one FLV stream (the slate: docs/architecture.md, "The slate"): the
// stream's codec configurations, a frame carrying the parameter sets in band, and a tag moved to
// another time. A decoder that switches from one encoder's frames to another's must get the new
// SPS/PPS; a new AVC sequence header tag alone is not enough (ffmpeg's decoder, and so ffmpeg -c
// copy, keep the first: measured, every frame after the switch then fails to decode); parameter
// sets in band before the first frame of each encoding are (measured: no decode error).
import { flvTagOf, type FlvTag } from './flv-tags.js';
import { isAacTag, isAvcTag, parseAudioSpecificConfig, parseAvcConfig, tagData, type AudioConfig, type VideoConfig } from './fmp4.js';

/** FLV AVC video data: frame type/codec byte, AVCPacketType, 24-bit composition time. */
const AVC_PREFIX_BYTES = 5;
const FLV_VIDEO = 9;

/** The video configuration in an AVC sequence header tag; null for any other tag or a malformed one. */
export function avcConfigOf(tag: FlvTag): VideoConfig | null {
  const data = tagData(tag.bytes);
  if (tag.kind !== 'video' || !tag.sequenceHeader || !isAvcTag(data)) return null;
  try {
    return parseAvcConfig(data.subarray(AVC_PREFIX_BYTES));
  } catch {
    return null;
  }
}

/** The audio configuration in an AAC sequence header tag; null for any other tag or a malformed one. */
export function aacConfigOf(tag: FlvTag): AudioConfig | null {
  const data = tagData(tag.bytes);
  if (tag.kind !== 'audio' || !tag.sequenceHeader || !isAacTag(data)) return null;
  try {
    return parseAudioSpecificConfig(data.subarray(2));
  } catch {
    return null;
  }
}

/**
 * The frame with the configuration's SPS and PPS written in band before its own NAL units (same
 * time); any other tag unchanged. NAL lengths are 4 bytes (parseAvcConfig refuses other sizes).
 */
export function withParameterSetsInBand(frame: FlvTag, config: VideoConfig): FlvTag {
  const data = tagData(frame.bytes);
  if (frame.kind !== 'video' || frame.sequenceHeader || !isAvcTag(data)) return frame;
  const nalUnits = [...config.sps, ...config.pps].map((nal) => {
    const unit = Buffer.alloc(4 + nal.length);
    unit.writeUInt32BE(nal.length);
    unit.set(nal, 4);
    return unit;
  });
  const body = Buffer.concat([data.subarray(0, AVC_PREFIX_BYTES), ...nalUnits, data.subarray(AVC_PREFIX_BYTES)]);
  return flvTagOf(FLV_VIDEO, frame.timestamp, body) as FlvTag;
}

/** The tag at another time (a copy: tags may be views of buffers others hold). */
export function retimed(tag: FlvTag, timestamp: number): FlvTag {
  const bytes = Buffer.from(tag.bytes);
  bytes.writeUIntBE(timestamp & 0xffffff, 4, 3);
  bytes[7] = (timestamp >>> 24) & 0xff;
  return { ...tag, timestamp: timestamp >>> 0, bytes };
}
