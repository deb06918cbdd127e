// SRT streamid → which stream, which direction, which secret (SRS's rules). Pure: the listen
// callback runs it on every handshake, the unit tests run it on the forms encoders send:
//   #!::r=live/<stream>?secret=<k>,m=publish     SRS Stack's publish URL
//   #!::r=live/<stream>,m=request                play (m defaults to request)
//   #!::h=<host>,r=live/<stream>,...             h is the host the caller dialled (kept, not a vhost)
//   #!::h=live/<stream>,m=publish                SRS 4's form: the resource in h
//   live/<stream>?secret=<k>                     plain form: publish with a secret, else play;
//                                                an explicit m=publish|request in the query wins
// Other `#!::` keys (u, s, t, latency…) stay in the param, like SRS. The param always gets
// `upstream=srt`: the user's HTTP callback and the registry see how the stream came in.
import { streamNameProblem } from '../../core/stream-names.js';

export type SrtMode = 'publish' | 'request';

export interface SrtStreamId {
  readonly app: string;
  readonly stream: string;
  readonly mode: SrtMode;
  /** What the caller put in `h=` (or the first of three path segments); '' when none. */
  readonly host: string;
  /** The `secret` query value; '' when none. */
  readonly secret: string;
  /** SRS-style query for admission: `?secret=…&upstream=srt`. */
  readonly param: string;
}

export type ParsedStreamId = { readonly ok: true; readonly id: SrtStreamId } | { readonly ok: false; readonly error: string };

/** Longest streamid SRT carries (SRTO_STREAMID is limited to 512 bytes). */
export const MAX_STREAMID = 512;

export function parseStreamId(sid: string): ParsedStreamId {
  if (typeof sid !== 'string' || !sid.trim()) return fail('empty streamid');
  if (sid.length > MAX_STREAMID) return fail(`streamid longer than ${MAX_STREAMID} characters`);
  const structured = sid.startsWith('#!::');
  let resource = '';
  let mode = '';
  let host = '';
  const extra: Array<[string, string]> = [];
  if (structured) {
    for (const kv of sid.slice(4).split(',')) {
      const i = kv.indexOf('=');
      if (i < 0) continue;
      const k = kv.slice(0, i).trim();
      const v = kv.slice(i + 1).trim();
      if (k === 'r') resource = v;
      else if (k === 'm') mode = v;
      else if (k === 'h') host = v;
      else if (k) extra.push([k, v]);
    }
    if (!resource && host.includes('/')) {
      resource = host;
      host = '';
    }
  } else {
    resource = sid.trim();
  }
  const q = resource.indexOf('?');
  const pathPart = (q < 0 ? resource : resource.slice(0, q)).replace(/^\/+|\/+$/g, '');
  const params = new URLSearchParams(q < 0 ? '' : resource.slice(q + 1));
  for (const [k, v] of extra) if (!params.has(k)) params.append(k, v);
  const queryMode = params.get('m');
  params.delete('m');
  if (!mode && queryMode) mode = queryMode;
  if (!mode) mode = structured ? 'request' : params.get('secret') ? 'publish' : 'request';
  if (mode !== 'publish' && mode !== 'request') return fail(`unknown mode "${mode}" (publish or request)`);
  const segs = pathPart.split('/').filter(Boolean);
  if (segs.length < 2 || segs.length > 3) return fail(`no app/stream in "${pathPart}"`);
  // vhost/app/stream: the first segment is the host, as SRS reads it.
  if (segs.length === 3) {
    const first = segs.shift() as string;
    if (!host) host = first;
  }
  const [app, stream] = segs as [string, string];
  const problem = streamNameProblem(app) ?? streamNameProblem(stream);
  if (problem) return fail(`bad name in "${pathPart}": ${problem}`);
  params.delete('upstream');
  params.set('upstream', 'srt');
  return { ok: true, id: { app, stream, mode, host, secret: params.get('secret') ?? '', param: `?${params.toString()}` } };
}

function fail(error: string): ParsedStreamId {
  return { ok: false, error };
}
