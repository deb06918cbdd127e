// FLV bytes for unit tests that feed the real FlvParser synthetic streams.

/** One FLV tag: 11-byte header, `data`, and the PreviousTagSize that follows it. */
export function flvTagBytes(type: number, timestamp: number, data: Buffer): Buffer {
  const b = Buffer.alloc(11 + data.length + 4);
  b[0] = type;
  b.writeUIntBE(data.length, 1, 3);
  b.writeUIntBE(timestamp & 0xffffff, 4, 3);
  b[7] = (timestamp >>> 24) & 0xff;
  data.copy(b, 11);
  b.writeUInt32BE(11 + data.length, 11 + data.length);
  return b;
}

/** The payload of a real AVC sequence-header tag (x264, 320x180, High profile level 1.2) as ffmpeg writes it in FLV. */
export const AVC_CONFIG_TAG_DATA = Buffer.from(
  '17000000000164000cffe100186764000cacb40a0cfcf808800000030080000019478a155001000468ef0fcbfdf8f800',
  'hex',
);
