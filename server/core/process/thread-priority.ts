// Lowers the CPU priority of the calling thread only (Linux's nice value is per thread: man 2
// setpriority, "BUGS"; the thread is named by its tid). Used by worker threads whose work is
// throughput, not latency — the records' MP4 transmuxing (features/record/live-mp4-worker.ts) —
// so that on a saturated box the kernel runs the stack's event loop, nginx-rtmp and the encoders'
// connections first and the worker catches up after (docs/compatibility.md §5.8).
import { libc } from '../libc.js';

const PRIO_PROCESS = 0;

/** The calling thread's id (as in /proc/self/task/<tid>). */
export function threadId(): number {
  return libc().gettid();
}

/**
 * Sets the calling thread's nice value (0 normal, 19 lowest; raising it needs no privilege, and it
 * cannot be lowered again without one). Returns why it could not, or '' once set.
 */
export function niceThisThread(nice: number): string {
  try {
    const { gettid, setpriority } = libc();
    return setpriority(PRIO_PROCESS, gettid(), nice) === 0 ? '' : 'setpriority refused';
  } catch (err) {
    return (err as Error).message;
  }
}
