// The boxes of a record's MP4 written while it records (live-mp4.ts, docs/compatibility.md §5.8):
// mux.js's transmuxer gives a fragmented MP4 (ftyp, an empty moov, then moof+mdat pairs per keyframe interval);
// the fragments go to the file after a reserved head, and at the end the head is filled with the
// ftyp, the moov (its duration set), a free box and one sidx per track. The sidx boxes index every
// fragment, so a player reads the head alone to know the duration and where each second is
// (ffmpeg's demuxer, and Chromium's which is ffmpeg's, then never scans the fragments), which is
// what "fast start" means. Pure functions over buffers, unit-tested.

/** A box found in a buffer: its type, where it starts, its whole size and its header's size. */
export interface Box {
  type: string;
  start: number;
  size: number;
  header: number;
}

/** The boxes directly inside buf[start, end). Throws on a box that overruns its parent. */
export function childBoxes(buf: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    let size = buf.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || at + size > end) throw new Error(`malformed MP4 box at ${at}`);
    out.push({ type: buf.toString('latin1', at + 4, at + 8), start: at, size, header });
    at += size;
  }
  return out;
}

function child(buf: Buffer, parent: Box, type: string): Box | undefined {
  return childBoxes(buf, parent.start + parent.header, parent.start + parent.size).find((b) => b.type === type);
}

function children(buf: Buffer, parent: Box, type: string): Box[] {
  return childBoxes(buf, parent.start + parent.header, parent.start + parent.size).filter((b) => b.type === type);
}

/** The top-level box of a whole buffer (a moov or a moof as the splitter hands it). */
function whole(buf: Buffer): Box {
  const [box] = childBoxes(buf, 0, buf.length);
  if (!box || box.size !== buf.length) throw new Error('not one MP4 box');
  return box;
}

export interface TrackInfo {
  id: number;
  timescale: number;
  video: boolean;
  /** trex's default sample duration and flags: used when a fragment gives none. */
  defaultDuration: number;
  defaultFlags: number;
}

/** The tracks an init moov declares, the video track first (its sidx comes first). */
export function initTracks(moov: Buffer): TrackInfo[] {
  const root = whole(moov);
  const trex = new Map<number, { duration: number; flags: number }>();
  const mvex = child(moov, root, 'mvex');
  for (const t of mvex ? children(moov, mvex, 'trex') : []) {
    const p = t.start + t.header + 4;
    trex.set(moov.readUInt32BE(p), { duration: moov.readUInt32BE(p + 8), flags: moov.readUInt32BE(p + 16) });
  }
  const tracks: TrackInfo[] = [];
  for (const trak of children(moov, root, 'trak')) {
    const tkhd = child(moov, trak, 'tkhd');
    const mdia = child(moov, trak, 'mdia');
    const mdhd = mdia && child(moov, mdia, 'mdhd');
    const hdlr = mdia && child(moov, mdia, 'hdlr');
    if (!tkhd || !mdhd || !hdlr) throw new Error('an MP4 track without tkhd, mdhd or hdlr');
    const tkhdBody = tkhd.start + tkhd.header;
    const id = moov.readUInt32BE(tkhdBody + (moov[tkhdBody] === 1 ? 20 : 12));
    const mdhdBody = mdhd.start + mdhd.header;
    const timescale = moov.readUInt32BE(mdhdBody + (moov[mdhdBody] === 1 ? 20 : 12));
    const handler = moov.toString('latin1', hdlr.start + hdlr.header + 8, hdlr.start + hdlr.header + 12);
    const defaults = trex.get(id);
    tracks.push({ id, timescale, video: handler === 'vide', defaultDuration: defaults?.duration ?? 0, defaultFlags: defaults?.flags ?? 0 });
  }
  return tracks.sort((a, b) => Number(b.video) - Number(a.video));
}

/** One track's part of a fragment, in its timescale: when it starts and how long it lasts. */
export interface TrackRun {
  decodeTime: number;
  /** Its first sample's composition offset: it is shown at decodeTime + this (B-frames). */
  firstOffset: number;
  duration: number;
  /**
   * When its last shown sample ends, from decodeTime: past `duration` when a sample is shown after
   * later ones are decoded (B-frames), so media that follows must start no earlier than this.
   */
  presentationEnd: number;
  /** Its first sample is a sync sample (a keyframe): a player can start there. */
  startsWithSync: boolean;
}

