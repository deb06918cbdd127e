// HTTP callbacks (docs/compatibility.md §4): the stack POSTs on_publish, on_unpublish, on_record_begin and
// on_record_end to the user's target with SRS Stack's fields. on_publish is a veto: anything but
// HTTP 200 with code 0 rejects the stream. The others are notifications, retried a few times.
//
// On a timeout on_publish FAILS CLOSED: the callback is the user's admission check (paid rooms,
// per-user keys), and letting streams in because that check is down would open exactly what it
// guards. OBS and FFmpeg retry a refused publish by themselves, so streams return once the
// receiver answers again. The deadline keeps a dead receiver from holding the engine's publish.
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ForbiddenError, ValidationError, errorMessage } from '../../core/errors.js';
import type { DestinationEvent, EventHub, RecordEvent, StorageLowEvent, StreamInfo } from '../../core/events.js';
import { API_PREFIX } from '../../core/http.js';
import { createLogger, maskSecrets } from '../../core/logger.js';
import type { Histogram, Metrics } from '../../core/metrics.js';
import { backoffDelay } from '../../core/backoff.js';
import { CachedRead } from '../../core/cached-read.js';
import { isAccepted, postJson, type CallbackAnswer } from './client.js';
import type { CallbackStore, HookExchange, HookSettings } from './store.js';

const log = createLogger('callback');
/** A change made to the settings behind the stack's back (redis-cli) applies within this. */
const SETTINGS_MAX_AGE_MS = 5000;

export const EXAMPLE_PATH = `${API_PREFIX}/mgmt/hooks/example`;
const CALLBACK_ACTIONS = [
  'on_publish',
  'on_unpublish',
  'on_record_begin',
  'on_record_end',
  'on_play',
  'on_stop',
  'on_forward_error',
  'on_forward_recovered',
  'on_disk_low',
] as const;
/** Paths of the stack that a callback must never be sent to (everything except the example). */
const STACK_PATHS = /^\/(terraform|mgmt|api|rtc|console|players|tools)(\/|$)/;

export interface CallbackTiming {
  timeoutMs: number;
  /** Extra attempts for notifications (on_publish is never retried: the publisher is waiting). */
  retries: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Notifications waiting or retrying at once; more are dropped with a warning. */
  maxPending: number;
}

export const DEFAULT_TIMING: CallbackTiming = { timeoutMs: 5000, retries: 3, retryInitialMs: 1000, retryMaxMs: 10_000, maxPending: 200 };

export type CallbackBody = Record<string, string | number>;

