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
