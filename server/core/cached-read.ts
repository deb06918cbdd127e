// A value kept in Redis that only this process writes, read on a path that must not wait for Redis:
// the publish hook (docs/architecture.md, "How a publish flows"). Each Redis round trip there is a
// wait for redis-server to be scheduled and for the event loop to come back, and on a busy 2-core
// box those waits are the hook's p99 (README, Performance, "Publish hook").
//
// Readers get the last value loaded. Whoever writes calls invalidate() once the write is done, so
// the next read loads it again. A value older than `maxAgeMs` is still served while a reload runs
// in the background: a change made behind the stack's back (redis-cli) shows within that time. A
// failed reload keeps the last value; with none loaded yet, the read fails as a plain read would.

export class CachedRead<T> {
  private value: { readonly data: T; readonly at: number } | null = null;
  private loading: Promise<T> | null = null;
  /** Bumped by invalidate(): a load started before a write never stores what it read. */
  private generation = 0;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<T> {
    const cached = this.value;
    if (!cached) return this.reload();
    if (this.now() - cached.at > this.maxAgeMs) this.reload().catch(() => undefined);
    return cached.data;
  }

  /** After a write: the next read loads the value again. */
  invalidate(): void {
    this.generation += 1;
    this.value = null;
    this.loading = null;
  }

  private reload(): Promise<T> {
    if (this.loading) return this.loading;
    const generation = this.generation;
    const loading = this.load()
      .then((data) => {
        if (this.generation === generation) this.value = { data, at: this.now() };
        return data;
      })
      .finally(() => {
        if (this.loading === loading) this.loading = null;
      });
    this.loading = loading;
    return loading;
  }
}
