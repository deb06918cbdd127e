// Types for the one part of node-media-server the live tap uses (the package ships plain JS): its
// server-side RTMP session parser. Deep-importing it loads rtmp.js, amf.js, flv.js, avpacket.js and
// logger.js only, none of the package's HTTP server, express or JWT code.
declare module 'node-media-server/src/protocol/rtmp.js' {
  /** One audio (8), video (9) or data (18) message; `data` is the parser's reused buffer. */
  interface AVPacket {
    codec_type: number;
    codec_id: number;
    flags: number;
    pts: number;
    dts: number;
    /** Message length: `data` may be longer (the parser keeps spare capacity). */
    size: number;
    data: Buffer;
  }

  interface RtmpMessageHeader {
    fmt: number;
    cid: number;
    timestamp: number;
    length: number;
    type: number;
    stream_id: number;
  }

  interface RtmpConnectRequest {
    /** The connect command's app, as the client sent it (with any `?query`). */
    app: string;
    /** The publish or play name without its query. */
    name: string;
    host: string;
    query: Record<string, string | string[] | undefined>;
  }

  class Rtmp {
    /** Called on publish or play with the names; the session answered already. */
    onConnectCallback: (req: RtmpConnectRequest) => void;
    onPlayCallback: () => void;
    onPushCallback: () => void;
    onPacketCallback: (packet: AVPacket) => void;
    /** Bytes to send to the peer. */
    onOutputCallback: (buffer: Buffer) => void;
    /** Feeds received bytes; may throw on malformed input. */
    parserData(buffer: Buffer): string | null;
    /** The message being parsed (its header is complete when packetAlloc runs). */
    protected parserPacket: { header: RtmpMessageHeader; payload: Buffer; bytes: number; capacity: number };
    /** Messages being assembled, by chunk stream id. */
    protected inPackets: Map<number, unknown>;
    /** Sizes the payload buffer of a new message from its header (allocates up to its length). */
    protected packetAlloc(): void;
    /** User control messages (type 4); the library ignores them. */
    protected eventHandler(): void;
    /** 0 before C0C1, 1 reading C0C1, 2 (S0S1S2 sent) reading C2, 3 chunks. */
    protected handshakeState: number;
    protected outChunkSize: number;
    protected objectEncoding?: number;
    protected sendWindowACK(size: number): void;
    protected setPeerBandwidth(size: number, type: number): void;
    protected setChunkSize(size: number): void;
    /** `_result` of connect / createStream with the given transaction id. */
    protected respondConnect(transId: number): void;
    protected respondCreateStream(transId: number): void;
  }
  export = Rtmp;
}

declare module 'node-media-server/src/protocol/amf.js' {
  /** Encodes an RTMP command ({ cmd, transId, cmdObj, … }) as AMF0 (tests build client commands with it). */
  export function encodeAmf0Cmd(command: Record<string, unknown>): Buffer;
}

declare module 'node-media-server/src/core/logger.js' {
  /** The library's one logger (console.log by default). */
  const logger: { log(message: string, level?: string): void };
  export = logger;
}
