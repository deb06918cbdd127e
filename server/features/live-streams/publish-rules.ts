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

/** SRS_STREAM_ACTIVE field: `{app}/{stream}`, or `{vhost}/{app}/{stream}` off the default vhost. */
export function streamKey(vhost: string, app: string, stream: string): string {
  return vhost && vhost !== DEFAULT_VHOST ? `${vhost}/${app}/${stream}` : `${app}/${stream}`;
}
