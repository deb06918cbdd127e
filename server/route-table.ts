// Every HTTP route of the stack, in one place: methods, path, auth rule, body kind and answer kind
// (core/routing.ts explains each). Features export handlers keyed by these ids; the composition
// root (app.ts) binds them and installs the table. A route not listed here does not exist; an entry
// without a handler stops the start; the security sweep reads this module without building an App.
//
// Order is match order. Specific routes first; the media routes (`/:app/...`) after them, because
// they match any two- or three-segment path; `/` last. File trees are prefixes, served before all.
//
// Adding WHIP later: one entry per method whose body or answer differs, for example
//   'whip.publish': directRoute(['POST'], '/rtc/v1/whip/', open('…'), { raw: 'application/sdp', limit: 64 * 1024 }),
//   'whip.trickle': directRoute(['PATCH'], '/rtc/v1/whip/:session', open('…'), { raw: 'application/trickle-ice-sdpfrag', limit: 16 * 1024 }),
//   'whip.stop': directRoute(['DELETE'], '/rtc/v1/whip/:session', open('…'), 'none'),
// placed before the media routes; the handler of a raw body receives it as a string. A new auth
// kind (say, a stream's publish secret) is a new AuthRule variant plus its guard in app.ts.
import {
  SECURED,
  SESSION,
  SESSION_PAGE,
  apiRoute,
  directRoute,
  engineHook,
  fileRoute,
  formRoute,
  getRoute,
  listRoutes,
  open,
  type Handlers,
  type RouteTable,
} from './core/routing.js';
import { ENGINE_HOOK_PATH } from './engine/nginx-rtmp/engine.js';

const VERSION_PROBE = open('version probe used by health checks and the installer');
const RECORD_PREVIEW = open(
  'record previews are loaded by players, which cannot send a Bearer header (SRS Stack leaves them open too); ' +
    'the record UUID (122 random bits, listed only by the authenticated record/files) is the capability',
);

