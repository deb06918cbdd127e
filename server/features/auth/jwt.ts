// HS256 JWTs signed with the API secret, as SRS Stack issues them (docs/compatibility.md §2.3): claims v, nonce,
// iat, exp (365 days). Signed and verified by `jose` (a maintained JOSE library) rather than by hand: the
// same library signs play URLs (features/play-auth), so there is one audited implementation of
// header parsing, algorithm pinning and constant-time comparison. Tokens are byte-compatible with the
// hand-written ones before (header {"alg":"HS256","typ":"JWT"}): tokens already issued keep verifying.
import crypto from 'node:crypto';

type Jose = typeof import('jose');
let loadedJose: Jose | undefined;
/**
 * jose, loaded at the first token signed or checked rather than at boot: its 46 modules are
 * memory an idle stack nobody logged in to never uses (docs/architecture.md, "Memory at idle").
 */
export async function jose(): Promise<Jose> {
  return (loadedJose ??= await import('jose'));
}

export interface TokenClaims {
  v: string;
  nonce: string;
  iat: number;
  exp: number;
}

export const TOKEN_LIFETIME_SECONDS = 365 * 24 * 3600;

/** jose wants the HMAC key as bytes: the secret's UTF-8, as node:crypto's createHmac(secret) used. */
export const hmacKey = (secret: string): Uint8Array => new TextEncoder().encode(secret);

export async function signToken(
  secret: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<{ token: string; claims: TokenClaims }> {
  const claims: TokenClaims = {
    v: '1.0',
    nonce: crypto.randomBytes(8).toString('hex'),
    iat: nowSeconds,
    exp: nowSeconds + TOKEN_LIFETIME_SECONDS,
  };
  const { SignJWT } = await jose();
  const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(hmacKey(secret));
  return { token, claims };
}

export type Verified<T> = { ok: true; claims: T } | { ok: false; reason: string };

/** Why jose refused a token, in the words the API has always answered with. */
export function refusalReason(err: unknown, { errors }: Jose): string {
  if (err instanceof errors.JWTExpired) return 'token is expired';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token algorithm must be HS256';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof errors.JWTClaimValidationFailed) return `token claim ${err.claim} is invalid`;
  return 'token is malformed';
}

/**
 * Verifies an HS256 JWT signed with `key` at `nowSeconds` (jose's currentDate), pinning the
 * algorithm (no `none`, no key confusion); expiry is required.
 */
export async function verifyHs256<T>(key: Uint8Array | CryptoKey, token: string, nowSeconds: number): Promise<Verified<T>> {
  const library = await jose();
  try {
    const { payload } = await library.jwtVerify(token, key, {
      algorithms: ['HS256'],
      currentDate: new Date(nowSeconds * 1000),
      requiredClaims: ['exp'],
    });
    return { ok: true, claims: payload as T };
  } catch (err) {
    return { ok: false, reason: refusalReason(err, library) };
  }
}

/** Returns the claims of a valid, unexpired token signed with `secret`, or a reason it is not. */
export function verifyToken(secret: string, token: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<Verified<TokenClaims>> {
  return verifyHs256<TokenClaims>(hmacKey(secret), token, nowSeconds);
}
