// node-datachannel plumbing shared by WHIP and WHEP sessions: the PeerConnection configuration
// (every session on the one mux port), gathering, and the guard every native callback needs.
import type { PeerConnection, RtcConfig } from 'node-datachannel';
import { createLogger } from '../../core/logger.js';

const log = createLogger('webrtc');

/**
 * An exception escaping a node-datachannel callback aborts the whole process (napi `terminate`,
 * report pitfall 3), so every callback handed to it goes through this.
 */
export function guard<A extends unknown[]>(what: string, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      log.warn(`${what} failed`, err);
    }
  };
}

/** Every PeerConnection on the one UDP port: libjuice's ICE UDP mux demultiplexes by ufrag. */
export function peerConfig(port: number): RtcConfig {
  return { iceServers: [], enableIceUdpMux: true, portRangeBegin: port, portRangeEnd: port };
}

/** The local description once ICE gathering is complete (host candidates only: quick). */
export function gatheredDescription(pc: PeerConnection, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = () => {
      if (settled) return;
      const desc = pc.localDescription();
      if (!desc) return;
      settled = true;
      clearTimeout(timer);
      resolve(desc.sdp);
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(new Error('ICE gathering did not complete'));
    }, timeoutMs);
    pc.onGatheringStateChange(
      guard('gathering callback', (state: string) => {
        if (state === 'complete') setImmediate(done);
      }),
    );
    if (pc.gatheringState() === 'complete') done();
  });
}

/** node-datachannel's API (its default export). */
export type DataChannelLibrary = typeof import('node-datachannel').default;

let library: Promise<DataChannelLibrary> | null = null;

/**
 * node-datachannel, loaded at the first WHIP or WHEP session rather than at start: an idle stack
 * does not hold libdatachannel (3 MB of RSS; docs/architecture.md, "Memory at idle").
 */
export function loadDataChannel(): Promise<DataChannelLibrary> {
  library ??= import('node-datachannel').then((m) => {
    initNativeLogger(m.default);
    return m.default;
  });
  return library;
}

/** Routes libdatachannel's warnings into the stack's log. */
function initNativeLogger(nd: DataChannelLibrary): void {
  nd.initLogger(
    'Warning',
    guard('native log', (level: string, message: string) => {
      log.warn(`libdatachannel ${level}: ${message}`);
    }),
  );
}
