// The recorder's time: the wait window, the finishing retries and the wait for Redis at start all
// read this clock, so unit tests drive them with a manual one instead of waiting for real.
export type Cancel = () => void;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fire` once after `ms`; the returned function cancels it. A promise `fire` returns must
   * not reject: a manual clock awaits it (so a test sees the work done), the system clock drops it.
   */
  after(ms: number, fire: () => unknown): Cancel;
  /** Calls `fire` every `ms` until cancelled, without keeping the process alive; same rule for its promise. */
  every(ms: number, fire: () => unknown): Cancel;
  /** Resolves after `ms`, without keeping the process alive. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fire) {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  },
  every(ms, fire) {
    const timer = setInterval(fire, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()),
};

/** RFC3339 time of the clock's now, as records store it. */
export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
