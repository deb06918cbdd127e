// Comparing secrets (API secret, passwords, the engine's hook token) without leaking their content
// through timing.
import crypto from 'node:crypto';

/** Constant-time string comparison for secrets: equal-length digests, whatever the inputs' lengths. */
export function secretsEqual(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb) && a.length === b.length;
}
