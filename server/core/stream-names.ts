// The one rule for stream (and app) names, and the one builder of the loopback URL the stack's own
// consumers (HTTP-FLV pulls, forward, transcode) play a live stream from. Every ingest, delivery
// server and form checks names here, so a name that can be published can be played everywhere
// (docs/architecture.md, "Stream names").
//
// Why these characters: the engine receives names raw from the RTMP command (nginx-rtmp and ffmpeg
// never percent-decode them), splits the query off at `?`, and ffmpeg cuts a URL at white space;
// names become file names (`<stream>.m3u8`), Redis fields and URL path components. So a name is
// refused when one of those would change it; everything else (`#`, `%`, `&`, quotes, non-ASCII)
// passes through unchanged and is escaped only where it goes into an HTTP URL.
import { ValidationError } from './errors.js';

/** The RTMP application users publish to (SRS Stack has only this one). */
export const LIVE_APP = 'live';

/** SRS's name for "no vhost given" (`__defaultVhost__`), kept in stored streams and callbacks. */
export const DEFAULT_VHOST = '__defaultVhost__';

/** Names are bounded: they become Redis fields, file names and URLs. */
export const MAX_STREAM_NAME = 1024;

/** Why `name` cannot be a stream or app name, or null when it can. */
export function streamNameProblem(name: string): string | null {
  if (!name) return 'the name is empty';
  if (name.length > MAX_STREAM_NAME) return `too long (max ${MAX_STREAM_NAME} characters)`;
  if (name === '.' || name === '..') return 'a dot segment is not a name';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f\s]/u.test(name)) return 'no spaces or control characters';
  if (/[/\\?]/.test(name)) return 'no /, \\ or ?';
  return null;
}

/** Throws a 400 naming the problem; `what` says which name (`stream`, `app`). */
export function checkStreamName(what: string, name: string): string {
  const problem = streamNameProblem(name);
  if (problem) {
    const shown = name.length > 40 ? `${name.slice(0, 40)}… (${name.length} chars)` : name;
    throw new ValidationError(`invalid ${what} name "${shown}": ${problem}`);
  }
  return name;
}

/**
 * A file name inside an engine output directory (`<stream>.m3u8`, `<stream>-12.ts`): a stream name
 * plus a short suffix, never a separator or a dot segment.
 */
export function isSafeFileName(value: string): boolean {
  return value.length > 0 && value.length <= MAX_STREAM_NAME + 16 && value !== '.' && value !== '..' && !/[/\\\0]/.test(value);
}

/**
 * The engine's RTMP URL of a live stream, for consumers inside the stack. The name goes raw: the
 * engine compares it byte for byte with the publisher's, and neither side decodes escapes.
 */
export function loopbackRtmpUrl(port: number, app: string, stream: string): string {
  return `rtmp://127.0.0.1:${port}/${app}/${stream}`;
}
