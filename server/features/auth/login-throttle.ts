// Wrong passwords slow down the client that sent them, not everybody (SRS Stack used one global
// lock and a 10 s sleep, so one attacker locked the admin out). After each failure the client must
// wait 1, 2, 4 … up to 60 s before its next attempt is even checked.
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; blockedUntil: number; lastAt: number }>();

  constructor(
    private readonly baseMs = 1000,
    private readonly maxMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxClients = 10_000,
  ) {}

  /** Milliseconds this client must still wait, 0 if it may try now. */
  waitFor(client: string): number {
    const entry = this.failures.get(client);
    if (!entry) return 0;
    return Math.max(0, entry.blockedUntil - this.now());
  }

  recordFailure(client: string): number {
    const now = this.now();
    const entry = this.failures.get(client) ?? { count: 0, blockedUntil: 0, lastAt: now };
    // Forget old history: a client that behaved for 15 minutes starts over.
    if (now - entry.lastAt > 15 * 60_000) entry.count = 0;
    entry.count += 1;
    entry.lastAt = now;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** (entry.count - 1));
    entry.blockedUntil = now + delay;
    this.failures.delete(client);
    this.failures.set(client, entry);
    // Bound memory under a spray of client addresses: drop the oldest entries.
    while (this.failures.size > this.maxClients) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
    return delay;
  }

  recordSuccess(client: string): void {
    this.failures.delete(client);
  }
}
