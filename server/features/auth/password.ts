// Admin passwords are stored as scrypt hashes, never in plain text (SRS Stack kept them in .env).
import crypto from 'node:crypto';
import { promisify } from 'node:util';

// Its 16 MB of work memory is mapped on its own and given back when freed: core/idle-memory.ts,
// setMallocPolicy (a login used to keep it for good).
const scrypt = promisify(crypto.scrypt) as (pw: string, salt: Buffer, len: number, opts: crypto.ScryptOptions) => Promise<Buffer>;
const PARAMS = { N: 16384, r: 8, p: 1 };
const KEY_LEN = 32;

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password, salt, KEY_LEN, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, saltB64, keyB64] = stored.trim().split('$');
  if (scheme !== 'scrypt' || !saltB64 || !keyB64) return false;
  const expected = Buffer.from(keyB64, 'base64');
  const key = await scrypt(password, Buffer.from(saltB64, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && crypto.timingSafeEqual(key, expected);
}

/** Passwords proposed on the setup page: 16 hex characters, like SRS Stack's. */
export function randomPassword(): string {
  return crypto.randomBytes(8).toString('hex');
}

export function validateNewPassword(password: string): string | null {
  if (password.length < 6) return 'password must be at least 6 characters';
  if (password.length > 256) return 'password must be at most 256 characters';
  return null;
}
