// Play authentication (docs/compatibility.md §13, "Private streams"): who may watch a stream, over
// every way of watching it (HLS and LL-HLS, HTTP-FLV, WHEP, SRT, RTMP). Off by default: SRS Stack's
// play URLs are public. Per stream or as the default:
//   signed    the play URL carries `token=<JWT>` (signing.ts), minted by the API for the console or
//             the user's own site; anything else is refused
//   callback  the user's HTTP receiver (System › Callback's target) answers on_play for each new
//             viewer, like on_publish (a timeout refuses when failClosed, the default); on_stop tells
//             it when an admitted viewer left
// A refusal is a ForbiddenError (HTTP 403 with the reason; SRT and RTMP drop the connection) and is
// counted in /metrics. Checks happen when a viewer starts (a connection, an HLS session): a viewer
// already watching is never cut by a settings change; an HLS session's grant lasts until the signed
// URL's expiry (signing.ts).
import { ForbiddenError, errorMessage } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { PlayAuthMode, PlayAuthSettings } from './settings.js';
import { PlaySigner, streamSubject, type PlayClaims } from './signing.js';

const log = createLogger('play-auth');

export type PlayProtocol = 'hls' | 'flv' | 'webrtc' | 'srt' | 'rtmp';
const PROTOCOLS: readonly PlayProtocol[] = ['hls', 'flv', 'webrtc', 'srt', 'rtmp'];

/** Why a viewer was refused, as /metrics labels it. */
export type RefusalKind = 'unsigned' | 'signature' | 'callback' | 'unavailable';
const KINDS: readonly RefusalKind[] = ['unsigned', 'signature', 'callback', 'unavailable'];

/** An HLS session admitted by on_play keeps its grant this long (it is re-admitted after). */
export const CALLBACK_GRANT_SECONDS = 24 * 3600;
/** The console's own players and share links: valid a day (a page left open, a link sent to a colleague). */
export const CONSOLE_SIGNED_SECONDS = 24 * 3600;
/** Longest a minted play URL may live. */
export const MAX_SIGNED_SECONDS = 366 * 24 * 3600;

export interface PlayRequest {
  readonly protocol: PlayProtocol;
  readonly vhost?: string;
  readonly app: string;
  readonly stream: string;
  /** The play URL's `token` ('' when none). */
  readonly token: string;
  readonly clientAddress: string;
  /** The play URL's query, SRS style, for on_play's `param`. */
  readonly param?: string;
  readonly clientId?: string;
}

/** The viewer callback the callback feature answers (features/callback/service.ts). */
export interface PlayCallbacks {
  /** Resolves to admit; throws to refuse (a refusal, or no answer when failClosed). */
  onPlay(viewer: PlayRequest, failClosed: boolean): Promise<void>;
  onStop(viewer: PlayRequest): void;
}

export interface Admitted {
  readonly via: PlayAuthMode;
  /** When the admission ends (seconds since the epoch): the signed URL's expiry; null: never. */
  readonly expiresAt: number | null;
  /** Call once when the viewer leaves (on_stop for callback admissions). */
  readonly left: () => void;
}

const NOTHING = () => undefined;

export class PlayAuth {
  private signer: PlaySigner | null = null;
  private signerKey: Uint8Array | null = null;
  private readonly refused = new Map<string, number>();
  private readonly admitted = new Map<string, number>();

  constructor(
    private readonly settings: Pick<PlayAuthSettings, 'current' | 'key' | 'modeFor'>,
    private readonly callbacks: PlayCallbacks,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  modeFor(app: string, stream: string): PlayAuthMode {
    return this.settings.modeFor(app, stream);
  }

  /** Whether viewers of app/stream must be admitted (anything but off). */
  guarded(app: string, stream: string): boolean {
    return this.modeFor(app, stream) !== 'off';
  }

  /** Mints a play URL token for app/stream, valid `seconds` from now, optionally for one address. */
  async sign(app: string, stream: string, seconds: number, ip = ''): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = this.nowSeconds() + seconds;
    const token = await this.requireSigner().sign({ sub: streamSubject(app, stream), exp: expiresAt, ...(ip ? { ip } : {}) });
    return { token, expiresAt };
  }

  /**
   * Admits a new viewer or throws ForbiddenError (counted). With the stream's mode off, every viewer
   * is admitted.
   */
  async admit(request: PlayRequest): Promise<Admitted> {
    const mode = this.modeFor(request.app, request.stream);
    try {
      const admitted = await this.decide(mode, request);
      this.count(this.admitted, request.protocol, mode);
      return admitted;
    } catch (err) {
      if (!(err instanceof PlayRefusal)) throw err;
      this.count(this.refused, request.protocol, err.kind);
      log.warn(
        `refused ${request.protocol} viewer of ${request.app}/${request.stream} from ${request.clientAddress || 'unknown'}: ${err.message}`,
      );
      throw new ForbiddenError(`play of ${request.app}/${request.stream} refused: ${err.message}`);
    }
  }

