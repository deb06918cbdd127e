// Types for the two mux.js modules the fMP4 writer uses (mux.js ships JavaScript only). Only what
// fmp4.ts passes and reads is declared; the shapes are mux.js's own (lib/mp4/mp4-generator.js,
// lib/codecs/h264.js).
declare module 'mux.js/cjs/mp4/mp4-generator.js' {
  export interface Mp4SampleFlags {
    isLeading: number;
    dependsOn: number;
    isDependedOn: number;
    hasRedundancy: number;
    paddingValue: number;
    isNonSyncSample: number;
    degradationPriority: number;
  }
  /** trun's fields are chosen by the first sample's keys: audio samples carry no flags or offset. */
  export interface Mp4Sample {
    duration: number;
    size: number;
    flags?: Mp4SampleFlags;
    compositionTimeOffset?: number;
  }
  export interface Mp4Track {
    id: number;
    type: 'video' | 'audio';
    /** moov: 0xffffffff (unknown) when 0. */
    duration: number;
    baseMediaDecodeTime: number;
    samples: Mp4Sample[];
    // video
    sps?: Uint8Array[];
    pps?: Uint8Array[];
    width?: number;
    height?: number;
    profileIdc?: number;
    profileCompatibility?: number;
    levelIdc?: number;
    sarRatio?: [number, number];
    // audio
    audioobjecttype?: number;
    samplingfrequencyindex?: number;
    channelcount?: number;
    samplerate?: number;
    samplesize?: number;
  }
  const generator: {
    initSegment(tracks: Mp4Track[]): Uint8Array;
    moof(sequenceNumber: number, tracks: Mp4Track[]): Uint8Array;
    mdat(data: Uint8Array): Uint8Array;
  };
  export default generator;
}

declare module 'mux.js/cjs/codecs/h264.js' {
  export interface SpsConfig {
    profileIdc: number;
    levelIdc: number;
    profileCompatibility: number;
    width: number;
    height: number;
    sarRatio: [number, number];
  }
  export class H264Stream {
    on(event: 'data', listener: (nal: { nalUnitType: string; config?: SpsConfig }) => void): void;
    push(packet: { type: 'video'; data: Uint8Array; pts: number; dts: number; trackId: number }): void;
    flush(): void;
  }
  const h264: { H264Stream: typeof H264Stream };
  export default h264;
}

// The TS→fMP4 transmuxer, the TS inspector and its packet parsers the record's MP4 writer uses
// (server/features/record/live-mp4.ts, ts-segment.ts; lib/mp4/transmuxer.js,
// lib/tools/ts-inspector.js, lib/m2ts/probe.js, lib/m2ts/timestamp-rollover-stream.js).
declare module 'mux.js/cjs/mp4/transmuxer.js' {
  export interface TransmuxerOptions {
    /** Keep the source's decode times (tfdt) instead of starting the first segment at 0. */
    keepOriginalTimestamps?: boolean;
    /** Audio and video in one output event (one init segment with both tracks). */
    remux?: boolean;
  }
  export interface TransmuxedSegment {
    /** ftyp + moov of the tracks in this output. */
    initSegment: Uint8Array;
    /** moof+mdat pairs, one per track and flush. */
    data: Uint8Array;
  }
  export class Transmuxer {
    constructor(options?: TransmuxerOptions);
    on(event: 'data', listener: (segment: TransmuxedSegment) => void): void;
    on(event: 'log', listener: (log: { level: string; message: string }) => void): void;
    push(bytes: Uint8Array): void;
    flush(): void;
    /** Drops all held state: the last GOPs kept for "GOP fusion", a partly parsed packet. */
    reset(): void;
  }
  const transmuxer: { Transmuxer: typeof Transmuxer };
  export default transmuxer;
}

declare module 'mux.js/cjs/tools/ts-inspector.js' {
  /** A PES's timestamps in the 90 kHz clock, rollover taken out against the segment's first. */
  export interface PesTime {
    pts: number;
    dts: number;
  }
  /** The first and the last PES of each kind, and the first video keyframe. */
  export interface TsInspection {
    video?: PesTime[];
    audio?: PesTime[];
    firstKeyFrame?: PesTime;
  }
  const inspector: { inspect(bytes: Uint8Array): TsInspection | null };
  export default inspector;
}

declare module 'mux.js/cjs/m2ts/probe.js' {
  const probe: {
    parseType(packet: Uint8Array, pmtPid: number | null): 'pat' | 'pmt' | 'pes' | null;
    parsePat(packet: Uint8Array): number;
    /** elementary PID → stream_type; undefined for a PMT not yet in effect. */
    parsePmt(packet: Uint8Array): Record<number, number> | undefined;
    parsePesType(packet: Uint8Array, programMapTable: Record<number, number>): 'video' | 'audio' | 'timed-metadata' | null;
    parsePayloadUnitStartIndicator(packet: Uint8Array): boolean;
    /** The PES header's times (dts is the pts when it has none); null without a PES start or times. */
    parsePesTime(packet: Uint8Array): { pts: number; dts: number } | null;
    /** Whether the video PES starting in `packet` (its TS packets joined) has an IDR NAL unit. */
    videoPacketContainsKeyFrame(packet: Uint8Array): boolean;
  };
  export default probe;
}

declare module 'mux.js/cjs/m2ts/timestamp-rollover-stream.js' {
  /** `value` (33-bit 90 kHz) moved by 2^33 to be nearest `reference`. */
  const rollover: { handleRollover(value: number, reference: number): number };
  export default rollover;
}
