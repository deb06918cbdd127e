// Collectors for the stack process itself and every supervised child: redis-server and the engine
// by name, ffmpeg tasks by feature (forward-…, vlive-…, camera-…, transcode-…) and state.
import { createHistogram } from 'node:perf_hooks';
import type { Metrics } from '../metrics.js';
import type { ChildStatus, Supervisor } from './supervisor.js';

const TASK_FEATURES = ['forward', 'vlive', 'camera', 'transcode'] as const;
const CHILD_STATES: readonly ChildStatus[] = ['starting', 'ready', 'backoff', 'failed', 'stopped'];
/** The event-loop probe's interval (prom-client's nodejs_eventloop_lag samples as often). */
const LOOP_PROBE_MS = 10;

/** The feature an ffmpeg child belongs to, from its supervisor name; null for redis, nginx… */
export function taskFeature(childName: string): string | null {
  const prefix = childName.split('-')[0];
  return (TASK_FEATURES as readonly string[]).includes(prefix ?? '') ? (prefix as string) : null;
}

/** Registers the collectors; returns what stops the event-loop probe (the stack's stop). */
export function registerProcessMetrics(metrics: Metrics, supervisor: Supervisor): () => void {
  metrics.gauge('srs_stack_process_resident_memory_bytes', 'Resident memory of the stack process.', () => [
    { value: process.memoryUsage().rss },
  ]);
  metrics.counter('srs_stack_process_cpu_seconds_total', 'CPU time of the stack process.', () => {
    const u = process.cpuUsage();
    return [{ value: (u.user + u.system) / 1e6 }];
  });
  // What every player, the publish hook and the live tap wait for when the stack's thread is busy:
  // how late a 10 ms interval timer runs. (node's monitorEventLoopDelay records whole intervals and
  // skips the first one after a reset, so a stall just after a scrape would not be seen.)
  const lateness = createHistogram();
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    lateness.record(Math.max(1, Math.round((now - last - LOOP_PROBE_MS) * 1e6)));
    last = now;
  }, LOOP_PROBE_MS).unref();
  metrics.gauge(
    'srs_stack_event_loop_delay_seconds',
    "How late the stack's event loop ran its timers since the previous scrape: median, p99 and max (quantile 1).",
    () => {
      const at = (q: number) => (lateness.count === 0 ? 0 : (q === 1 ? lateness.max : lateness.percentile(q * 100)) / 1e9);
      const values = [0.5, 0.99, 1].map((q) => ({ labels: { quantile: String(q) }, value: at(q) }));
      lateness.reset();
      return values;
    },
  );
  metrics.gauge('srs_stack_child_up', 'Whether a supervised child process is running and ready (1) or not (0).', () =>
    supervisor.list().map((c) => ({ labels: { name: c.name }, value: c.status === 'ready' ? 1 : 0 })),
  );
  metrics.counter('srs_stack_child_restarts_total', 'Restarts of each supervised child process.', () => {
    const totals = supervisor.restartTotals();
    return supervisor.list().map((c) => ({ labels: { name: c.name }, value: totals.get(c.name) ?? 0 }));
  });
  metrics.gauge('srs_stack_tasks', 'ffmpeg tasks by feature and state (ready: running and making progress).', () => {
    const counts = new Map<string, number>();
    for (const c of supervisor.list()) {
      const feature = taskFeature(c.name);
      if (feature) counts.set(`${feature}/${c.status}`, (counts.get(`${feature}/${c.status}`) ?? 0) + 1);
    }
    return TASK_FEATURES.flatMap((feature) =>
      CHILD_STATES.map((state) => ({ labels: { feature, state }, value: counts.get(`${feature}/${state}`) ?? 0 })),
    );
  });
  metrics.counter('srs_stack_task_restarts_total', 'Restarts of ffmpeg tasks by feature (crashes, stalls, planned restarts).', () => {
    const sums = new Map<string, number>(TASK_FEATURES.map((f) => [f, 0]));
    for (const [name, restarts] of supervisor.restartTotals()) {
      const feature = taskFeature(name);
      if (feature) sums.set(feature, (sums.get(feature) ?? 0) + restarts);
    }
    return [...sums].map(([feature, value]) => ({ labels: { feature }, value }));
  });
  return () => clearInterval(probe);
}
