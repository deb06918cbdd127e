// Reads the program map of an MPEG-TS byte stream (PAT → PMT) to learn the codecs before a caller's
// stream is bridged into the RTMP engine: nginx-rtmp carries FLV, i.e. H.264 video and AAC or MP3
// audio, so anything else (H.265 first of all) is refused with a reason instead of a bridge that
// fails. Pure; fed with whatever the SRT caller sent, in any chunking.

const TS_PACKET = 188;
const SYNC = 0x47;

export interface EsInfo {
  readonly pid: number;
  readonly streamType: number;
  /** Registration descriptor's format id (`Opus`, `AC-3`, `HEVC`…) or ''. */
  readonly registration: string;
}

export type CodecKind = 'video' | 'audio' | 'other';

export interface EsCodec {
  readonly kind: CodecKind;
  readonly name: string;
  /** The RTMP engine can carry it (FLV: H.264, AAC, MP3). */
  readonly supported: boolean;
}

/** What a PMT stream_type (plus registration descriptor) means, as ISO 13818-1 and its users assign them. */
export function codecOf(es: EsInfo): EsCodec {
  switch (es.streamType) {
    case 0x1b:
      return { kind: 'video', name: 'H.264', supported: true };
    case 0x24:
      return { kind: 'video', name: 'H.265/HEVC', supported: false };
    case 0x33:
      return { kind: 'video', name: 'H.266/VVC', supported: false };
    case 0x01:
      return { kind: 'video', name: 'MPEG-1 video', supported: false };
    case 0x02:
      return { kind: 'video', name: 'MPEG-2 video', supported: false };
    case 0x10:
      return { kind: 'video', name: 'MPEG-4 Part 2 video', supported: false };
    case 0x42:
      return { kind: 'video', name: 'AVS video', supported: false };
    case 0xd1:
      return { kind: 'video', name: 'Dirac', supported: false };
    case 0xd2:
      return { kind: 'video', name: 'AVS2 video', supported: false };
    case 0xea:
      return { kind: 'video', name: 'VC-1', supported: false };
    case 0x0f:
      return { kind: 'audio', name: 'AAC', supported: true };
    case 0x03:
    case 0x04:
      return { kind: 'audio', name: 'MP3', supported: true };
    case 0x11:
      return { kind: 'audio', name: 'AAC-LATM', supported: false };
    case 0x81:
      return { kind: 'audio', name: 'AC-3', supported: false };
    case 0x87:
      return { kind: 'audio', name: 'E-AC-3', supported: false };
    case 0x06:
      if (es.registration === 'Opus') return { kind: 'audio', name: 'Opus', supported: false };
      if (es.registration === 'AC-3') return { kind: 'audio', name: 'AC-3', supported: false };
      if (es.registration === 'EAC3') return { kind: 'audio', name: 'E-AC-3', supported: false };
      if (es.registration === 'HEVC') return { kind: 'video', name: 'H.265/HEVC', supported: false };
      return { kind: 'other', name: `private data${es.registration ? ` (${es.registration})` : ''}`, supported: false };
    default:
      return { kind: 'other', name: `stream type 0x${es.streamType.toString(16).padStart(2, '0')}`, supported: false };
  }
}

export type CodecVerdict = { readonly ok: true; readonly codecs: string[] } | { readonly ok: false; readonly reason: string };

/**
 * Whether the RTMP engine can take this program: every audio and video stream must be one FLV
 * carries, and there must be at least one. Data streams (KLV, SCTE-35, subtitles) are ignored: the
 * bridge does not map them.
 */
export function codecVerdict(streams: readonly EsInfo[]): CodecVerdict {
  const codecs = streams.map(codecOf).filter((c) => c.kind !== 'other');
  const refused = codecs.filter((c) => !c.supported);
  if (refused.length) {
    const names = [...new Set(refused.map((c) => c.name))].join(', ');
    return {
      ok: false,
      reason: `${names} cannot be carried by the RTMP engine (FLV takes H.264 video with AAC or MP3 audio): set the encoder to H.264/AAC`,
    };
  }
  if (!codecs.length) return { ok: false, reason: 'no audio or video stream in the MPEG-TS program' };
  return { ok: true, codecs: codecs.map((c) => c.name) };
}

/** Collects PSI sections of one PID across TS packets. */
class SectionBuffer {
  private buf: Buffer | null = null;

