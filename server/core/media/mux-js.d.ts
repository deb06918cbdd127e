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
