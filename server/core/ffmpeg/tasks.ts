// The ffmpeg task layer on the supervisor. A feature describes what should run as plans (derived
// from its persisted config and the live streams); the group reconciles the supervised children with
// them: adds, replaces when the argv changed, removes what is no longer wanted. The supervisor does
// the rest per child (backoff, stall watchdog, pid files), so one failing task never touches another.
import crypto from 'node:crypto';
import type { Writable } from 'node:stream';
import { createLogger } from '../logger.js';
import type { RedisClient } from '../redis.js';
import type { ChildStatus, ExitInfo, SupervisedChild, Supervisor } from '../process/supervisor.js';
import { maskStreamUrl } from './argv.js';
import { DestinationMeter, type DestinationFacts } from './destination-meter.js';
import { HEARTBEAT, SpeedWatchdog, ffmpegErrorLine, parseProgress, progressMarker } from './progress.js';

export interface TaskPlan {
  /** The slot: a platform id (`wx`, `forwarding-1-a1b2c3`) or `global`. */
  readonly id: string;
  readonly args: readonly string[];
  /** Stream keys and other values masked wherever the argv or ffmpeg's output is shown. */
  readonly secrets: readonly string[];
  readonly input: string;
  readonly output: string;
  /** What the status shows as the source: `live/livestream`, a file uuid, a URL. */
  readonly source: string;
  readonly maxRunMs?: number;
  readonly abnormalFastSpeed?: number;
  /** Writes the input into each spawn's stdin (the args read `pipe:0`): the slate's ContinuousFeed. */
  readonly feed?: (stdin: Writable) => void;
}

/** A task's actual state, for the API and the console. */
export interface TaskLive {
  uuid: string;
  status: ChildStatus;
  pid: number | null;
  source: string;
  input: string;
  output: string;
  start: string | null;
  ready: string | null;
  frame: { log: string; update: string } | null;
  bitrateKbps: number | null;
  /** Over the last 10 s, as the abnormal-speed watchdog judges it (ffmpeg's own until then). */
  speed: number | null;
  restarts: number;
  lastError: string | null;
  lastExit: ExitInfo | null;
  tail: string[];
  /** While waiting to restart: when the next attempt starts (ISO). */
  nextRestartAt: string | null;
  /** What the destination received, across this task's runs (destination-meter.ts). */
  destination: DestinationFacts;
}

export interface TaskGroupOptions {
  /** `forward`, `vlive`, `camera`, `transcode`: the child-name prefix. */
  readonly kind: string;
  /** SRS Stack's `SRS_*_TASK` hash: uuid → {uuid, platform, input, output, pid}. */
  readonly taskKey: string;
  readonly ffmpeg: string;
  readonly supervisor: Supervisor;
  readonly redis: RedisClient;
  readonly planner: () => Promise<TaskPlan[]>;
  /** Re-plan at least this often, for changes nobody announced (a stream that vanished). */
  readonly intervalMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number; readonly resetAfterMs: number };
}

interface Running {
  plan: TaskPlan;
  uuid: string;
  child: SupervisedChild;
  speed: SpeedWatchdog;
  meter: DestinationMeter;
}

const TAIL_SHOWN = 20;
const DEFAULT_BACKOFF = { initialMs: 1000, maxMs: 8000, resetAfterMs: 20_000 };

export class FfmpegTaskGroup {
  private readonly running = new Map<string, Running>();
  private readonly log;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private cleared = false;

