// Capped exponential backoff, shared by everything that retries: the supervisor restarting a child,
// the HTTP callback sender, the record finisher. It lives apart from any of them because none of
// them owns it.

/** The delay before retry number `failures` (0-based): initial, 2×, 4×… never above max. */
export function backoffDelay(failures: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(failures, 30));
}

/**
 * Failures of one job per key (a record's thumbnail), so a failure is retried later, not on every
 * request and not never: after failure n the key waits backoffDelay(n - 1) and, after `maxFailures`,
 * stays refused (bounded: a record without video never gets a frame). In memory: a restart retries.
 */
export class RetryGate {
  private readonly failures = new Map<string, { count: number; retryAt: number }>();

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly maxFailures: number,
  ) {}

  /** Whether `key` may be tried at `now` (ms). */
  allowed(key: string, now: number): boolean {
    const f = this.failures.get(key);
    return !f || (f.count < this.maxFailures && now >= f.retryAt);
  }

  failed(key: string, now: number): void {
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    this.failures.set(key, { count, retryAt: now + backoffDelay(count - 1, this.initialMs, this.maxMs) });
  }

  succeeded(key: string): void {
    this.failures.delete(key);
  }
}
