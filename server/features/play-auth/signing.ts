// Signed play URLs (docs/compatibility.md §13, "Private streams"): a play URL carries `token=<JWT>`,
// an HS256 signature (by `jose`, like the API's tokens in features/auth/jwt.ts) over the stream
// (`sub` = "app/stream"), the expiry (`exp`) and optionally the viewer's address (`ip`). The key is
// the stack's own play-signing key (settings.ts), never the API secret: a play URL handed to a
// viewer must not be able to open the API, and rotating one does not touch the other.
//
// HLS sessions carry a second kind of token, a grant (`hls_auth`), that the stack mints once it has
// admitted a player at its playlist (signature or on_play): the same signature over the stream, the
// player's hls_ctx session id (`sid`) and an expiry. Every segment URL of that session's playlists
// carries it, so a segment URL cannot be forged, moved to another stream or another session, or
// kept beyond its expiry, and no per-session state is needed to check it (a restart or a second
// instance with the same key accepts it as well).
import { jose, verifyHs256 } from '../auth/jwt.js';

export interface PlayClaims {
  /** "app/stream". */
  readonly sub: string;
  readonly exp: number;
  /** The viewer's address the URL is bound to, when it is. */
  readonly ip?: string;
  /** HLS grants: the hls_ctx session id. */
  readonly sid?: string;
}

export type PlayVerdict = { ok: true; claims: PlayClaims } | { ok: false; reason: string };

/** Verified tokens, by their exact text: players fetch every segment with the same grant. */
const CACHE_ENTRIES = 20_000;

export const streamSubject = (app: string, stream: string): string => `${app}/${stream}`;

export class PlaySigner {
  private readonly verified = new Map<string, PlayClaims>();
  /**
   * Imported once: given raw bytes, jose imports a WebCrypto key on every call, which made a
   * signature about 3 times slower (bench/play-auth.bench.ts measures what is left).
   */
  private readonly key: Promise<CryptoKey>;

  constructor(raw: Uint8Array) {
    this.key = globalThis.crypto.subtle.importKey('raw', new Uint8Array(raw), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  }

  async sign(claims: PlayClaims): Promise<string> {
    const { exp, ...rest } = claims;
    const { SignJWT } = await jose();
    return new SignJWT({ ...rest })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setExpirationTime(exp)
      .sign(await this.key);
  }

  /**
   * Checks a token against the stream it is used for, the session (grants) and the viewer's
   * address. Signatures are checked by jose once per token text; the cache only skips that
   * repeat, every claim is compared on every call.
   */
  async verify(
    token: string,
    want: { app: string; stream: string; clientAddress: string; sid?: string },
    nowSeconds = Math.floor(Date.now() / 1000),
  ): Promise<PlayVerdict> {
    let claims = this.verified.get(token);
    if (!claims) {
      const checked = await verifyHs256<PlayClaims>(await this.key, token, nowSeconds);
      if (!checked.ok) return { ok: false, reason: `signature refused: ${checked.reason}` };
      claims = checked.claims;
      if (this.verified.size >= CACHE_ENTRIES) this.verified.clear();
      this.verified.set(token, claims);
    }
    return checkClaims(claims, want, nowSeconds);
  }
}

/** The claims a valid signature carries, against what this request is: pure, unit-tested. */
export function checkClaims(
  claims: PlayClaims,
  want: { app: string; stream: string; clientAddress: string; sid?: string },
  nowSeconds: number,
): PlayVerdict {
  if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds) return { ok: false, reason: 'signature refused: token is expired' };
  if (claims.sub !== streamSubject(want.app, want.stream)) return { ok: false, reason: 'signature refused: signed for another stream' };
  if (claims.ip && normaliseAddress(claims.ip) !== normaliseAddress(want.clientAddress)) {
    return { ok: false, reason: 'signature refused: signed for another client address' };
  }
  if (want.sid !== undefined && claims.sid !== want.sid) return { ok: false, reason: 'signature refused: signed for another HLS session' };
  if (want.sid === undefined && claims.sid !== undefined) {
    return { ok: false, reason: 'signature refused: an HLS session grant is not a play URL signature' };
  }
  return { ok: true, claims };
}

/** IPv4 peers reach a dual-stack socket as ::ffff:a.b.c.d. */
export function normaliseAddress(address: string): string {
  return address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1').toLowerCase();
}