  /**
   * A signed token's claims if it is valid for this request, else null: a stream whose mode is off
   * still honours a valid URL (an HLS session then keeps its grant when play auth is turned on).
   */
  async validToken(request: PlayRequest): Promise<PlayClaims | null> {
    if (!request.token || !this.settings.key) return null;
    const verdict = await this.requireSigner().verify(request.token, request);
    return verdict.ok ? verdict.claims : null;
  }

  /** HLS: the grant for session `sid` of an admitted viewer (signing.ts). */
  async grant(request: PlayRequest, sid: string, admitted: Pick<Admitted, 'expiresAt'>): Promise<string> {
    const exp = admitted.expiresAt ?? this.nowSeconds() + CALLBACK_GRANT_SECONDS;
    return this.requireSigner().sign({ sub: streamSubject(request.app, request.stream), exp, sid });
  }

  /** HLS: checks a session's grant on its playlist and media requests; throws ForbiddenError (counted). */
  async checkGrant(request: PlayRequest, sid: string, grant: string): Promise<void> {
    const why = !grant
      ? { kind: 'unsigned' as const, message: 'this HLS URL carries no session grant (hls_auth): open the signed play URL again' }
      : await this.requireSigner()
          .verify(grant, { ...request, sid })
          .then((v) => (v.ok ? null : { kind: 'signature' as const, message: v.reason }));
    if (!why) return;
    this.count(this.refused, request.protocol, why.kind);
    throw new ForbiddenError(`play of ${request.app}/${request.stream} refused: ${why.message}`);
  }

  registerMetrics(metrics: Metrics): void {
    metrics.counter(
      'srs_stack_play_refused_total',
      'Viewers refused by play authentication, by protocol and reason (unsigned, signature, callback, unavailable).',
      () =>
        PROTOCOLS.flatMap((protocol) =>
          KINDS.map((reason) => ({ labels: { protocol, reason }, value: this.refused.get(`${protocol}/${reason}`) ?? 0 })),
        ),
    );
    metrics.counter(
      'srs_stack_play_admitted_total',
      'Viewers admitted, by protocol and the mode that admitted them (off, signed, callback).',
      () =>
        [...this.admitted].map(([key, value]) => {
          const [protocol = '', via = ''] = key.split('/');
          return { labels: { protocol, via }, value };
        }),
    );
  }

  private async decide(mode: PlayAuthMode, request: PlayRequest): Promise<Admitted> {
    if (mode === 'off') return { via: mode, expiresAt: (await this.validToken(request))?.exp ?? null, left: NOTHING };
    if (!this.settings.key) throw new PlayRefusal('unavailable', 'the stack is starting (its settings are not loaded yet)');
    if (mode === 'signed') {
      if (!request.token) throw new PlayRefusal('unsigned', 'this stream needs a signed play URL (token=…)');
      const verdict = await this.requireSigner().verify(request.token, request);
      if (!verdict.ok) throw new PlayRefusal('signature', verdict.reason);
      return { via: mode, expiresAt: verdict.claims.exp, left: NOTHING };
    }
    try {
      await this.callbacks.onPlay(request, this.settings.current.failClosed);
    } catch (err) {
      throw new PlayRefusal('callback', errorMessage(err));
    }
    let gone = false;
    return {
      via: mode,
      expiresAt: null,
      left: () => {
        if (gone) return;
        gone = true;
        this.callbacks.onStop(request);
      },
    };
  }

  private requireSigner(): PlaySigner {
    const key = this.settings.key;
    if (!key) throw new ForbiddenError('play authentication is starting: its key is not loaded yet');
    if (!this.signer || this.signerKey !== key) {
      this.signer = new PlaySigner(key);
      this.signerKey = key;
    }
    return this.signer;
  }

  private count(map: Map<string, number>, protocol: string, what: string): void {
    const key = `${protocol}/${what}`;
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}

class PlayRefusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
  ) {
    super(message);
  }
}

/** The `token` of a query (Koa's ctx.query or an SRS-style `?a=b` param). */
export function tokenOf(query: string | Readonly<Record<string, unknown>>): string {
  if (typeof query === 'string') return new URLSearchParams(query.replace(/^\?/, '')).get('token') ?? '';
  return typeof query.token === 'string' ? query.token : '';
}
