// A restream destination's state as a streamer can trust it (issue 18, docs/architecture.md "Restream
// destinations"): judged from what the destination receives (ffmpeg's progress, destination-meter.ts),
// not from whether the process is alive. Pure: the task's facts and a clock in, state and reason out.
import type { TaskLive } from '../../core/ffmpeg/tasks.js';
import { plainProblem, type PlainProblem } from './plain-errors.js';

export const DESTINATION_STATES = ['starting', 'connecting', 'live', 'stalled', 'retrying', 'failed'] as const;
export type DestinationState = (typeof DESTINATION_STATES)[number];

/**
 * No new media time for this long while running: stalled. ffmpeg prints stats twice a second, so a
 * few seconds of silence is a destination (or source) that stopped taking media; the supervisor's
 * watchdog kills the run at HEARTBEAT.stallTimeoutMs (10 s) and it becomes retrying.
 */
export const STALL_AFTER_MS = 4000;

/**
 * Failures retrying alone will not fix: the destination refused this stream (key, name, codec) or
 * does not exist. A run that ends like this without having delivered media is `failed` (the task
 * still retries in the background, in case the streamer fixes it on the platform's side); a drop
 * after media flowed, a destination that is down or slow, is `retrying`.
 */
const NEEDS_THE_STREAMER = new Set(['unknownHost', 'unauthorized', 'notFound', 'refused', 'badServer', 'codec', 'missingFile', 'notMedia']);

export type DestinationInput = Pick<TaskLive, 'status' | 'restarts' | 'lastError' | 'tail' | 'nextRestartAt' | 'destination'>;

export interface DestinationStatus {
  readonly state: DestinationState;
  /** Why, in ffmpeg's or the destination's own words (masked): stalled, retrying, failed. */
  readonly reason: string | null;
  /** The reason as a plain sentence (views/restream/i18n.json `restream.problem.*`), when known. */
  readonly problem: PlainProblem | null;
  /** When the next attempt starts, while waiting for it (ISO). */
  readonly nextAttemptAt: string | null;
}

export function destinationState(t: DestinationInput, nowMs: number): DestinationStatus {
  const d = t.destination;
  const status = (state: DestinationState, reason: string | null = null, problem: PlainProblem | null = null) => ({
    state,
    reason,
    problem,
    nextAttemptAt: t.status === 'backoff' ? t.nextRestartAt : null,
  });
  if (d.lastProgressAtMs !== null) {
    const silentMs = nowMs - d.lastProgressAtMs;
    if (silentMs < STALL_AFTER_MS) return status('live');
    return status('stalled', `no progress for ${Math.floor(silentMs / 1000)} s: the destination is not taking media`);
  }
  // Not delivering. A first attempt is starting, then connecting once its input is open; after a
  // failed run it is retrying (or failed, when the destination refused what it got).
  const failedBefore = t.restarts > 0 || t.status === 'backoff' || t.status === 'failed';
  if (!failedBefore) return status(d.inputOpened ? 'connecting' : 'starting');
  const problem = plainProblem(t.lastError, t.tail.join('\n'));
  const refused = !d.lastRunWasLive && problem !== null && NEEDS_THE_STREAMER.has(problem.key.replace('restream.problem.', ''));
  return status(refused || t.status === 'failed' ? 'failed' : 'retrying', t.lastError, problem);
}