/** Drops empty strings, as SRS Stack's omitempty fields do. */
function compact(fields: Record<string, string | number | undefined>): CallbackBody {
  const out: CallbackBody = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

/** What on_publish tells the receiver about the stream asking to be published. */
export type PublishFields = Pick<StreamInfo, 'vhost' | 'app' | 'stream' | 'param'>;

export function publishBody(requestId: string, opaque: string, s: PublishFields): CallbackBody {
  return compact({ request_id: requestId, action: 'on_publish', opaque, vhost: s.vhost, app: s.app, stream: s.stream, param: s.param });
}

/** A viewer (features/play-auth): on_play asks whether it may watch, on_stop says it left (SRS's fields). */
export interface ViewerFields extends PublishFields {
  readonly protocol: string;
  readonly clientAddress: string;
  readonly clientId?: string;
}

export function viewerBody(requestId: string, opaque: string, action: 'on_play' | 'on_stop', v: ViewerFields): CallbackBody {
  return compact({
    request_id: requestId,
    action,
    opaque,
    vhost: v.vhost,
    app: v.app,
    stream: v.stream,
    param: v.param,
    ip: v.clientAddress,
    client_id: v.clientId,
    protocol: v.protocol,
  });
}

export function unpublishBody(requestId: string, opaque: string, s: StreamInfo): CallbackBody {
  return compact({ request_id: requestId, action: 'on_unpublish', opaque, vhost: s.vhost, app: s.app, stream: s.stream });
}

export function recordBeginBody(requestId: string, opaque: string, r: RecordEvent): CallbackBody {
  return compact({ request_id: requestId, action: 'on_record_begin', opaque, vhost: r.vhost, app: r.app, stream: r.stream, uuid: r.uuid });
}

/** artifact_url is built from the stored host, so receivers can download the MP4 over HTTP. */
export function recordEndBody(requestId: string, opaque: string, r: RecordEvent, host: string, recordDir: string): CallbackBody {
  return {
    ...recordBeginBody(requestId, opaque, r),
    action: 'on_record_end',
    artifact_code: r.artifact_code ?? 0,
    artifact_path: r.artifact_path ?? path.join(recordDir, r.uuid, 'index.mp4'),
    artifact_url: `${host}${API_PREFIX}/hooks/record/hls/${r.uuid}/index.mp4`,
  };
}

/**
 * Ours (issue 19): the data disk fell under the user's free-space threshold (Record › Retention),
 * sent once per crossing while recording can still go on, so the receiver can act before it stops.
 */
export function diskLowBody(requestId: string, opaque: string, e: StorageLowEvent): CallbackBody {
  return compact({ request_id: requestId, action: 'on_disk_low', opaque, dir: e.dir, free_mb: e.free_mb, threshold_mb: e.threshold_mb });
}

/**
 * A restream destination that failed (or dropped after being live) and one that is live again
 * (docs/compatibility.md §4): sent once per transition, by every restream feature, not forward only.
 */
export function destinationBody(
  requestId: string,
  opaque: string,
  action: 'on_forward_error' | 'on_forward_recovered',
  d: DestinationEvent,
): CallbackBody {
  return compact({
    request_id: requestId,
    action,
    opaque,
    feature: d.feature,
    platform: d.platform,
    state: d.state,
    reason: d.reason,
    source: d.source,
    output: d.output,
  });
}

const LOOPBACK_NAMES = new Set(['localhost', '0.0.0.0', '::', '::1']);

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return LOOPBACK_NAMES.has(h) || h.endsWith('.localhost') || (net.isIPv4(h) && h.startsWith('127.')) || h === '::ffff:127.0.0.1';
}

export interface SelfAddress {
  /** The stack's own listen ports. */
  ports: number[];
  /** The name the console was reached by (e.g. stack.example.com). */
  requestHost: string;
}

/**
 * Why a target would send callbacks to this stack itself, or null. Only the example receiver may
 * be targeted there: anything else is an API that would refuse (and so reject every publish) or a
 * page, and a target that triggers events of its own would loop.
 */
export function selfTargetProblem(target: URL, self: SelfAddress): string | null {
  if (target.pathname === EXAMPLE_PATH) return null;
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const local = isLoopbackHost(target.hostname) && self.ports.includes(port);
  const viaPublicName = target.hostname.toLowerCase() === self.requestHost.toLowerCase() && STACK_PATHS.test(target.pathname);
  if (!local && !viaPublicName) return null;
  return `the target ${target.origin}${target.pathname} is this stack itself: callbacks to its own API or pages would be refused or loop; use your receiver's URL, or ${EXAMPLE_PATH} to test`;
}

export interface ApplyRequest {
  target: string;
  opaque: string;
  all: boolean;
  /** Base URL for artifact_url; empty: the origin the console was reached by. */
  host: string;
}

function normaliseHost(host: string): string {
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new ValidationError(`host must be a base URL like http://stack.example.com, got "${host}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname.replace(/\/+$/, '') !== '' || url.search) {
    throw new ValidationError(`host must be a base URL like http://stack.example.com (no path), got "${host}"`);
  }
  return url.origin;
}

function hostnameOf(origin: string): string {
  try {
    return new URL(origin).hostname;
  } catch {
    return ''; // a Host header no URL parser accepts: only the loopback rule applies
  }
}

/** The receiver did not answer (unreachable, timeout): on_play may fail open on it. */
class NoAnswerError extends Error {}

