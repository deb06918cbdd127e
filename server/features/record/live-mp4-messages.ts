// The messages between the record writers (live-mp4.ts, on the stack's thread) and their worker
// thread (live-mp4-worker.ts). A module of its own so that the stack's thread, which imports only
// this, does not load the muxer and mux.js (docs/architecture.md, "Memory at idle").

export type MuxRequest =
  | { seq: number; id: string; op: 'push'; ts: Uint8Array }
  | { seq: number; id: string; op: 'finish' }
  | { seq: number; id: string; op: 'close' };

export interface MuxReply {
  seq: number;
  /** Why the writer's MP4 cannot be made; the muxer is gone then. */
  error?: string;
  /** Fragments to write in order after the reserve. */
  parts?: Uint8Array[];
  /** Bytes reserved at the file's start for its head (0 until known). */
  reserve?: number;
  /** The file's head, on finish. */
  head?: Uint8Array;
}

/** A view that owns its whole ArrayBuffer, so it can be transferred without taking others' bytes along. */
export function ownBuffer(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  return whole ? bytes : new Uint8Array(bytes);
}

/** The distinct buffers of `views`, to transfer. */
export function transferList(views: readonly Uint8Array[]): ArrayBuffer[] {
  return [...new Set(views.map((v) => v.buffer as ArrayBuffer))];
}
