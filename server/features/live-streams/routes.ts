// Streams API (docs/compatibility.md §2.5, §3.1 streams, §10 HLS modes, §3.2 engine hook, §3.8 live rooms) and
// the System › Authentication / Streams / HLS tabs and Scenarios › LiveRoom.
import { shownTime } from '../../core/views.js';
import { LIVE_APP } from '../../core/stream-names.js';
import type Koa from 'koa';
import { optionalString, requireBoolean, requireString, type Body } from '../../core/validate.js';
import type { StreamRequest } from '../../core/stream-request.js';
import type { EngineHookEvent, MediaEngine } from '../../engine/media-engine.js';
import type { RouteHandlers } from '../../route-table.js';
import type { Console } from '../console/console.js';
import type { HlsSettings } from '../hls/settings-store.js';
import { rtmpServerUrl, splitHost } from '../streaming-guide/urls.js';
import type { Admission } from './admission.js';
import type { LiveRoomService } from './live-room-service.js';
import type { LiveRoom } from './live-room-store.js';
import type { PublishSecrets } from './publish-secrets.js';
import type { LiveRegistry } from './registry.js';
import { consolePlayPath, shownMedia } from './stream-view.js';

export interface StreamsDeps {
  readonly registry: LiveRegistry;
  readonly admission: Admission;
  readonly secrets: PublishSecrets;
  readonly hlsSettings: HlsSettings;
  readonly rooms: LiveRoomService;
  readonly engine: MediaEngine;
  /** Play authentication of RTMP viewers (features/play-auth): admits (throws to refuse) and hears them leave. */
  /** A private stream's console play path with its signed token (features/play-auth); absent: public paths. */
  readonly signPlayPath?: (app: string, stream: string, path: string) => Promise<string>;
  readonly rtmpViewers?: {
    play(request: StreamRequest): Promise<void>;
    stop(request: StreamRequest): void;
  };
}

/** The engine's stream events, decoded by its adapter: publishes and ends go through admission. */
async function onEngineHook(event: EngineHookEvent, { admission, registry, rtmpViewers }: StreamsDeps): Promise<void> {
  switch (event.action) {
    case 'publish':
      return admission.publish(event.request);
    case 'unpublish':
      return admission.unpublish(event.request);
    case 'play':
      if (event.relay) return;
      // A refusal answers the engine's on_play with 403: nginx-rtmp drops the player.
      if (!admission.isBridge(event.request)) await rtmpViewers?.play(event.request);
      await registry.countPlay();
      return;
    case 'stop':
      if (!event.relay) rtmpViewers?.stop(event.request);
      return;
  }
}

function roomFrom(body: Body): LiveRoom {
  return {
    uuid: requireString(body, 'uuid', 64),
    title: optionalString(body, 'title', 1024) ?? '',
    stream: requireString(body, 'stream', 1024),
    secret: requireString(body, 'secret', 1024),
    roomToken: optionalString(body, 'roomToken', 64) ?? '',
    created_at: optionalString(body, 'created_at', 64) ?? '',
    stage_uuid: optionalString(body, 'stage_uuid', 64) ?? '',
  };
}