export class CallbackService {
  /** The settings while Redis has never answered: callbacks off. */
  private cached: HookSettings = { target: '', opaque: '', all: false, host: '' };
  /** The settings in memory: on_publish does not wait for Redis (core/cached-read.ts). */
  private readonly settingsRead = new CachedRead(async (): Promise<HookSettings> => {
    const { target, opaque, all, host } = await this.store.read();
    return { target, opaque, all, host };
  }, SETTINGS_MAX_AGE_MS);
  private readonly pending = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  /** Sent with each callback so one that reaches this very process is recognised as a loop. */
  readonly instanceId = crypto.randomBytes(8).toString('hex');
  private latency: Histogram | null = null;
  /** `action/reason` → failed attempts; reason `refused` (answered, not accepted) or `error` (no answer). */
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly store: CallbackStore,
    private readonly recordDir: string,
    private readonly ports: number[],
    readonly timing: CallbackTiming = DEFAULT_TIMING,
  ) {}

  listen(events: EventHub): void {
    events.on('stream.unpublished', (s) => this.notify((id, o) => unpublishBody(id, o, s)));
    events.on('record.begin', (r) => this.notify((id, o) => recordBeginBody(id, o, r)));
    events.on('record.end', (r) => this.notify((id, o, host) => recordEndBody(id, o, r, host, this.recordDir)));
    events.on('storage.low', (e) => this.notify((id, o) => diskLowBody(id, o, e)));
    events.on('restream.error', (d) => this.notify((id, o) => destinationBody(id, o, 'on_forward_error', d)));
    events.on('restream.recovered', (d) => this.notify((id, o) => destinationBody(id, o, 'on_forward_recovered', d)));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.pending]);
  }

  /** Prometheus collectors: how long the user's receiver takes, and how often it fails. */
  registerMetrics(metrics: Metrics): void {
    this.latency = metrics.histogram('srs_stack_callback_seconds', "Time the user's HTTP callback receiver took to answer, by action.");
    metrics.counter('srs_stack_callback_failures_total', 'HTTP callback attempts that failed, by action and reason (refused, error).', () =>
      CALLBACK_ACTIONS.flatMap((action) =>
        (['refused', 'error'] as const).map((reason) => ({
          labels: { action, reason },
          value: this.failures.get(`${action}/${reason}`) ?? 0,
        })),
      ),
    );
  }

  private countFailure(action: string, reason: 'refused' | 'error'): void {
    this.failures.set(`${action}/${reason}`, (this.failures.get(`${action}/${reason}`) ?? 0) + 1);
  }

  async query(): Promise<HookSettings & HookExchange> {
    return this.store.read();
  }

  async apply(request: ApplyRequest, requestOrigin: string): Promise<void> {
    const target = request.target.trim();
    if (target) {
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        throw new ValidationError(`target must be an http:// or https:// URL, got "${target}"`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new ValidationError(`target must be an http:// or https:// URL, got "${target}"`);
      }
      const problem = selfTargetProblem(url, { ports: this.ports, requestHost: hostnameOf(requestOrigin) });
      if (problem) throw new ValidationError(problem);
    }
    const settings = { target, opaque: request.opaque, all: request.all, host: normaliseHost(request.host || requestOrigin) };
    await this.store.save(settings);
    this.settingsRead.invalidate();
    this.cached = settings; // what applies if Redis stops answering before the next read
  }

  /** Redis holds the truth, kept in memory; while it restarts, the last settings seen still apply. */
  private async settings(): Promise<HookSettings> {
    try {
      this.cached = await this.settingsRead.get();
    } catch (err) {
      log.warn('cannot read the callback settings, using the last known ones', err);
    }
    return this.cached;
  }

  /**
   * The user's admission gate (the last of admission's gates): resolves when the receiver accepts
   * (or callbacks are off), throws to refuse the publish.
   */
  async onPublish(stream: PublishFields): Promise<void> {
    const s = await this.settings();
    if (!s.all || !s.target) return;
    const body = publishBody(crypto.randomUUID(), s.opaque, stream);
    try {
      await this.send(s.target, body);
    } catch (err) {
      throw new ForbiddenError(`publish of ${stream.app}/${stream.stream} rejected by the HTTP callback ${s.target}: ${errorMessage(err)}`);
    }
  }

  /**
   * A viewer's admission check (features/play-auth, callback mode): resolves when the receiver
   * accepts, throws to refuse. Same rules as on_publish (the timing's deadline, no retry); a receiver
   * that does not answer refuses the viewer only when `failClosed`, and with callbacks off or no
   * target there is nobody to ask: refused when `failClosed`, admitted otherwise.
   */
  async onPlay(viewer: ViewerFields, failClosed: boolean): Promise<void> {
    const s = await this.settings();
    if (!s.all || !s.target) {
      if (failClosed)
        throw new ForbiddenError('play authentication asks the HTTP callback, but no callback target is enabled (System › Callback)');
      return;
    }
    try {
      await this.send(s.target, viewerBody(crypto.randomUUID(), s.opaque, 'on_play', viewer));
    } catch (err) {
      if (err instanceof NoAnswerError && !failClosed) {
        log.warn(`on_play for ${viewer.app}/${viewer.stream}: ${err.message}; admitted (fail open)`);
        return;
      }
      throw new ForbiddenError(`refused by the HTTP callback ${s.target}: ${errorMessage(err)}`);
    }
  }

  /** An admitted viewer left (notification, retried like on_unpublish). */
  onStop(viewer: ViewerFields): void {
    void this.notify((id, o) => viewerBody(id, o, 'on_stop', viewer));
  }

  /** Queues a notification; the emitter never waits for the receiver. */
  private notify(build: (requestId: string, opaque: string, host: string) => CallbackBody): Promise<void> {
    const delivery = this.settings().then(async (s) => {
      if (!s.all || !s.target) return;
      if (this.pending.size >= this.timing.maxPending) {
        log.warn(`${this.pending.size} callbacks already pending: dropping one for ${s.target}`);
        return;
      }
      const body = build(crypto.randomUUID(), s.opaque, s.host);
      const run = this.deliver(s.target, body);
      this.pending.add(run);
      void run.finally(() => this.pending.delete(run));
    });
    return delivery;
  }

  private async deliver(target: string, body: CallbackBody): Promise<void> {
    const { retries, retryInitialMs, retryMaxMs } = this.timing;
    for (let attempt = 0; attempt <= retries; attempt++) {
      try {
        if (attempt > 0) await sleep(backoffDelay(attempt - 1, retryInitialMs, retryMaxMs), undefined, { signal: this.abort.signal });
        await this.send(target, body);
        return;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        const left = retries - attempt;
        log.warn(`${body.action} to ${target} failed${left ? `, ${left} retries left` : ', giving up'}`, err);
      }
    }
  }

  /** One POST; keeps the request and the answer for System › Callback; throws unless accepted. */
  private async send(target: string, body: CallbackBody): Promise<CallbackAnswer> {
    const action = String(body.action);
    const started = performance.now();
    let answer: CallbackAnswer;
    try {
      answer = await postJson(target, body, this.timing.timeoutMs, this.abort.signal, this.instanceId);
    } catch (err) {
      this.latency?.observe((performance.now() - started) / 1000, { action });
      this.countFailure(action, 'error');
      const reason = `no answer: ${errorMessage(err)}`;
      this.remember(target, body, reason, false);
      throw new NoAnswerError(reason, { cause: err });
    }
    this.latency?.observe((performance.now() - started) / 1000, { action });
    const accepted = isAccepted(answer);
    this.remember(target, body, answer.body, accepted);
    if (!accepted) {
      this.countFailure(action, 'refused');
      const snippet = answer.body.trim().slice(0, 200);
      throw new Error(`answered HTTP ${answer.status}${snippet ? ` ${snippet}` : ''}, expected HTTP 200 with {"code":0}`);
    }
    return answer;
  }

  /**
   * The record of the last exchange (and its log line) is a convenience: Redis trouble must not fail
   * the callback, and on_publish holds a publisher, so it is made after this turn's replies are
   * written (setImmediate): the wake-ups of redis-server and of the log's reader would otherwise
   * compete for a core with nginx's worker taking the hook's answer (docs/architecture.md, "How a
   * publish flows").
   */
  private remember(target: string, body: CallbackBody, answer: string, accepted: boolean): void {
    setImmediate(() => {
      if (accepted) log.info(maskSecrets(`${body.action} ${body.app ?? ''}/${body.stream ?? ''} accepted by ${target}`));
      this.store
        .saveExchange(JSON.stringify(body), answer)
        .catch((err: unknown) => log.warn('cannot store the last callback exchange', err));
    });
  }
}