/** A moof and its mdat as they lie in the file: their size and each track's run. */
export interface Fragment {
  size: number;
  runs: Map<number, TrackRun>;
  /**
   * Where, from the fragment's first byte, the moof holding each track's run starts (0 for every
   * track when one moof holds them all). mux.js writes one moof+mdat pair per track; a track's sidx
   * references must start at its own moof, or a player seeking that track lands on another track's
   * moof and gives up (ffmpeg then reads from the file's start).
   */
  moofAt?: Map<number, number>;
}

/** Each track's decode time (tfdt) and duration (its trun sample durations) in a moof. */
export function fragmentRuns(moof: Buffer, tracks: readonly TrackInfo[]): Map<number, TrackRun> {
  const runs = new Map<number, TrackRun>();
  const root = whole(moof);
  for (const traf of children(moof, root, 'traf')) {
    const tfhd = child(moof, traf, 'tfhd');
    const tfdt = child(moof, traf, 'tfdt');
    if (!tfhd || !tfdt) throw new Error('an MP4 fragment without tfhd or tfdt');
    let p = tfhd.start + tfhd.header;
    const tfhdFlags = moof.readUInt32BE(p) & 0xffffff;
    const id = moof.readUInt32BE(p + 4);
    p += 8;
    if (tfhdFlags & 0x01) p += 8; // base_data_offset
    if (tfhdFlags & 0x02) p += 4; // sample_description_index
    const track = tracks.find((t) => t.id === id);
    let defaultDuration = track?.defaultDuration ?? 0;
    let defaultFlags = track?.defaultFlags ?? 0;
    if (tfhdFlags & 0x08) defaultDuration = moof.readUInt32BE(p);
    if (tfhdFlags & 0x08) p += 4;
    if (tfhdFlags & 0x10) p += 4; // default_sample_size
    if (tfhdFlags & 0x20) defaultFlags = moof.readUInt32BE(p);
    const tfdtBody = tfdt.start + tfdt.header;
    const decodeTime = moof[tfdtBody] === 1 ? Number(moof.readBigUInt64BE(tfdtBody + 4)) : moof.readUInt32BE(tfdtBody + 4);
    let duration = 0;
    let presentationEnd = 0;
    let first: { offset: number; flags: number } | null = null;
    for (const trun of children(moof, traf, 'trun')) {
      let q = trun.start + trun.header;
      const version = moof[q];
      const flags = moof.readUInt32BE(q) & 0xffffff;
      const count = moof.readUInt32BE(q + 4);
      q += 8;
      if (flags & 0x01) q += 4; // data_offset
      const firstFlags = flags & 0x04 ? moof.readUInt32BE(q) : null;
      if (flags & 0x04) q += 4;
      const fields = [0x100, 0x200, 0x400, 0x800].filter((f) => flags & f);
      const stride = fields.length * 4;
      const field = (i: number, f: number) => q + i * stride + fields.indexOf(f) * 4;
      const offsetOf = (i: number) =>
        !(flags & 0x800) ? 0 : version === 1 ? moof.readInt32BE(field(i, 0x800)) : moof.readUInt32BE(field(i, 0x800));
      for (let i = 0; i < count; i++) {
        const sampleDuration = flags & 0x100 ? moof.readUInt32BE(field(i, 0x100)) : defaultDuration;
        presentationEnd = Math.max(presentationEnd, duration + offsetOf(i) + sampleDuration);
        duration += sampleDuration;
      }
      if (first === null && count > 0) {
        first = { offset: offsetOf(0), flags: firstFlags ?? (flags & 0x400 ? moof.readUInt32BE(field(0, 0x400)) : defaultFlags) };
      }
    }
    runs.set(id, {
      decodeTime,
      firstOffset: first?.offset ?? 0,
      duration,
      presentationEnd,
      startsWithSync: !((first?.flags ?? 0) & SAMPLE_IS_NON_SYNC),
    });
  }
  return runs;
}

