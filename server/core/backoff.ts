// Capped exponential backoff, shared by everything that retries: the supervisor restarting a child,
// the HTTP callback sender, the record finisher. It lives apart from any of them because none of
// them owns it.

/** The delay before retry number `failures` (0-based): initial, 2×, 4×… never above max. */
export function backoffDelay(failures: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(failures, 30));
}
