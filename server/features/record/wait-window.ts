// How long recording waits, decided from a clock reading, in one place. A record ends once its
// playlist has had no segment for the wait window, so a stream that comes back inside it (an
// encoder reconnecting) continues the same record; it ends at the next check after record/end; and
// once recording is turned off, after 30 s at most (SRS Stack's rule).
import type { LiveTask } from './recordings.js';

/** How often records are checked for the end of their window: the window's resolution. */
export const IDLE_CHECK_INTERVAL_MS = 300;
/** SRS Stack: with recording turned off, running tasks finish after 30 s instead of the window. */
export const DISABLED_WAIT_MS = 30_000;
/** How long a segment arriving before the first Redis connection waits for the records to be reloaded. */
export const RECOVERY_WAIT_MS = 15_000;

/** The window without segments after which a record ends. */
export function idleWindowMs(waitSeconds: number, recordingOn: boolean): number {
  return recordingOn ? waitSeconds * 1000 : Math.min(waitSeconds * 1000, DISABLED_WAIT_MS);
}

export type WaitingRecord = Pick<LiveTask, 'lastSegmentMs'> & { state: Pick<LiveTask['state'], 'msgs' | 'expired'> };

/**
 * Whether a record is over at `nowMs`: every segment it took is committed (none waits for a copy)
 * and it was ended by request, or more than the window passed since its last segment.
 */
export function recordIsOver(task: WaitingRecord, nowMs: number, windowMs: number): boolean {
  return task.state.msgs.length === 0 && (task.state.expired || nowMs - task.lastSegmentMs > windowMs);
}
