// The supervisor's decisions, as pure functions of a child's state and the time. The supervisor
// holds the processes and the timers; what it does with them is decided here, so each rule can be
// tested at its boundary without a real process or a real clock.
import { backoffDelay } from '../backoff.js';

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A run at least this long was healthy: the next failure starts the backoff from the beginning. */
  readonly resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 30_000 };
export const DEFAULT_READY_TIMEOUT_MS = 15_000;

/** `always` restarts on any exit; `on-failure` not after exit code 0; `never` runs once. */
export type RestartPolicy = 'always' | 'on-failure' | 'never';

export interface ExitFacts {
  readonly desired: 'running' | 'stopped';
  readonly policy: RestartPolicy;
  readonly code: number | null;
  /** The supervisor killed it (watchdog, readiness, planned restart): that is never a clean finish. */
  readonly killedBySupervisor: boolean;
}

/** What becomes of a child that exited: brought back, or left stopped (clean finish) or failed. */
export function afterExit(exit: ExitFacts): 'restart' | 'stopped' | 'failed' {
  if (exit.desired === 'stopped') return 'stopped';
  const finishedCleanly = exit.code === 0 && !exit.killedBySupervisor;
  if (exit.policy === 'never') return exit.code === 0 ? 'stopped' : 'failed';
  if (exit.policy === 'on-failure' && finishedCleanly) return 'stopped';
  return 'restart';
}

export interface RestartPlan {
  readonly delayMs: number;
  /** The failure count to keep for the restart after this one. */
  readonly consecutiveFailures: number;
}

/**
 * The delay before the next start. `ranMs` is how long the run that just ended lasted, null when the
 * process could not even start: a run of resetAfterMs or more clears the failure count first.
 */
export function planRestart(consecutiveFailures: number, ranMs: number | null, backoff: BackoffPolicy): RestartPlan {
  const failures = ranMs !== null && ranMs >= backoff.resetAfterMs ? 0 : consecutiveFailures;
  return { delayMs: backoffDelay(failures, backoff.initialMs, backoff.maxMs), consecutiveFailures: failures + 1 };
}

export interface WatchdogLimits {
  /** Kill when the progress marker has not changed for this long. */
  readonly stallTimeoutMs?: number;
  /** Allowed time from spawn to the first marker; defaults to 3 × stallTimeoutMs. */
  readonly firstProgressTimeoutMs?: number;
  /** Planned restart: kill after the run lasted this long. */
  readonly maxRunMs?: number;
}

export interface WatchdogFacts {
  readonly now: number;
  readonly startedAtMs: number;
  /** When the marker last changed, and to what; null before the first one. */
  readonly lastProgress: { readonly atMs: number; readonly marker: string } | null;
}

/** Whether the watchdog has anything to watch for these limits (else no timer is armed). */
export function needsWatchdog(limits: WatchdogLimits): boolean {
  return Boolean(limits.stallTimeoutMs || limits.maxRunMs);
}

/** The reason to kill the child now, or null while it is within its limits. A limit is reached at exactly its value. */
export function watchdogVerdict(limits: WatchdogLimits, facts: WatchdogFacts): string | null {
  const { stallTimeoutMs: stall, maxRunMs } = limits;
  const ranMs = facts.now - facts.startedAtMs;
  if (maxRunMs && ranMs >= maxRunMs) return `planned restart after ${Math.round(maxRunMs / 1000)} s`;
  if (!stall) return null;
  if (!facts.lastProgress) {
    const first = limits.firstProgressTimeoutMs ?? stall * 3;
    return ranMs >= first ? `no progress within ${Math.round(first / 1000)} s of start` : null;
  }
  const frozenMs = facts.now - facts.lastProgress.atMs;
  return frozenMs >= stall ? `progress stalled for ${Math.round(frozenMs / 1000)} s (last: ${facts.lastProgress.marker})` : null;
}

/** Whether a child still not ready has used up its readiness time. */
export function readyTimedOut(now: number, startedAtMs: number, readyTimeoutMs = DEFAULT_READY_TIMEOUT_MS): boolean {
  return now - startedAtMs >= readyTimeoutMs;
}