export function streamsHandlers(deps: StreamsDeps): RouteHandlers {
  const { registry, secrets, hlsSettings, rooms, engine } = deps;
  const secret = () => secrets.current();
  return {
    'streams.verify': async ({ ctx }) => {
      const rawBody = typeof ctx.state.rawBody === 'string' ? ctx.state.rawBody : '';
      await onEngineHook(engine.decodeHook({ query: ctx.query, contentType: ctx.get('content-type'), rawBody }), deps);
      return null;
    },

    'streams.secret': secret,
    'streams.secretQuery': secret,
    'streams.secretUpdate': async ({ body }) => {
      await secrets.update(requireString(body, 'secret', 1024));
      return null;
    },
    'streams.secretDisable': async ({ body }) => {
      await secrets.setAuthDisabled(requireBoolean(body, 'pubNoAuth'));
      return null;
    },

    'streams.query': async () => {
      const list = await registry.query();
      return { streams: list.length ? list : null };
    },
    'streams.kickoff': async ({ body }) => {
      await registry.kickoff(requireString(body, 'vhost', 256), requireString(body, 'app', 256), requireString(body, 'stream', 1024));
      return null;
    },

    'streams.hlsllQuery': () => ({ hlsLowLatency: hlsSettings.current.hlsLowLatency }),
    'streams.hlsllUpdate': async ({ body }) => {
      await hlsSettings.setLowLatency(requireBoolean(body, 'hlsLowLatency'));
      return null;
    },
    'streams.hphlsQuery': () => ({ noHlsCtx: hlsSettings.current.noHlsCtx }),
    'streams.hphlsUpdate': async ({ body }) => {
      await hlsSettings.setNoHlsCtx(requireBoolean(body, 'noHlsCtx'));
      return null;
    },

    'rooms.create': ({ body }) => rooms.create(requireString(body, 'title', 1024)),
    'rooms.query': ({ body }) => rooms.get(requireString(body, 'uuid', 64)),
    'rooms.update': ({ body }) => rooms.update(roomFrom(body)),
    'rooms.list': async () => ({ rooms: await rooms.list() }),
    'rooms.remove': async ({ body }) => {
      await rooms.remove(requireString(body, 'uuid', 64));
      return null;
    },

    'streams.secretForm': async (_ctx, form) => {
      await secrets.update(requireString(form, 'secret', 1024));
    },
    'streams.noAuthForm': async (_ctx, form) => {
      await secrets.setAuthDisabled(form.pubNoAuth === 'true' || form.pubNoAuth === 'on');
    },
    'streams.hlsllForm': async (_ctx, form) => {
      await hlsSettings.setLowLatency(form.hlsLowLatency === 'on' || form.hlsLowLatency === 'true');
      return 'hls.applied';
    },
    'streams.hphlsForm': async (_ctx, form) => {
      await hlsSettings.setNoHlsCtx(form.noHlsCtx === 'on' || form.noHlsCtx === 'true');
      return 'hls.applied';
    },
    'streams.kickoffForm': async (_ctx, form) => {
      await registry.kickoff(requireString(form, 'vhost', 256), requireString(form, 'app', 256), requireString(form, 'stream', 1024));
      return 'streams.kicked';
    },
    'rooms.createForm': async (_ctx, form) => {
      await rooms.create(requireString(form, 'title', 1024));
      return 'room.created';
    },
    'rooms.removeForm': async (_ctx, form) => {
      await rooms.remove(requireString(form, 'uuid', 64));
      return 'room.removed';
    },
  };
}

/** The RTMP server users publish to, as this browser reaches the stack (docs/compatibility.md §12.2 URL rules). */
function rtmpServer(ctx: Koa.Context, displayPort: string): string {
  return rtmpServerUrl(splitHost(ctx.host).hostname, displayPort);
}

export function registerStreamsTabs(
  ui: Console,
  { registry, secrets, hlsSettings, rooms, signPlayPath }: StreamsDeps,
  rtmpDisplayPort: string,
): void {
  const playPath = (app: string, stream: string) => {
    const path = consolePlayPath(app, stream);
    return signPlayPath ? signPlayPath(app, stream, path) : Promise.resolve(path);
  };
  ui.addTab({
    section: 'system',
    id: 'auth',
    titleKey: 'pubauth.tab',
    order: 10,
    template: 'streams/auth',
    load: async (ctx) => ({
      secret: (await secrets.current()).publish,
      allowNoAuth: ctx.query['allow-noauth'] === 'true',
      noAuth: await secrets.isAuthDisabled(),
      rtmpServer: rtmpServer(ctx, rtmpDisplayPort),
    }),
  });
  ui.addTab({
    section: 'system',
    id: 'hls',
    titleKey: 'hls.tab',
    order: 30,
    template: 'streams/hls',
    load: async () => ({ modes: hlsSettings.current }),
  });
  ui.addTab({
    section: 'system',
    id: 'streams',
    titleKey: 'streams.tab',
    order: 70,
    template: 'streams/streams',
    load: async () => ({
      streams: await Promise.all(
        (await registry.query()).map(async (s) => ({
          ...s,
          updated: shownTime(s.update),
          media: shownMedia(s),
          playUrl: await playPath(s.app, s.stream),
        })),
      ),
    }),
  });
  ui.addTab({
    section: 'scenarios',
    id: 'stream',
    titleKey: 'room.tab',
    order: 30,
    template: 'streams/rooms',
    load: async (ctx) => ({
      rooms: await Promise.all(
        (await rooms.list()).map(async (r) => ({ ...r, created: shownTime(r.created_at), playUrl: await playPath(LIVE_APP, r.stream) })),
      ),
      rtmpServer: rtmpServer(ctx, rtmpDisplayPort),
    }),
  });
}
