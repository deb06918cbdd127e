// Play authentication API (docs/compatibility.md §13, additions to SRS Stack's API, in its envelope):
//   /terraform/v1/mgmt/play-auth/query    → { mode, failClosed, streams: { "live/x": mode } }
//   /terraform/v1/mgmt/play-auth/update   { mode, failClosed? }             the default for every stream
//                                         { stream, app?, mode }           one stream (mode "default" drops it)
//   /terraform/v1/mgmt/play-auth/sign     { stream, app?, expires?, ip? } → a signed play URL's token and
//                                                                           the stream's play URLs with it
import { ValidationError } from '../../core/errors.js';
import { LIVE_APP, checkStreamName } from '../../core/stream-names.js';
import { optionalBoolean, optionalInteger, optionalString, requireString, type Body } from '../../core/validate.js';
import type { RouteHandlers } from '../../route-table.js';
import { MAX_SIGNED_SECONDS, type PlayAuth } from './service.js';
import { parseMode, type PlayAuthSettings } from './settings.js';

/** A minted URL lives an hour unless asked otherwise. */
export const DEFAULT_SIGNED_SECONDS = 3600;

/** The relative play URLs of app/stream carrying `token` (the console and the API answer them). */
export function signedPlayPaths(app: string, stream: string, token: string): Record<string, string> {
  const a = encodeURIComponent(app);
  const s = encodeURIComponent(stream);
  const t = `token=${encodeURIComponent(token)}`;
  return {
    flv: `/${a}/${s}.flv?${t}`,
    hls: `/${a}/${s}.m3u8?${t}`,
    llHls: `/${a}/${s}/ll.m3u8?${t}`,
    whep: `/rtc/v1/whep/?app=${a}&stream=${s}&${t}`,
    rtmpStream: `${stream}?${t}`,
    srtStreamId: `#!::r=${app}/${stream},m=request,token=${token}`,
  };
}

function target(body: Body): { app: string; stream: string } {
  const app = optionalString(body, 'app', 256) || LIVE_APP;
  return { app: checkStreamName('app', app), stream: checkStreamName('stream', requireString(body, 'stream', 1024)) };
}

export function playAuthHandlers(auth: PlayAuth, settings: PlayAuthSettings): RouteHandlers {
  return {
    'playAuth.query': () => settings.current,
    'playAuth.update': async ({ body }) => {
      if (body.stream !== undefined) {
        const { app, stream } = target(body);
        const mode = requireString(body, 'mode', 16);
        await settings.setStream(app, stream, mode === 'default' ? null : parseMode(mode, 'mode (or "default")'));
        return null;
      }
      if (body.mode === undefined && body.failClosed === undefined)
        throw new ValidationError('send mode (off, signed, callback) and/or failClosed');
      const mode = body.mode === undefined ? settings.current.mode : parseMode(body.mode);
      await settings.setDefault(mode, optionalBoolean(body, 'failClosed') ?? settings.current.failClosed);
      return null;
    },
    'playAuth.sign': async ({ body }) => {
      const { app, stream } = target(body);
      const seconds = optionalInteger(body, 'expires', 1, MAX_SIGNED_SECONDS) ?? DEFAULT_SIGNED_SECONDS;
      const ip = optionalString(body, 'ip', 64) ?? '';
      const { token, expiresAt } = await auth.sign(app, stream, seconds, ip);
      return { token, expiresAt: new Date(expiresAt * 1000).toISOString(), urls: signedPlayPaths(app, stream, token) };
    },
  };
}