  constructor(private readonly opts: TaskGroupOptions) {
    this.log = createLogger(opts.kind);
    opts.redis.onReady(`${opts.kind} tasks`, () => this.poke());
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.poke(), this.opts.intervalMs ?? 3000);
    this.timer.unref();
    this.poke();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
    await Promise.all([...this.running.keys()].map((id) => this.remove(id)));
  }

  /** Re-plan soon (coalesced): after a config change or a stream event. */
  poke(): void {
    void this.reconcile();
  }

  /** Re-plans now and resolves when the children match the plans. */
  reconcile(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      try {
        do {
          this.again = false;
          await this.reconcileOnce();
        } while (this.again && !this.stopped);
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }

  live(id: string): TaskLive | null {
    const r = this.running.get(id);
    if (!r) return null;
    const s = r.child.state;
    const progress = s.lastProgress ? parseProgress(s.lastProgress.line) : null;
    return {
      uuid: r.uuid,
      status: s.status,
      pid: s.pid,
      source: r.plan.source,
      input: maskStreamUrl(r.plan.input),
      output: maskStreamUrl(r.plan.output),
      start: s.startedAt,
      ready: s.readyAt,
      frame: s.lastProgress ? { log: s.lastProgress.line, update: s.lastProgress.at } : null,
      bitrateKbps: progress?.bitrateKbps ?? null,
      speed: r.speed.recent ?? progress?.speed ?? null,
      restarts: s.restarts,
      lastError: s.lastError,
      lastExit: s.lastExit,
      tail: s.tail.slice(-TAIL_SHOWN),
      nextRestartAt: s.nextRestartAt,
      destination: r.meter.facts,
    };
  }

  /** Every running task's state, by slot id. */
  lives(): Array<[string, TaskLive]> {
    return [...this.running.keys()].flatMap((id) => {
      const live = this.live(id);
      return live ? [[id, live] as [string, TaskLive]] : [];
    });
  }

  private async reconcileOnce(): Promise<void> {
    if (!this.opts.redis.isReady) return;
    let plans: TaskPlan[];
    try {
      if (!this.cleared) {
        // Entries of a previous run: their processes were reaped through the pid files at boot.
        await this.opts.redis.redis.del(this.opts.taskKey);
        this.cleared = true;
      }
      plans = await this.opts.planner();
    } catch (err) {
      this.log.warn('cannot plan tasks, keeping the running ones', err);
      return;
    }
    if (this.stopped) return;
    const wanted = new Map(plans.map((p) => [p.id, p]));
    for (const [id, r] of [...this.running]) {
      const plan = wanted.get(id);
      if (!plan || !samePlan(plan, r.plan)) await this.remove(id);
    }
    for (const plan of plans) {
      if (this.running.has(plan.id) || this.stopped) continue;
      try {
        this.add(plan);
      } catch (err) {
        this.log.error(`cannot start task ${plan.id}`, err);
      }
    }
  }

  private childName(id: string): string {
    return `${this.opts.kind}-${id}`;
  }

  private add(plan: TaskPlan): void {
    const uuid = crypto.randomUUID();
    const speed = new SpeedWatchdog(plan.abnormalFastSpeed ?? HEARTBEAT.abnormalFastSpeed);
    const meter = new DestinationMeter();
    const child = this.opts.supervisor.add({
      name: this.childName(plan.id),
      command: this.opts.ffmpeg,
      args: plan.args,
      secrets: plan.secrets,
      restart: 'always',
      backoff: this.opts.backoff ?? DEFAULT_BACKOFF,
      stopSignal: 'SIGTERM',
      stopTimeoutMs: 3000,
      progress: progressMarker,
      stallTimeoutMs: HEARTBEAT.stallTimeoutMs,
      firstProgressTimeoutMs: HEARTBEAT.firstProgressTimeoutMs,
      maxRunMs: plan.maxRunMs,
      stdin: plan.feed,
      onLine: (line) => {
        meter.line(line, Date.now());
        return speed.check(line);
      },
      onExit: () => {
        speed.reset();
        meter.exit();
      },
      errorLine: ffmpegErrorLine,
      onSpawn: (pid) => void this.persist(uuid, plan, pid),
    });
    this.running.set(plan.id, { plan, uuid, child, speed, meter });
    child.start();
  }

  private async remove(id: string): Promise<void> {
    const r = this.running.get(id);
    if (!r) return;
    this.running.delete(id);
    await this.opts.supervisor.remove(this.childName(id));
    try {
      if (this.opts.redis.isReady) await this.opts.redis.redis.hdel(this.opts.taskKey, r.uuid);
    } catch {
      /* cleared at the next boot */
    }
  }

  private async persist(uuid: string, plan: TaskPlan, pid: number): Promise<void> {
    const task = { uuid, platform: plan.id, input: maskStreamUrl(plan.input), output: maskStreamUrl(plan.output), pid };
    try {
      if (this.opts.redis.isReady) await this.opts.redis.redis.hset(this.opts.taskKey, uuid, JSON.stringify(task));
    } catch (err) {
      this.log.warn(`cannot save task ${plan.id}`, err);
    }
  }
}

/**
 * Whether a running task already does what the plan asks. The input's description counts too: a
 * forward's slate grace period lives in its feed, not in the argv (`live/x (slate 60 s)`), and a
 * new grace period takes a new feed.
 */
function samePlan(a: TaskPlan, b: TaskPlan): boolean {
  return (
    a.input === b.input &&
    a.args.length === b.args.length &&
    a.args.every((x, i) => x === b.args[i]) &&
    a.maxRunMs === b.maxRunMs &&
    a.abnormalFastSpeed === b.abnormalFastSpeed &&
    a.source === b.source
  );
}