const FREE_HEADER = 8;
/** A version-1 sidx: box and full-box header, reference_ID, timescale, two 64-bit times, two 16-bit fields. */
const SIDX_FIXED = 8 + 4 + 4 + 4 + 8 + 8 + 2 + 2;
const SIDX_REFERENCE = 12;
/** sidx starts_with_SAP: the subsegment starts on a sync sample (of the track the sidx indexes). */
const STARTS_WITH_SAP = 0x80000000;
/** sample_flags' sample_is_non_sync_sample bit. */
const SAMPLE_IS_NON_SYNC = 0x10000;

/**
 * Sets the movie's duration (mvhd, in its timescale) to the longest track's, and each track's own
 * (tkhd in the movie's timescale, mdhd in the track's): a writer that does not know them leaves 0
 * or "unknown" (mux.js writes 0xffffffff, which players would show as 13 hours). A field the value
 * does not fit is left alone.
 */
function withDurations(moov: Buffer, tracks: readonly TrackInfo[], totals: Map<number, number>): Buffer {
  const out = Buffer.from(moov);
  const root = whole(out);
  const mvhd = child(out, root, 'mvhd');
  if (!mvhd) return out;
  const setDuration = (box: Box, durationAt: number, value: number) => {
    const body = box.start + box.header;
    const v1 = out[body] === 1;
    // Version 1 widens the creation and modification times to 64 bits.
    const at = body + (v1 ? durationAt + 8 : durationAt);
    if (v1) out.writeBigUInt64BE(BigInt(value), at);
    else if (value <= 0xffffffff) out.writeUInt32BE(value, at);
  };
  const mvhdBody = mvhd.start + mvhd.header;
  const movieScale = out.readUInt32BE(mvhdBody + (out[mvhdBody] === 1 ? 20 : 12));
  const seconds = (t: TrackInfo) => (totals.get(t.id) ?? 0) / t.timescale;
  // mvhd v0: version/flags, creation, modification, timescale, then duration (v1: 64-bit times).
  setDuration(mvhd, 16, Math.round(Math.max(0, ...tracks.map(seconds)) * movieScale));
  for (const trak of children(out, root, 'trak')) {
    const tkhd = child(out, trak, 'tkhd');
    const mdia = child(out, trak, 'mdia');
    const mdhd = mdia && child(out, mdia, 'mdhd');
    if (!tkhd || !mdhd) continue;
    const tkhdBody = tkhd.start + tkhd.header;
    const id = out.readUInt32BE(tkhdBody + (out[tkhdBody] === 1 ? 20 : 12));
    const track = tracks.find((t) => t.id === id);
    if (!track) continue;
    // tkhd v0: version/flags, creation, modification, track_ID, reserved, then duration.
    setDuration(tkhd, 20, Math.round(seconds(track) * movieScale));
    // mdhd v0: version/flags, creation, modification, timescale, then duration.
    setDuration(mdhd, 16, totals.get(track.id) ?? 0);
  }
  return out;
}

/**
 * The head of the file, exactly `reserve` bytes: ftyp, moov (its duration set), a free box, then
 * one sidx per track indexing the fragments that follow it. When there are more fragments than
 * the reserve can index one by one, consecutive fragments share a reference (a seek then reads a
 * little more). Null when even that does not fit, or when there is nothing to index.
 */
