// What went wrong, in one sentence a first-time streamer can act on. ffmpeg, ffprobe and our own
// checks word their failures for developers ("Input/output error", "Connection refused"); the
// console shows the sentence this maps them to (views/restream/i18n.json, `restream.problem.*`)
// and keeps the raw text beside it for whoever needs it. Pure: unit-tested on real ffmpeg output.
import { OUTPUT_SERVER_RULE } from './slots.js';

/** Our own refusal of a slot started without a source; the mapping below recognises it. */
export const NO_SOURCE_MESSAGE = 'no source yet: choose a file or a stream first, then start';

export interface PlainProblem {
  /** An i18n key under `restream.problem.`. */
  readonly key: string;
  readonly params: Record<string, string>;
}

/** `rtsp://admin:pw@10.0.0.5:554/s1` → `10.0.0.5:554`: where it failed, without the password. */
export function addressIn(text: string): string {
  const url = /\b(?:rtmps?|rtsp|srt|https?|tcp|udp):\/\/(?:[^\s/@'"]*@)?([^\s/?'"]+)/i.exec(text);
  return url?.[1] ?? '';
}

interface Rule {
  readonly key: string;
  readonly test: RegExp;
  /** The parameter the sentence names, when the text gives it. */
  readonly params?: (text: string) => Record<string, string>;
}

const at = (text: string) => ({ address: addressIn(text) || '?' });

// Most specific first: a failed name lookup also ends in "Input/output error", and so does a refused publish.
const RULES: readonly Rule[] = [
  { key: 'noSource', test: /choose a file or a stream first/i },
  { key: 'badServer', test: new RegExp(OUTPUT_SERVER_RULE) /* no RegExp specials in it */ },
  {
    key: 'unknownHost',
    test: /Failed to resolve hostname|Name or service not known|nodename nor servname|Temporary failure in name resolution/i,
    params: (text) => ({ host: /Failed to resolve hostname (\S+?):/i.exec(text)?.[1] ?? (addressIn(text).replace(/:\d+$/, '') || '?') }),
  },
  { key: 'noAnswer', test: /Connection refused|No route to host|Network is unreachable/i, params: at },
  { key: 'timeout', test: /timed out|Connection timeout/i, params: at },
  { key: 'unauthorized', test: /401 Unauthorized|403 Forbidden|authorization failed/i, params: at },
  { key: 'notFound', test: /404 Not Found|Stream not found|NetStream\.Play\.StreamNotFound/i, params: at },
  // The destination's format cannot carry the codec (ffmpeg refuses before sending anything).
  { key: 'codec', test: /not compatible with flv|codec not currently supported in container|Could not find tag for codec/i },
  { key: 'missingFile', test: /No such file or directory/i },
  { key: 'notMedia', test: /Invalid data found when processing input|no video or audio stream found/i },
  // A server that takes the connection and then drops it at publish: nginx-rtmp (this stack) when the
  // secret is wrong, and the platforms when the stream key is.
  {
    key: 'refused',
    test: /Input\/output error|Broken pipe|Connection reset by peer|End of file|NetStream\.Publish\.(?:BadName|Rejected)|Server error|connection rejected/i,
  },
];

/**
 * The plain sentence for a failure, or null: a task's last error with its output tail, or an error
 * message. The most specific cause anywhere in them wins, since ffmpeg's last line is often only the
 * generic consequence ("Input/output error" after "Failed to resolve hostname").
 */
export function plainProblem(...texts: ReadonlyArray<string | null | undefined>): PlainProblem | null {
  const text = texts.filter(Boolean).join('\n');
  const rule = text ? RULES.find((r) => r.test.test(text)) : undefined;
  return rule ? { key: `restream.problem.${rule.key}`, params: rule.params?.(text) ?? {} } : null;
}
