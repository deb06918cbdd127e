// HS256 JWTs signed with the API secret, as SRS Stack issues them (docs/compatibility.md §2.3): claims v, nonce,
// iat, exp (365 days). Implemented on node:crypto: a dozen lines do not justify a dependency.
import crypto from 'node:crypto';

export interface TokenClaims {
  v: string;
  nonce: string;
  iat: number;
  exp: number;
}

export const TOKEN_LIFETIME_SECONDS = 365 * 24 * 3600;

const b64url = (buf: Buffer | string) => Buffer.from(buf).toString('base64url');

export function signToken(secret: string, nowSeconds = Math.floor(Date.now() / 1000)): { token: string; claims: TokenClaims } {
  const claims: TokenClaims = {
    v: '1.0',
    nonce: crypto.randomBytes(8).toString('hex'),
    iat: nowSeconds,
    exp: nowSeconds + TOKEN_LIFETIME_SECONDS,
  };
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return { token: `${head}.${body}.${sig}`, claims };
}

/** Returns the claims of a valid, unexpired token signed with `secret`, or a reason it is not. */
export function verifyToken(
  secret: string,
  token: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): { ok: true; claims: TokenClaims } | { ok: false; reason: string } {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'token is malformed' };
  const [head, body, sig] = parts as [string, string, string];
  let header: { alg?: string };
  let claims: Partial<TokenClaims>;
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'token is malformed' };
  }
  if (header.alg !== 'HS256') return { ok: false, reason: 'token algorithm must be HS256' };
  const expected = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'token signature is invalid' };
  }
  if (typeof claims.exp !== 'number' || claims.exp < nowSeconds) return { ok: false, reason: 'token is expired' };
  return { ok: true, claims: claims as TokenClaims };
}