export function buildHead(
  ftyp: Buffer,
  moov: Buffer,
  tracks: readonly TrackInfo[],
  fragments: readonly Fragment[],
  reserve: number,
): Buffer | null {
  const indexed = tracks.filter((t) => fragments.some((f) => f.runs.has(t.id)));
  if (fragments.length === 0 || indexed.length === 0) return null;
  const room = reserve - ftyp.length - moov.length - FREE_HEADER - indexed.length * SIDX_FIXED;
  // reference_count is 16 bits.
  const maxRefs = Math.min(0xffff, Math.floor(room / (indexed.length * SIDX_REFERENCE)));
  if (maxRefs < 1) return null;
  const perRef = Math.ceil(fragments.length / maxRefs);
  const groups: Fragment[][] = [];
  for (let i = 0; i < fragments.length; i += perRef) groups.push(fragments.slice(i, i + perRef));
  // referenced_size is 31 bits.
  if (groups.some((group) => group.reduce((s, f) => s + f.size, 0) >= 0x80000000)) return null;
  const totals = new Map<number, number>();
  for (const f of fragments) for (const [id, run] of f.runs) totals.set(id, (totals.get(id) ?? 0) + run.duration);
  const sidxSize = SIDX_FIXED + groups.length * SIDX_REFERENCE;
  // Each track's references tile the fragments from its own moof in a group's first fragment to its
  // moof in the next group's (the last to the end of the media).
  const groupStarts: number[] = [];
  let position = 0;
  for (const group of groups) {
    groupStarts.push(position);
    position += group.reduce((sum, f) => sum + f.size, 0);
  }
  const mediaEnd = position;
  const anchorsOf = (trackId: number): number[] | null => {
    const anchors = groups.map((group, g) => {
      const first = group[0] as Fragment;
      const at = first.moofAt ? first.moofAt.get(trackId) : 0;
      return at === undefined ? -1 : (groupStarts[g] as number) + at;
    });
    return anchors.every((a, k) => a >= 0 && (k === 0 || a > (anchors[k - 1] as number))) ? anchors : null;
  };
  const anchors = new Map(indexed.map((t) => [t.id, anchorsOf(t.id)]));
  if ([...anchors.values()].some((a) => a === null)) return null;
  const sidxes = indexed.map((track, i) => {
    const starts = anchors.get(track.id) as number[];
    const box = Buffer.alloc(sidxSize);
    box.writeUInt32BE(sidxSize, 0);
    box.write('sidx', 4, 'latin1');
    box.writeUInt32BE(0x01000000, 8); // version 1, flags 0
    box.writeUInt32BE(track.id, 12);
    box.writeUInt32BE(track.timescale, 16);
    const first = fragments.find((f) => f.runs.has(track.id))?.runs.get(track.id) as TrackRun;
    // earliest_presentation_time: a player seeks by it, so a B-frame stream's shift is in it.
    box.writeBigUInt64BE(BigInt(Math.max(0, first.decodeTime + first.firstOffset)), 20);
    // first_offset: from the end of this sidx to the track's first moof, past the sidx boxes after it.
    box.writeBigUInt64BE(BigInt((indexed.length - 1 - i) * sidxSize + (starts[0] as number)), 28);
    box.writeUInt16BE(groups.length, 38);
    groups.forEach((group, g) => {
      const at = SIDX_FIXED + g * SIDX_REFERENCE;
      box.writeUInt32BE((starts[g + 1] ?? mediaEnd) - (starts[g] as number), at);
      box.writeUInt32BE(
        group.reduce((s, f) => s + (f.runs.get(track.id)?.duration ?? 0), 0),
        at + 4,
      );
      box.writeUInt32BE(group[0]?.runs.get(track.id)?.startsWithSync === false ? 0 : STARTS_WITH_SAP, at + 8);
    });
    return box;
  });
  const head = Buffer.concat([ftyp, withDurations(moov, tracks, totals)]);
  const free = Buffer.alloc(reserve - head.length - sidxes.length * sidxSize);
  free.writeUInt32BE(free.length, 0);
  free.write('free', 4, 'latin1');
  return Buffer.concat([head, free, ...sidxes]);
}

/**
 * Moves each track's fragment in time: adds offsetOf(track id) to its tfdt, in place. The record's
 * writer (live-mp4.ts) starts the file at 0 and makes a republish continue where the media before
 * it ended. Throws when a decode time would go below 0 or not fit a version-0 tfdt.
 */
export function shiftDecodeTimes(moof: Buffer, offsetOf: (trackId: number) => number): void {
  for (const traf of children(moof, whole(moof), 'traf')) {
    const tfhd = child(moof, traf, 'tfhd');
    const tfdt = child(moof, traf, 'tfdt');
    if (!tfhd || !tfdt) throw new Error('an MP4 fragment without tfhd or tfdt');
    const id = moof.readUInt32BE(tfhd.start + tfhd.header + 4);
    const body = tfdt.start + tfdt.header;
    const v1 = moof[body] === 1;
    const time = (v1 ? Number(moof.readBigUInt64BE(body + 4)) : moof.readUInt32BE(body + 4)) + offsetOf(id);
    if (time < 0 || (!v1 && time > 0xffffffff)) throw new Error(`track ${id}: decode time ${time} out of range`);
    if (v1) moof.writeBigUInt64BE(BigInt(time), body + 4);
    else moof.writeUInt32BE(time, body + 4);
  }
}
