// A clock tests move by hand (features/record/clock.ts Clock): the recorder's wait window and
// retries, the timeshift store's pruning, without waiting for real.
import type { Cancel, Clock } from '../../server/features/record/clock.js';

/** A clock the test moves by hand; timers fire in order and their work is awaited. */
export class ManualClock implements Clock {
  private time = Date.parse('2025-01-01T00:00:00Z');
  private timers: Array<{ id: number; due: number; every: number | null; fire: () => unknown }> = [];
  private nextId = 1;

  now(): number {
    return this.time;
  }

  after(ms: number, fire: () => unknown): Cancel {
    return this.add(ms, null, fire);
  }

  every(ms: number, fire: () => unknown): Cancel {
    return this.add(ms, ms, fire);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Moves time forward without firing any timer, as if the process had been suspended (days in a test). */
  jump(ms: number): void {
    this.time += ms;
    for (const t of this.timers) t.due += ms;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, and waits for their work. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.due <= target).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.time = next.due;
      if (next.every === null) this.timers = this.timers.filter((t) => t !== next);
      else next.due += next.every;
      await next.fire();
    }
    this.time = target;
  }

  private add(ms: number, every: number | null, fire: () => unknown): Cancel {
    const id = this.nextId++;
    this.timers.push({ id, due: this.time + ms, every, fire });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  }
}
