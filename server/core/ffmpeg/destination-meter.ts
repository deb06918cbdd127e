// What a task's destination actually received, from ffmpeg's own stats lines (`size=` / `time=` /
// `bitrate=`), across the runs of one task: the truth a destination's state is judged from
// (docs/architecture.md, "Restream destinations"), not whether the process is alive. Fed lines and
// a clock, so it is unit-tested.
import { parseProgress } from './progress.js';

/**
 * Media must flow this long before a run counts as having been live. A destination that refuses the
 * stream key (nginx-rtmp's `deny publish`, the platforms) takes the connection and drops it a moment
 * later, and ffmpeg may print a progress line (the GOP cache's burst, its closing `Lsize=` summary)
 * before it notices: that is a refusal, not a drop after live.
 */
export const LIVE_CONFIRM_MS = 3000;

export interface DestinationFacts {
  /** Bytes written to the destination by every run of this task (a counter: never goes down). */
  readonly bytesOut: number;
  /** When the current run's media time last advanced (ms); null before its first progress. */
  readonly lastProgressAtMs: number | null;
  /** When the current run first made progress: the destination is taking media since then. */
  readonly liveSinceMs: number | null;
  /** The current run opened its input (ffmpeg printed `Input #0`): it is connecting to the destination. */
  readonly inputOpened: boolean;
  /** Whether the run that ended last had delivered media for LIVE_CONFIRM_MS (a drop after live, not a refusal). */
  readonly lastRunWasLive: boolean;
  /** Runs that ended after having been live: the times the destination dropped and was reconnected. */
  readonly reconnects: number;
}

export class DestinationMeter {
  private bytesBefore = 0;
  private runBytes = 0;
  private lastTime = '';
  private lastProgressAtMs: number | null = null;
  private liveSinceMs: number | null = null;
  private inputOpened = false;
  private lastRunWasLive = false;
  private reconnects = 0;

  line(raw: string, nowMs: number): void {
    if (!this.inputOpened && /^Input #0\b/.test(raw)) this.inputOpened = true;
    const p = parseProgress(raw);
    if (!p) return;
    if (p.sizeBytes !== null && p.sizeBytes > this.runBytes) this.runBytes = p.sizeBytes;
    if (p.time === this.lastTime) return;
    this.lastTime = p.time;
    this.lastProgressAtMs = nowMs;
    this.liveSinceMs ??= nowMs;
  }

  /** The run ended: its bytes stay counted, its liveness is what the next state is judged by. */
  exit(): void {
    this.lastRunWasLive = this.liveSinceMs !== null && (this.lastProgressAtMs ?? 0) - this.liveSinceMs >= LIVE_CONFIRM_MS;
    if (this.lastRunWasLive) this.reconnects += 1;
    this.bytesBefore += this.runBytes;
    this.runBytes = 0;
    this.lastTime = '';
    this.lastProgressAtMs = null;
    this.liveSinceMs = null;
    this.inputOpened = false;
  }

  get facts(): DestinationFacts {
    return {
      bytesOut: this.bytesBefore + this.runBytes,
      lastProgressAtMs: this.lastProgressAtMs,
      liveSinceMs: this.liveSinceMs,
      inputOpened: this.inputOpened,
      lastRunWasLive: this.lastRunWasLive,
      reconnects: this.reconnects,
    };
  }
}
