// The recorder's single queue: every state change (a segment, record/end, the idle check, removal,
// the reload at start) runs alone, in arrival order, so none sees another half done.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` after everything queued before it, whether that succeeded or failed. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves once everything queued so far has run; never rejects. */
  async drained(): Promise<void> {
    await this.tail;
  }
}
