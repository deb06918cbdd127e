// The RTMP protocol of the tap's listener: node-media-server's server-side session parser
// (handshake, chunk streams, connect/createStream/publish answers), bounded for a port that only
// the engine should reach but that anything on this host can connect to.
//
// Why node-media-server (Apache-2.0, maintained, v4.4.x): its `src/protocol/rtmp.js` is a
// socket-free parser driven by callbacks, so the tap owns the socket, the timeouts and the
// authentication, and deep-importing it (the package has no `exports` map) loads five small files,
// none of its HTTP server, express or JWT code (they are installed as its dependencies, never
// loaded). The other RTMP servers on npm are a native addon (medooze-rtmp-server: C++ build, a
// media framework of its own) or unmaintained. Its parser copies each message once into a reused
// buffer; the tap copies it once more into the FLV tag its subscribers share.
//
// What the library lacks and this subclass adds: limits on what a peer can make it allocate
// (a chunk header announces up to 16 MB per message, on up to 65599 chunk streams), and answers
// to the engine's keep-alive pings (nginx-rtmp pings a connection it has not heard from for
// `ping` (1 min) and drops it `ping_timeout` (30 s) later: without answers every push would be cut
// after 90 s).
import libraryLogger from 'node-media-server/src/core/logger.js';
import Rtmp from 'node-media-server/src/protocol/rtmp.js';
import { createLogger } from '../../core/logger.js';
import { MAX_TAG_DATA_BYTES } from '../../core/media/flv-tags.js';

// The library prints to the console on its own (e.g. every unknown command a peer sends): through
// the stack's logger instead, at debug level, since the tap logs its own decisions.
const log = createLogger('tap');
libraryLogger.log = (message: string) => log.debug(`rtmp: ${message}`);

/** nginx uses chunk streams 2 to 8; a peer opening dozens is not nginx. */
const MAX_CHUNK_STREAMS = 32;
/** Before the publish is accepted only small commands are expected (connect, createStream, publish). */
const MAX_COMMAND_BYTES = 64 * 1024;

const RTMP_TYPE_EVENT = 4;
/** Transaction ids nginx-rtmp's relay gives its connect and createStream (ngx_rtmp_relay_module.c). */
const RELAY_CONNECT_TRANS = 1;
const RELAY_CREATE_STREAM_TRANS = 2;
/** Handshake state after S0S1S2 went out, before C2 arrived (node-media-server's numbering). */
const HANDSHAKE_AWAITING_C2 = 2;
const EVENT_PING_REQUEST = 6;
const EVENT_PING_RESPONSE = 7;

export class RtmpLimitError extends Error {
  override readonly name = 'RtmpLimitError';
}

export class RtmpReceiver extends Rtmp {
  /** Media messages are accepted only once the owner accepted the publish. */
  accepted = false;
  private answeredAhead = false;

  /**
   * Answers the engine's connect and createStream together with the handshake, before it asks.
   * Why: nginx-rtmp's push joins the live stream (and gets media) only once createStream's
   * `_result` came back, three round trips after it connected; whatever the encoder sends before
   * is lost, since the engine keeps no GOP, and the encoder's first keyframe comes right away.
   * One round trip instead of three is what makes the tap see a stream from its first frame.
   * nginx's relay ignores what the results say, only their transaction ids count; the
   * answers the library would give when the commands arrive are then left out (below).
   */
  override parserData(buffer: Buffer): string | null {
    const before = this.handshakeState;
    const result = super.parserData(buffer);
    if (!this.answeredAhead && before < HANDSHAKE_AWAITING_C2 && this.handshakeState === HANDSHAKE_AWAITING_C2) {
      this.answeredAhead = true;
      this.objectEncoding = 0;
      this.sendWindowACK(5_000_000);
      this.setPeerBandwidth(5_000_000, 2);
      this.setChunkSize(this.outChunkSize);
      super.respondConnect(RELAY_CONNECT_TRANS);
      super.respondCreateStream(RELAY_CREATE_STREAM_TRANS);
    }
    return result;
  }

  protected override respondConnect(transId: number): void {
    if (!(this.answeredAhead && transId === RELAY_CONNECT_TRANS)) super.respondConnect(transId);
  }

  protected override respondCreateStream(transId: number): void {
    if (!(this.answeredAhead && transId === RELAY_CREATE_STREAM_TRANS)) super.respondCreateStream(transId);
  }

  protected override packetAlloc(): void {
    const { length, type } = this.parserPacket.header;
    const media = type === 8 || type === 9 || type === 18;
    const limit = media && this.accepted ? MAX_TAG_DATA_BYTES : MAX_COMMAND_BYTES;
    if (length > limit) throw new RtmpLimitError(`an RTMP message of ${length} bytes (type ${type}) exceeds ${limit}`);
    if (this.inPackets.size > MAX_CHUNK_STREAMS) throw new RtmpLimitError(`more than ${MAX_CHUNK_STREAMS} RTMP chunk streams`);
    super.packetAlloc();
  }

  protected override eventHandler(): void {
    const { payload, header } = this.parserPacket;
    if (header.type !== RTMP_TYPE_EVENT || header.length < 6) return;
    if (payload.readUInt16BE(0) !== EVENT_PING_REQUEST) return;
    // User Control message on chunk stream 2, message stream 0: PingResponse echoing the timestamp.
    const answer = Buffer.from('020000000000060400000000000000000000', 'hex');
    answer.writeUInt16BE(EVENT_PING_RESPONSE, 12);
    payload.copy(answer, 14, 2, 6);
    this.onOutputCallback(answer);
  }
}
