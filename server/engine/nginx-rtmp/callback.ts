// Normalises the engine's HTTP callbacks to SRS's hook vocabulary (reference §3.2, §15.2), so the
// publish rules and everything listening to stream events are engine-agnostic.
//
// nginx-rtmp posts `application/x-www-form-urlencoded` with its own fields first (app, flashver,
// swfurl, tcurl, pageurl, addr, clientid, call, name, type…) and then the publish URL's query
// arguments flattened into the same form. A client can therefore send `?name=x`: only the first
// occurrence of each of nginx's fields is nginx's, every other pair belongs to SRS's `param`.
import { ValidationError } from '../../core/errors.js';
import type { Body } from '../../core/validate.js';
import { DEFAULT_VHOST, type EngineCallback } from '../media-engine.js';

const NGINX_FIELDS = new Set([
  'app',
  'flashver',
  'swfurl',
  'tcurl',
  'pageurl',
  'addr',
  'clientid',
  'call',
  'name',
  'type',
  'start',
  'duration',
  'reset',
]);

const NGINX_CALLS: Record<string, EngineCallback['action']> = {
  publish: 'on_publish',
  publish_done: 'on_unpublish',
  play: 'on_play',
  play_done: 'on_stop',
};

/** nginx-rtmp identifies its own relay connections (push/pull) with this flash version. */
export const NGINX_RELAY_FLASHVER = 'ngx-local-relay';

/** Stream names are bounded: they become Redis fields, file names and URLs. */
export const MAX_STREAM_NAME = 1024;

export function parseNginxCallback(rawForm: string): EngineCallback {
  const own = new Map<string, string>();
  const extra: Array<[string, string]> = [];
  for (const [key, value] of new URLSearchParams(rawForm)) {
    if (NGINX_FIELDS.has(key) && !own.has(key)) own.set(key, value);
    else extra.push([key, value]);
  }
  const call = own.get('call') ?? '';
  const action = NGINX_CALLS[call];
  if (!action) throw new ValidationError(`unsupported engine callback "${call}"`);
  const flashver = own.get('flashver') ?? '';
  const query = new URLSearchParams(extra).toString();
  return checked({
    action,
    vhost: DEFAULT_VHOST,
    app: own.get('app') ?? '',
    stream: own.get('name') ?? '',
    param: query ? `?${query}` : '',
    client_id: own.get('clientid') ?? '',
    ip: own.get('addr') ?? '',
    tcUrl: own.get('tcurl') ?? '',
    relay: flashver.startsWith(NGINX_RELAY_FLASHVER),
  });
}

/** SRS 5's JSON hook body, for a future SrsEngine posting to the same path. */
export function parseSrsCallback(body: Body): EngineCallback {
  const s = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : typeof body[k] === 'number' ? String(body[k]) : '');
  const action = s('action');
  if (action !== 'on_publish' && action !== 'on_unpublish' && action !== 'on_play' && action !== 'on_stop') {
    throw new ValidationError(`unsupported engine callback "${action}"`);
  }
  return checked({
    action,
    vhost: s('vhost') || DEFAULT_VHOST,
    app: s('app'),
    stream: s('stream'),
    param: s('param'),
    client_id: s('client_id'),
    ip: s('ip'),
    tcUrl: s('tcUrl'),
    relay: false,
  });
}

function checked(cb: EngineCallback): EngineCallback {
  if (!cb.app && !cb.relay) throw new ValidationError('engine callback without app');
  if (!cb.stream) throw new ValidationError('no stream: the stream name is empty');
  if (cb.stream.length > MAX_STREAM_NAME) throw new ValidationError(`stream name too long (max ${MAX_STREAM_NAME} characters)`);
  if (/[\0/\\]/.test(cb.stream) || cb.stream === '.' || cb.stream === '..') {
    throw new ValidationError('stream name must not contain /, \\ or NUL');
  }
  return cb;
}