  /** Returns a complete section (table_id … CRC) when one ends in this packet's payload. */
  push(payload: Buffer, unitStart: boolean): Buffer | null {
    if (unitStart) {
      const pointer = payload[0] ?? 0;
      this.buf = payload.subarray(1 + pointer);
    } else if (this.buf) {
      this.buf = Buffer.concat([this.buf, payload]);
    } else {
      return null;
    }
    if (this.buf.length < 3) return null;
    const sectionLength = ((this.buf[1] as number) & 0x0f) * 256 + (this.buf[2] as number);
    if (this.buf.length < 3 + sectionLength) {
      if (this.buf.length > 4096) this.buf = null; // not PSI after all
      return null;
    }
    const section = this.buf.subarray(0, 3 + sectionLength);
    this.buf = null;
    return section;
  }
}

/** Feeds TS bytes until the first program's PMT is seen; then `streams` holds its elementary streams. */
export class TsProgramSniffer {
  private rest: Buffer = Buffer.alloc(0);
  private pmtPid = -1;
  private readonly sections = new Map<number, SectionBuffer>();
  streams: EsInfo[] | null = null;
  /** Bytes fed so far. */
  bytes = 0;
  /** Packets that did not start with the sync byte (garbage is skipped to the next sync). */
  lostSync = 0;

  /** Returns the PMT's streams once known (and on every later call), else null. */
  push(data: Buffer): EsInfo[] | null {
    if (this.streams) return this.streams;
    this.bytes += data.length;
    let buf = this.rest.length ? Buffer.concat([this.rest, data]) : data;
    let off = 0;
    while (buf.length - off >= TS_PACKET) {
      if (buf[off] !== SYNC) {
        this.lostSync += 1;
        const next = buf.indexOf(SYNC, off + 1);
        if (next < 0) {
          off = buf.length;
          break;
        }
        off = next;
        continue;
      }
      this.packet(buf.subarray(off, off + TS_PACKET));
      off += TS_PACKET;
      if (this.streams) return this.streams;
    }
    buf = buf.subarray(off);
    this.rest = Buffer.from(buf);
    return null;
  }

  private packet(p: Buffer): void {
    const b1 = p[1] as number;
    const unitStart = (b1 & 0x40) !== 0;
    const pid = ((b1 & 0x1f) << 8) | (p[2] as number);
    if (pid !== 0 && pid !== this.pmtPid) return;
    const afc = ((p[3] as number) >> 4) & 0x3;
    if (!(afc & 0x1)) return; // no payload
    let start = 4;
    if (afc & 0x2) start += 1 + (p[4] as number);
    if (start >= TS_PACKET) return;
    let sb = this.sections.get(pid);
    if (!sb) this.sections.set(pid, (sb = new SectionBuffer()));
    const section = sb.push(p.subarray(start), unitStart);
    if (!section) return;
    if (pid === 0 && section[0] === 0x00) this.onPat(section);
    else if (pid === this.pmtPid && section[0] === 0x02) this.onPmt(section);
  }

  private onPat(s: Buffer): void {
    const end = s.length - 4; // CRC
    for (let i = 8; i + 4 <= end; i += 4) {
      const program = s.readUInt16BE(i);
      const pid = s.readUInt16BE(i + 2) & 0x1fff;
      if (program !== 0) {
        this.pmtPid = pid;
        return;
      }
    }
  }

  private onPmt(s: Buffer): void {
    const end = s.length - 4;
    const programInfoLength = s.readUInt16BE(10) & 0x0fff;
    const streams: EsInfo[] = [];
    for (let i = 12 + programInfoLength; i + 5 <= end;) {
      const streamType = s[i] as number;
      const pid = s.readUInt16BE(i + 1) & 0x1fff;
      const esInfoLength = s.readUInt16BE(i + 3) & 0x0fff;
      const descriptors = s.subarray(i + 5, Math.min(end, i + 5 + esInfoLength));
      streams.push({ pid, streamType, registration: registrationOf(descriptors) });
      i += 5 + esInfoLength;
    }
    this.streams = streams;
  }
}

function registrationOf(d: Buffer): string {
  for (let i = 0; i + 2 <= d.length;) {
    const tag = d[i] as number;
    const len = d[i + 1] as number;
    if (tag === 0x05 && len >= 4 && i + 6 <= d.length) return d.subarray(i + 2, i + 6).toString('latin1');
    i += 2 + len;
  }
  return '';
}