export const ROUTE_TABLE = {
  // File trees (app.ts binds them).
  'console.assets': fileRoute('/mgmt/public', open("the console's CSS, scripts and images; the login page needs them")),
  'console.vendorHls': fileRoute('/mgmt/vendor/hls', open("the in-page HLS player, from hls.js's npm package")),
  'console.vendorMpegts': fileRoute('/mgmt/vendor/mpegts', open("the in-page FLV player, from mpegts.js's npm package")),
  'console.vendorUplot': fileRoute('/mgmt/vendor/uplot', open("the stream page's charts, from uPlot's npm package")),
  'https.wellKnown': fileRoute(
    '/.well-known',
    open("Let's Encrypt's HTTP-01 challenges (and whatever the user puts in <data>/.well-known)"),
  ),

  // Auth API and pages: features/auth/routes.ts
  'auth.init': apiRoute('/mgmt/init', open('first-run setup; refuses once a password exists')),
  'auth.login': apiRoute('/mgmt/login', open('login; throttled per client')),
  'auth.token': apiRoute('/mgmt/token', SECURED),
  'auth.secretQuery': apiRoute('/mgmt/secret/query', SECURED),
  'auth.setupPage': getRoute('/mgmt/setup', open('the first-run setup page; redirects to login once a password exists')),
  'auth.setup': directRoute(['POST'], '/mgmt/setup', open('first-run setup from the page; refuses once a password exists'), 'form'),
  'auth.loginPage': getRoute('/mgmt/login', open('the login page')),
  'auth.loginForm': directRoute(['POST'], '/mgmt/login', open('login from the page; throttled per client'), 'form'),
  'auth.logout': formRoute('/mgmt/logout'),

  // System API, tabs' forms and /metrics: features/system/routes.ts
  'system.versions': apiRoute('/mgmt/versions', VERSION_PROBE),
  'system.hostVersions': apiRoute('/host/versions', VERSION_PROBE),
  'system.ffmpegVersions': apiRoute('/ffmpeg/versions', VERSION_PROBE),
  'system.hooksVersions': apiRoute('/hooks/versions', VERSION_PROBE),
  'system.tencentVersions': apiRoute('/tencent/versions', VERSION_PROBE),
  'system.check': apiRoute('/mgmt/check', open('readiness probe: the console polls it before login')),
  'system.envs': apiRoute('/mgmt/envs', open('display ports and slot limits the login page needs; no secrets')),
  'system.beianQuery': apiRoute('/mgmt/beian/query', open('site title and footer shown on the public login page')),
  'system.status': apiRoute('/mgmt/status', SECURED),
  'system.beianUpdate': apiRoute('/mgmt/beian/update', SECURED),
  'system.limitsQuery': apiRoute('/mgmt/limits/query', SECURED),
  'system.limitsUpdate': apiRoute('/mgmt/limits/update', SECURED),
  'system.supervisorQuery': apiRoute('/mgmt/supervisor/query', SECURED),
  'system.websiteForm': formRoute('/mgmt/system/website'),
  'system.limitsForm': formRoute('/mgmt/system/limits'),
  // Behind the API secret: scrapers send bearer tokens, and through a panel's proxy every request
  // looks like loopback, so "open on loopback" would mean open to the internet.
  'system.metrics': getRoute('/metrics', SECURED),

  // HTTPS API and forms: features/https/routes.ts
  'https.ssl': apiRoute('/mgmt/ssl', SECURED),
  'https.letsencrypt': apiRoute('/mgmt/letsencrypt', SECURED),
  'https.letsencryptStatus': apiRoute('/mgmt/letsencrypt/status', SECURED),
  'https.autoSelfSigned': apiRoute('/mgmt/auto-self-signed-certificate', SECURED),
  'https.certQuery': apiRoute('/mgmt/cert/query', SECURED),
  'https.sslForm': formRoute('/mgmt/system/ssl'),
  'https.letsencryptForm': formRoute('/mgmt/system/letsencrypt'),

  // Callback API and form: features/callback/routes.ts
  'callback.query': apiRoute('/mgmt/hooks/query', SECURED),
  'callback.apply': apiRoute('/mgmt/hooks/apply', SECURED),
  'callback.example': apiRoute(
    '/mgmt/hooks/example',
    open('built-in test receiver for callbacks (SRS Stack has no auth here); it only echoes'),
  ),
  'callback.form': formRoute('/mgmt/system/callback'),

  // Record API, previews and forms: features/record/routes.ts
  'record.query': apiRoute('/hooks/record/query', SECURED),
  'record.apply': apiRoute('/hooks/record/apply', SECURED),
  'record.globs': apiRoute('/hooks/record/globs', SECURED),
  'record.postProcessing': apiRoute('/hooks/record/post-processing', SECURED),
  'record.files': apiRoute('/hooks/record/files', SECURED),
  'record.end': apiRoute('/hooks/record/end', SECURED),
  'record.remove': apiRoute('/hooks/record/remove', SECURED),
  'record.library': apiRoute('/hooks/record/library', SECURED),
  'record.rename': apiRoute('/hooks/record/rename', SECURED),
  'record.clip': apiRoute('/hooks/record/clip', SECURED),
  'record.retentionQuery': apiRoute('/hooks/record/retention/query', SECURED),
  'record.retentionApply': apiRoute('/hooks/record/retention/apply', SECURED),
  'record.dvr': apiRoute('/hooks/record/hls/:uuid/dvr.m3u8', RECORD_PREVIEW),
  'record.thumbnail': apiRoute('/hooks/record/hls/:uuid/thumbnail.jpg', RECORD_PREVIEW),
  'record.previewPlaylist': apiRoute('/hooks/record/hls/:uuid.m3u8', RECORD_PREVIEW),
  'record.previewIndex': apiRoute('/hooks/record/hls/:uuid/index.m3u8', RECORD_PREVIEW),
  'record.previewSegment': apiRoute('/hooks/record/hls/record/:uuid/:tsid.ts', RECORD_PREVIEW),
  'record.previewMp4': apiRoute('/hooks/record/hls/:uuid/index.mp4', RECORD_PREVIEW),
  'record.applyForm': formRoute('/mgmt/record/apply'),
  'record.globsForm': formRoute('/mgmt/record/globs'),
  'record.postProcessingForm': formRoute('/mgmt/record/post-processing'),
  'record.endForm': formRoute('/mgmt/record/end'),
  'record.removeForm': formRoute('/mgmt/record/remove'),
  'record.renameForm': formRoute('/mgmt/record/rename'),
  'record.clipForm': formRoute('/mgmt/record/clip'),
  'record.retentionForm': formRoute('/mgmt/record/retention'),

  // Console navigation: features/console/routes.ts
  'console.lang': getRoute('/mgmt/lang/:lang', open('switches the language cookie and redirects back (same-site paths only)')),
  'console.starting': getRoute('/mgmt/starting', open('the "starting" page shown until Redis answers; no data')),
  // Also answers /mgmt/: koa-router matches a trailing slash unless told to be strict.
  'console.entry': getRoute('/mgmt', open('decides between the starting, setup, login and scenarios pages; shows nothing itself')),
  'console.scenarios': getRoute('/mgmt/scenarios', SESSION_PAGE),
  'console.system': getRoute('/mgmt/system', SESSION_PAGE),
  'console.components': getRoute('/mgmt/components', SESSION_PAGE),
  'console.contact': getRoute('/mgmt/contact', SESSION_PAGE),
  'console.favicon': getRoute('/favicon.ico', open('browsers ask every site for its icon; the icon is public')),

  // Scenarios › Streaming: features/streaming-guide/routes.ts
  'streaming.player': getRoute('/tools/player.html', open("SRS Stack's standalone player page; it plays public play URLs")),
  // A signed play URL token for the page's players and share links (features/play-auth).
  'streaming.playToken': getRoute('/mgmt/scenarios/live/play-token', SESSION),
  // A live room's publish and play URLs, with its secret: a console page like the others.
  'streaming.room': getRoute('/mgmt/rooms/:uuid', SESSION_PAGE),
  // It encodes the publish URL, secret included.
  'streaming.qr': getRoute('/mgmt/scenarios/live/qr.svg', SESSION),

  // Forward, virtual live, IP camera, transcode: features/restream/*/routes.ts
  'forward.secret': apiRoute('/ffmpeg/forward/secret', SECURED),
  'forward.streams': apiRoute('/ffmpeg/forward/streams', SECURED),
  'forward.form': formRoute('/mgmt/restream/forward'),
  // The slate picture (features/restream/slate/picture.ts): one for the stack, used by every slot's slate.
  'forward.slate': apiRoute('/ffmpeg/forward/slate', SECURED),
  'forward.slateUpload': apiRoute('/ffmpeg/forward/slate/upload', SECURED, 'upload'),
  // The console's preview: an <img> sends the session cookie, not the API's CSRF header.
  'forward.slatePreview': getRoute('/mgmt/restream/forward/slate.jpg', SESSION),
  'forward.slateRemoveForm': formRoute('/mgmt/restream/forward/slate/remove'),
  'vlive.secret': apiRoute('/ffmpeg/vlive/secret', SECURED),
  'vlive.streams': apiRoute('/ffmpeg/vlive/streams', SECURED),
  'vlive.streamUrl': apiRoute('/ffmpeg/vlive/stream-url', SECURED),
  'vlive.streamUrlCamel': apiRoute('/ffmpeg/vlive/streamUrl', SECURED),
  'vlive.source': apiRoute('/ffmpeg/vlive/source', SECURED),
  'vlive.server': apiRoute('/ffmpeg/vlive/server', SECURED),
  'vlive.ytdl': apiRoute('/ffmpeg/vlive/ytdl', SECURED),
  // SRS Stack left the upload open; here it needs the same credential as every other change.
  'vlive.upload': apiRoute('/ffmpeg/vlive/upload/:name', SECURED, 'upload'),
  'vlive.form': formRoute('/mgmt/restream/vlive'),
  'vlive.serverFileForm': formRoute('/mgmt/restream/vlive/server-file'),
  'vlive.ytdlForm': formRoute('/mgmt/restream/vlive/ytdl'),
  'vlive.streamUrlForm': formRoute('/mgmt/restream/vlive/stream-url'),
  'camera.secret': apiRoute('/ffmpeg/camera/secret', SECURED),
  'camera.streams': apiRoute('/ffmpeg/camera/streams', SECURED),
  'camera.streamUrl': apiRoute('/ffmpeg/camera/stream-url', SECURED),
  'camera.streamUrlCamel': apiRoute('/ffmpeg/camera/streamUrl', SECURED),
  'camera.source': apiRoute('/ffmpeg/camera/source', SECURED),
  'camera.form': formRoute('/mgmt/restream/camera'),
  'transcode.query': apiRoute('/ffmpeg/transcode/query', SECURED),
  'transcode.apply': apiRoute('/ffmpeg/transcode/apply', SECURED),
  'transcode.task': apiRoute('/ffmpeg/transcode/task', SECURED),
  'transcode.form': formRoute('/mgmt/restream/transcode'),

  // Streams, publish secret, HLS modes, live rooms: features/live-streams/routes.ts
  // The engine adapter owns its hook's path: its generated config posts there.
  'streams.verify': {
    ...apiRoute('', engineHook("the media engine's publish/play callback; it carries the engine's per-boot token")),
    path: ENGINE_HOOK_PATH,
  },
  'streams.secret': apiRoute('/hooks/srs/secret', SECURED),
  'streams.secretQuery': apiRoute('/hooks/srs/secret/query', SECURED),
  'streams.secretUpdate': apiRoute('/hooks/srs/secret/update', SECURED),
  'streams.secretDisable': apiRoute('/hooks/srs/secret/disable', SECURED),
  'streams.query': apiRoute('/mgmt/streams/query', SECURED),
  // A live stream's health now, its destinations and five minutes of both (features/stream-page).
  'streams.health': apiRoute('/mgmt/streams/health', SECURED),
  'streams.page': getRoute('/mgmt/streams/:app/:stream', SESSION_PAGE),
  'streams.kickoff': apiRoute('/mgmt/streams/kickoff', SECURED),
  'streams.hlsllQuery': apiRoute('/mgmt/hlsll/query', SECURED),
  'streams.hlsllUpdate': apiRoute('/mgmt/hlsll/update', SECURED),
  'streams.hphlsQuery': apiRoute('/mgmt/hphls/query', SECURED),
  'streams.hphlsUpdate': apiRoute('/mgmt/hphls/update', SECURED),
  'rooms.create': apiRoute('/live/room/create', SECURED),
  'rooms.query': apiRoute('/live/room/query', SECURED),
  'rooms.update': apiRoute('/live/room/update', SECURED),
  'rooms.list': apiRoute('/live/room/list', SECURED),
  'rooms.remove': apiRoute('/live/room/remove', SECURED),
  // Play authentication (features/play-auth): modes, and signed play URLs.
  'playAuth.query': apiRoute('/mgmt/play-auth/query', SECURED),
  'playAuth.update': apiRoute('/mgmt/play-auth/update', SECURED),
  'playAuth.sign': apiRoute('/mgmt/play-auth/sign', SECURED),
  // SRT gateway state (features/srt): listening or why not, publishers, players, recent refusals.
  'srt.query': apiRoute('/mgmt/srt/query', SECURED),
  'streams.secretForm': formRoute('/mgmt/system/auth/secret'),
  'streams.noAuthForm': formRoute('/mgmt/system/auth/noauth'),
  'streams.hlsllForm': formRoute('/mgmt/system/hls/ll'),
  'streams.hphlsForm': formRoute('/mgmt/system/hls/hp'),
  'streams.kickoffForm': formRoute('/mgmt/system/streams/kickoff'),
  'rooms.createForm': formRoute('/mgmt/scenarios/rooms/create'),
  'rooms.removeForm': formRoute('/mgmt/scenarios/rooms/remove'),

  // WebRTC: WHIP publish, WHEP play (SRS Stack's URLs) and their browser pages: features/webrtc/routes.ts
  'webrtc.whip': directRoute(
    ['POST'],
    '/rtc/v1/whip/',
    open("WHIP publish: the publish secret (?secret= or Authorization: Bearer, as OBS sends it) is checked by admission's gates"),
    { raw: 'application/sdp', limit: 128 * 1024 },
  ),
  'webrtc.whipSession': directRoute(
    ['DELETE'],
    '/rtc/v1/whip/:session',
    open("ends a WHIP session: its Location's random session id (122 bits, given only to the publisher) is the capability"),
    'none',
  ),
  'webrtc.whep': directRoute(
    ['POST'],
    '/rtc/v1/whep/',
    open('WHEP playback, public like every play URL of SRS Stack unless play authentication is on (features/play-auth)'),
    {
      raw: 'application/sdp',
      limit: 128 * 1024,
    },
  ),
  'webrtc.whepSession': directRoute(
    ['DELETE'],
    '/rtc/v1/whep/:session',
    open("ends a WHEP session: its Location's random session id is the capability"),
    'none',
  ),
  'webrtc.publisherPage': getRoute('/players/whip.html', open("SRS Stack's WHIP publisher page; the secret comes in its own URL")),
  'webrtc.playerPage': getRoute('/players/whep.html', open("SRS Stack's WHEP player page; it plays public streams")),

  // SRS's own HTTP API, the part SRS-ecosystem tools read (SRS 5 shapes): features/srs-api/routes.ts.
  // Before the media routes, which would take `/api/v1/<x>` for an HLS file.
  'srsApi.versions': getRoute(
    '/api/v1/versions',
    open("SRS's version probe, open in SRS Stack too (its health check); no data beyond the API level"),
  ),
  'srsApi.summaries': getRoute('/api/v1/summaries', SECURED),
  'srsApi.streams': getRoute('/api/v1/streams', SECURED),
  'srsApi.clients': getRoute('/api/v1/clients', SECURED),
  // GET reads one client; DELETE kicks the publisher with that id off (SRS Stack's own kickoff calls both).
  'srsApi.client': directRoute(['GET', 'DELETE'], '/api/v1/clients/:id', SECURED, 'none'),

  // Media, after every specific route: features/hls/routes.ts (with features/ll-hls), features/flv/routes.ts
  'hls.file': getRoute(
    '/:app/:file',
    open(
      'HLS playlists and low-latency segments, public like every play URL of SRS Stack unless play authentication is on (features/play-auth)',
    ),
  ),
  // Also LL-HLS: /{app}/{stream}/ll.m3u8, init-N.mp4, seg-M.m4s, part-M.K.m4s (features/ll-hls), and
  // live timeshift: /{app}/{stream}/dvr.m3u8, dvr-{tsid}.ts (features/timeshift).
  'hls.nestedFile': getRoute(
    '/:app/:sub/:file',
    open(
      'normal-latency HLS segments, LL-HLS playlists and media, and live timeshift (dvr.m3u8, dvr-*.ts: features/timeshift), public unless play authentication is on (features/play-auth)',
    ),
  ),
  'flv.play': getRoute(
    '/:app/:stream.flv',
    open('HTTP-FLV playback, public like every play URL of SRS Stack unless play authentication is on (features/play-auth)'),
  ),

  'console.root': getRoute('/', open('redirects to /mgmt')),
} satisfies RouteTable;

export type RouteId = keyof typeof ROUTE_TABLE;

/** What a feature hands the composition root: handlers for some of the table's routes, by id. */
export type RouteHandlers = Partial<Handlers<typeof ROUTE_TABLE>>;

/** The table as a list, in match order (the OpenAPI tab, the security sweep). */
export const ROUTES = listRoutes(ROUTE_TABLE);
