// SRS Stack's publish rules (docs/compatibility.md §2.5), pure so they are tested without an engine.
import { DEFAULT_VHOST } from '../../core/stream-names.js';

/**
 * Accepts when there is no secret, or when the publish URL's query or the stream name contains it
 * (FAQ "How to Disable Push Authentication": `rtmp://ip/live/livestreamSECRET` works for encoders
 * that cannot send `?secret=`). Substring matching is SRS Stack's rule, kept for compatibility.
 */
export function publishAllowed(request: { stream: string; param: string }, secret: string): boolean {
  if (!secret) return true;
  return request.param.includes(secret) || request.stream.includes(secret);
}

/** What a publish is checked against: SRS_AUTH_SECRET's switch, stream secret and live rooms' secrets. */
export interface PublishRules {
  readonly authDisabled: boolean;
  readonly secret: string;
  /** Stream name → its live room's publish secret. */
  readonly rooms: Readonly<Record<string, string>>;
}

/** The secret a publish of `stream` needs: its live room's, else the stream secret ('' = none). */
export function secretFor(rules: PublishRules, stream: string): string {
  // Own keys only: a stream named "constructor" is not Object.prototype's.
  return Object.hasOwn(rules.rooms, stream) ? (rules.rooms[stream] as string) : rules.secret;
}

/** SRS_STREAM_ACTIVE field: `{app}/{stream}`, or `{vhost}/{app}/{stream}` off the default vhost. */
export function streamKey(vhost: string, app: string, stream: string): string {
  return vhost && vhost !== DEFAULT_VHOST ? `${vhost}/${app}/${stream}` : `${app}/${stream}`;
}
