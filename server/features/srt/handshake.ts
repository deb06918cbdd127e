// The decision the SRT listen callback takes before accepting a caller (gateway-worker.ts explains
// the threading): pure and synchronous, because it runs while libsrt's receive thread waits for
// it. It checks what can be known from the streamid and a snapshot the main thread pushes; admission
// (the user's HTTP callback included) still runs in the main thread after accept.
import { publishAllowed, secretFor, type PublishRules } from '../live-streams/publish-rules.js';
import { parseStreamId, type SrtStreamId } from './streamid.js';

/** What the main thread tells the gateway about publish rules and live streams. */
export interface HandshakePolicy extends PublishRules {
  /** The engine's applications (`live`). */
  readonly apps: readonly string[];
  /** `app/stream` of every live stream (any ingest). */
  readonly live: readonly string[];
}

/** libsrt's reject reasons for the application range (srt/access_control.h): 1000 + an HTTP code. */
export const REJECT = {
  BAD_REQUEST: 1400,
  UNAUTHORIZED: 1401,
  FORBIDDEN: 1403,
  NOT_FOUND: 1404,
  CONFLICT: 1409,
  UNAVAILABLE: 1503,
} as const;

export type HandshakeVerdict =
  | { readonly accept: true; readonly id: SrtStreamId }
  | { readonly accept: false; readonly code: number; readonly reason: string; readonly id?: SrtStreamId };

/**
 * `reserved`: names the gateway itself holds (accepted publishers not yet in `live`).
 * `hsVersion` < 5 callers (SRT < 1.3) cannot send a streamid at all.
 */
export function handshakeVerdict(
  streamid: string,
  hsVersion: number,
  policy: HandshakePolicy | null,
  reserved: (key: string) => boolean,
): HandshakeVerdict {
  if (hsVersion < 5) return { accept: false, code: REJECT.BAD_REQUEST, reason: 'handshake version < 5: no streamid' };
  const parsed = parseStreamId(streamid);
  if (!parsed.ok) return { accept: false, code: REJECT.BAD_REQUEST, reason: parsed.error };
  const { id } = parsed;
  if (!policy) return { accept: false, code: REJECT.UNAVAILABLE, reason: 'the stack is starting', id };
  if (!policy.apps.includes(id.app)) return { accept: false, code: REJECT.NOT_FOUND, reason: `no app "${id.app}"`, id };
  const key = `${id.app}/${id.stream}`;
  const live = policy.live.includes(key);
  if (id.mode === 'request') {
    return live ? { accept: true, id } : { accept: false, code: REJECT.NOT_FOUND, reason: `stream ${key} is not live`, id };
  }
  if (!policy.authDisabled) {
    if (!publishAllowed(id, secretFor(policy, id.stream)))
      return { accept: false, code: REJECT.UNAUTHORIZED, reason: 'wrong or missing secret', id };
  }
  if (live || reserved(key)) return { accept: false, code: REJECT.CONFLICT, reason: `stream ${key} is already publishing`, id };
  return { accept: true, id };
}
