// What the OpenAPI tab says about each API call of the route table (server/route-table.ts): one line in
// English and Chinese, the request's fields and an example body. Kept beside the table, not in it, so the
// table still reads one route a line; the unit test route-docs.test.ts fails when an API route of the table
// has no entry here (or an entry names no route), so a new call cannot ship undocumented.
//
// Fields: name → type; a trailing `?` marks an optional field. They are what the handlers read
// (core/validate.ts), in SRS Stack's names (docs/compatibility.md). Besides SRS Stack's API (answer `api`),
// SRS's own HTTP API (`/api/v1/…`) and WHIP/WHEP (`/rtc/v1/…`) are calls too; their fields are query
// parameters, and WHIP/WHEP's body is an SDP offer.
import type { RouteId } from './route-table.js';

export interface RouteDoc {
  readonly summary: { readonly en: string; readonly zh: string };
  readonly fields?: Readonly<Record<string, string>>;
  readonly example?: Readonly<Record<string, unknown>>;
}

const doc = (en: string, zh: string, fields?: RouteDoc['fields'], example?: RouteDoc['example']): RouteDoc => ({
  summary: { en, zh },
  ...(fields ? { fields } : {}),
  ...(example ? { example } : {}),
});

const VERSION = doc('Version of the stack (a health check)', '版本号（健康检查）');
const SLOT_FIELDS = {
  action: 'string? ("update" to save; none to list)',
  platform: 'string',
  server: 'string',
  secret: 'string?',
  enabled: 'boolean?',
  custom: 'boolean?',
  label: 'string?',
};
const FILES = 'array of {name, path, size, uuid, target, type}';
const slotSecret = (what: string, zh: string, extra: Record<string, string>, example: Record<string, unknown>) =>
  doc(
    `Lists the ${what} slots; with action "update" saves one (and starts or stops its task)`,
    `列出${zh}配置；action 为 "update" 时保存一个（并启动或停止其任务）`,
    { ...SLOT_FIELDS, ...extra },
    { action: 'update', ...example },
  );
/** `…/source`: chooses a slot's source; `file` is one entry of the example's files. */
const sourceDoc = (en: string, zh: string, file: Record<string, unknown>) =>
  doc(en, zh, { platform: 'string', files: FILES }, { platform: 'wx', files: [{ uuid: '…', ...file }] });
const streamUrl = doc(
  'Checks a stream URL as a source (scheme and address)',
  '检查流地址能否作为源（协议和地址）',
  { url: 'string' },
  {
    url: 'rtsp://admin:password@192.168.1.64/stream1',
  },
);

export const ROUTE_DOCS: { readonly [Id in RouteId]?: RouteDoc } = {
  'auth.init': doc(
    'First-run setup: sets the admin password (refused once one exists)',
    '首次设置管理员密码（已设置后拒绝）',
    { password: 'string?' },
    {
      password: 'my-admin-password',
    },
  ),
  'auth.login': doc(
    'Logs in with the admin password; answers a token',
    '用管理员密码登录，返回令牌',
    { password: 'string' },
    {
      password: 'my-admin-password',
    },
  ),
  'auth.token': doc('Issues a new token for the API', '签发新的 API 令牌'),
  'auth.secretQuery': doc('The API secret (send it as Authorization: Bearer)', 'API 密钥（以 Authorization: Bearer 发送）'),

  'system.versions': VERSION,
  'system.hostVersions': VERSION,
  'system.ffmpegVersions': VERSION,
  'system.hooksVersions': VERSION,
  'system.tencentVersions': VERSION,
  'system.check': doc('Readiness: whether Redis answers', '就绪检查：Redis 是否可用'),
  'system.envs': doc(
    'Display ports and slot limits (no secrets)',
    '显示端口和各场景上限（不含密钥）',
    { locale: 'string?' },
    { locale: 'en' },
  ),
  'system.beianQuery': doc('Site title and footer', '网站标题和页脚'),
  'system.status': doc('Version and state of the stack', '版本和运行状态'),
  'system.beianUpdate': doc(
    'Sets the site title or footer',
    '设置网站标题或页脚',
    { beian: 'string ("title" or "icp")', text: 'string' },
    {
      beian: 'title',
      text: 'My live site',
    },
  ),
  'system.limitsQuery': doc('Bitrate limits of virtual live and IP camera (kbps)', '虚拟直播和摄像头的码率上限（kbps）'),
  'system.limitsUpdate': doc(
    'Sets the bitrate limits (kbps)',
    '设置码率上限（kbps）',
    { vlive: 'integer?', camera: 'integer?' },
    {
      vlive: 5000,
      camera: 5000,
    },
  ),
  'system.supervisorQuery': doc('The child processes and their state', '子进程及其状态'),

  'https.ssl': doc(
    'Installs your own certificate (PEM key and chain)',
    '安装自己的证书（PEM 私钥和证书链）',
    { key: 'string', crt: 'string' },
    {
      key: '-----BEGIN PRIVATE KEY-----…',
      crt: '-----BEGIN CERTIFICATE-----…',
    },
  ),
  'https.letsencrypt': doc(
    "Requests a Let's Encrypt certificate (domains separated by ;)",
    "申请 Let's Encrypt 证书（多个域名用 ; 分隔）",
    { domain: 'string' },
    {
      domain: 'example.com;www.example.com',
    },
  ),
  'https.letsencryptStatus': doc('Progress of the certificate request', '证书申请进度'),
  'https.autoSelfSigned': doc('Creates a self-signed certificate', '生成自签名证书'),
  'https.certQuery': doc('The certificate in use', '当前使用的证书'),

  'callback.query': doc('The HTTP callback settings', 'HTTP 回调设置'),
  'callback.apply': doc(
    'Sets the callback target and turns all events on or off',
    '设置回调地址，开启或关闭所有事件',
    { target: 'string?', opaque: 'string?', all: 'boolean?', host: 'string?' },
    { all: true, target: 'http://127.0.0.1:8080/callback', opaque: 'my-token' },
  ),
  'callback.example': doc(
    'A test receiver that echoes a callback',
    '回显回调的测试接收端',
    { action: 'string?', opaque: 'string?' },
    {
      action: 'on_publish',
    },
  ),

  'record.query': doc('Recording settings: on/off, rules, post-processing, directory', '录制设置：开关、规则、后处理、目录'),
  'record.apply': doc('Turns recording on or off', '开启或关闭录制', { all: 'boolean' }, { all: true }),
  'record.globs': doc('Sets the rules of which streams to record', '设置录制哪些流的规则', { globs: 'string[]?' }, { globs: ['/live/*'] }),
  'record.postProcessing': doc(
    'Sets what happens to a finished record (copy it to a folder)',
    '设置录制完成后的处理（拷贝到目录）',
    { postProcess: 'string ("" or "post-cp-file")', postCpDir: 'string?' },
    { postProcess: 'post-cp-file', postCpDir: '/data/srs-s3-bucket' },
  ),
  'record.files': doc('Every record with its state, duration and size', '所有录制任务及状态、时长和大小'),
  'record.end': doc('Ends a recording now instead of after the wait', '立即结束录制，不再等待', { uuid: 'string' }, { uuid: 'b7a6…' }),
  'record.remove': doc('Deletes a record and its files', '删除录制任务及其文件', { uuid: 'string' }, { uuid: 'b7a6…' }),
  'record.library': doc(
    'The Recordings library: records newest first, one page at a time, filtered by stream, status and time',
    '录制库：按时间倒序分页列出录制，可按流、状态和时间筛选',
    {
      page: 'number? (1-based)',
      size: 'number? (1–200, default 20)',
      stream: 'string?',
      status: 'string? (recording|finishing|done)',
      from: 'string? (RFC3339)',
      to: 'string? (RFC3339)',
    },
    { page: 1, size: 20, stream: 'live/livestream', status: 'done' },
  ),
  'record.rename': doc(
    'Names a record in the library (empty: its stream name again)',
    '为录制命名（留空则恢复为流名）',
    { uuid: 'string', title: 'string' },
    { uuid: 'b7a6…', title: 'Keynote' },
  ),
  'record.clip': doc(
    'Cuts a new MP4 record from a finished one, or from the part already written of one still recording, without re-encoding (keyframe-accurate: it may begin up to a keyframe interval early)',
    '从已完成的录制（或正在录制的已写入部分）中无转码剪出新的 MP4（按关键帧对齐：可能提前最多一个关键帧间隔开始）',
    { uuid: 'string', start: 'number (s)', end: 'number (s)' },
    { uuid: 'b7a6…', start: 30, end: 90 },
  ),
  'record.retentionQuery': doc(
    'Retention (days, GB, % of the disk) and the free-space warning threshold, with the data disk now',
    '保留策略（天数、GB、磁盘百分比）和剩余空间告警阈值，以及数据盘当前状态',
  ),
  'record.retentionApply': doc(
    'Sets retention (0 turns a limit off), the free-space warning threshold and the live timeshift window (timeshiftMinutes, 0: off; every stream then has /{app}/{stream}/dvr.m3u8); applied at once, oldest records first, never the one recording',
    '设置保留策略（0 表示不限）、剩余空间告警阈值和直播时移窗口（timeshiftMinutes，0 表示关闭；开启后每路流有 /{app}/{stream}/dvr.m3u8）；立即生效，最旧的先删，从不删除正在录制的',
    { days: 'number?', maxGb: 'number?', maxPercent: 'number?', warnFreeMb: 'number?', timeshiftMinutes: 'number?' },
    { days: 30, maxGb: 100, maxPercent: 80, warnFreeMb: 2048, timeshiftMinutes: 120 },
  ),
  'record.dvr': doc(
    'Live timeshift: a record still recording as a live HLS window of the last timeshiftMinutes, with EXT-X-PROGRAM-DATE-TIME',
    '直播时移：正在录制的录制以直播 HLS 窗口（最近 timeshiftMinutes 分钟）提供，带 EXT-X-PROGRAM-DATE-TIME',
  ),
  'record.thumbnail': doc("A finished record's thumbnail (JPEG, made once)", '录制完成后的缩略图（JPEG，只生成一次）'),
  'record.previewPlaylist': doc("A record's HLS playlist (preview)", '录制的 HLS 播放列表（预览）'),
  'record.previewIndex': doc("A record's HLS playlist (preview)", '录制的 HLS 播放列表（预览）'),
  'record.previewSegment': doc("A segment of a record's HLS", '录制 HLS 的切片'),
  'record.previewMp4': doc("A finished record's MP4", '录制完成的 MP4'),

  'forward.secret': slotSecret(
    'forward',
    '多平台转播',
    {
      stream: 'string?',
      slateSeconds: 'integer? (0–3600, default 60; keeps the destination on a slate while the publisher is away; 0 = off)',
    },
    {
      platform: 'wx',
      server: 'rtmp://a.rtmp.youtube.com/live2',
      secret: 'xxxx-xxxx-xxxx-xxxx',
      enabled: true,
      stream: 'livestream',
    },
  ),
  'forward.streams': doc('State of each forward task', '每个转播任务的状态'),
  'forward.slate': doc(
    'The slate picture: its description (null: the default "We\u2019ll be right back" frame); with action "remove", back to the default',
    '垫片图片：返回其描述（null 为默认的“We\u2019ll be right back”画面）；action 为 "remove" 时恢复默认',
    { action: 'string? ("remove"; none to query)' },
    { action: 'remove' },
  ),
  'forward.slateUpload': doc(
    'Uploads the slate picture (multipart, one PNG or JPEG file, at most 10 MB and 8192×8192); a refused file changes nothing',
    '上传垫片图片（multipart，一个 PNG 或 JPEG 文件，最大 10 MB、8192×8192）；被拒的文件不影响现有图片',
  ),
  'vlive.secret': slotSecret(
    'virtual-live',
    '虚拟直播',
    { files: `${FILES}?` },
    {
      platform: 'wx',
      server: 'rtmp://localhost/live',
      secret: 'loop?secret=…',
      enabled: true,
    },
  ),
  'vlive.streams': doc('State of each virtual-live task', '每个虚拟直播任务的状态'),
  'vlive.streamUrl': streamUrl,
  'vlive.streamUrlCamel': streamUrl,
  'vlive.source': sourceDoc('Chooses the source of a virtual-live slot (probed and checked)', '为虚拟直播选择源（会探测和检查）', {
    name: 'show.mp4',
    path: 'show.mp4',
    size: 1048576,
    target: '…',
    type: 'upload',
  }),
  'vlive.server': doc(
    'Checks a file inside the data directory as a source',
    '检查数据目录中的文件能否作为源',
    { file: 'string' },
    {
      file: '/data/my-upload/show.mp4',
    },
  ),
  'vlive.ytdl': doc(
    "Downloads a video page's video as a source",
    '下载视频网页中的视频作为源',
    { url: 'string' },
    {
      url: 'https://www.youtube.com/watch?v=…',
    },
  ),
  'vlive.upload': doc('Uploads a file (multipart body) for a virtual-live source', '上传文件（multipart）作为虚拟直播的源'),
  'camera.secret': slotSecret(
    'IP camera',
    '摄像头直播',
    { files: `${FILES}?`, extraAudio: 'string? ("" or "silent")' },
    {
      platform: 'wx',
      server: 'rtmp://localhost/live',
      secret: 'cam1?secret=…',
      enabled: true,
      extraAudio: 'silent',
    },
  ),
  'camera.streams': doc('State of each camera task', '每个摄像头任务的状态'),
  'camera.streamUrl': streamUrl,
  'camera.streamUrlCamel': streamUrl,
  'camera.source': sourceDoc('Chooses the camera stream of a slot', '为摄像头直播选择摄像头流', {
    name: 'rtsp://…',
    path: 'rtsp://…',
    size: 0,
    target: 'rtsp://…',
    type: 'stream',
  }),
  'transcode.query': doc('Transcoding settings', '直播转码设置'),
  'transcode.apply': doc(
    'Sets transcoding and turns it on or off',
    '设置直播转码并开启或关闭',
    {
      all: 'boolean?',
      vcodec: 'string? (libx264)',
      vprofile: 'string?',
      vpreset: 'string?',
      vbitrate: 'integer? (kbps)',
      acodec: 'string? (aac)',
      abitrate: 'integer? (kbps)',
      achannels: 'integer? (0 keeps them)',
      server: 'string',
      secret: 'string?',
    },
    { all: true, vbitrate: 1200, abitrate: 64, server: 'rtmp://localhost/live/', secret: 'livestream-trans?secret=…' },
  ),
  'transcode.task': doc('State of the transcoding task', '直播转码任务的状态'),

  'streams.verify': doc("The media engine's publish and play callback (engine only)", '媒体引擎的推流和播放回调（仅引擎调用）'),
  'streams.secret': doc('The publish secret', '推流密钥'),
  'streams.secretQuery': doc('The publish secret', '推流密钥'),
  'streams.secretUpdate': doc('Changes the publish secret', '修改推流密钥', { secret: 'string' }, { secret: 'my-new-secret' }),
  'streams.secretDisable': doc('Turns the publish check off or on', '关闭或开启推流鉴权', { pubNoAuth: 'boolean' }, { pubNoAuth: false }),
  'streams.query': doc('The live streams', '正在直播的流'),
  'streams.health': doc(
    "A live stream's health (bitrate, frame rate, keyframe interval, A/V drift, warnings), the restream destinations it feeds with their states, and five minutes of both; a stream that ended stays for a minute",
    '直播流的健康状况（码率、帧率、关键帧间隔、音视频偏差、警告），它推往的转推目标及其状态，以及两者最近五分钟的曲线；结束的流保留一分钟',
    { stream: 'string', app: 'string? (default "live")' },
    { stream: 'livestream' },
  ),
  'streams.kickoff': doc(
    'Disconnects the publisher of a stream',
    '断开某路流的推流端',
    { vhost: 'string', app: 'string', stream: 'string' },
    {
      vhost: '__defaultVhost__',
      app: 'live',
      stream: 'livestream',
    },
  ),
  'streams.hlsllQuery': doc('Whether HLS uses short segments (low latency)', 'HLS 是否使用短切片（低延迟）'),
  'streams.hlsllUpdate': doc(
    'Sets short HLS segments on or off',
    '开启或关闭 HLS 短切片',
    { hlsLowLatency: 'boolean' },
    { hlsLowLatency: true },
  ),
  'streams.hphlsQuery': doc('Whether HLS counts viewers (hls_ctx)', 'HLS 是否统计观众（hls_ctx）'),
  'streams.hphlsUpdate': doc('Sets HLS viewer counting off or on', '关闭或开启 HLS 观众统计', { noHlsCtx: 'boolean' }, { noHlsCtx: false }),
  'rooms.create': doc(
    'Creates a live room with its own stream and secret',
    '创建直播间（有自己的流和密钥）',
    { title: 'string' },
    { title: 'My show' },
  ),
  'rooms.query': doc('One live room', '查询一个直播间', { uuid: 'string' }, { uuid: '…' }),
  'rooms.update': doc(
    'Updates a live room',
    '更新直播间',
    {
      uuid: 'string',
      title: 'string?',
      stream: 'string',
      secret: 'string',
      roomToken: 'string?',
      created_at: 'string?',
      stage_uuid: 'string?',
    },
    { uuid: '…', title: 'My show', stream: 'room1', secret: '…' },
  ),
  'rooms.list': doc('Every live room', '所有直播间'),
  'rooms.remove': doc('Deletes a live room', '删除直播间', { uuid: 'string' }, { uuid: '…' }),
  'srt.query': doc('The SRT gateway: listening or why not, publishers, players', 'SRT 网关：是否在侦听、推流端、播放端'),
  'playAuth.query': doc(
    "Play authentication (private streams): the default mode, failClosed and each stream's own mode",
    '播放鉴权（私有流）：默认模式、failClosed 和各流自己的模式',
  ),
  'playAuth.update': doc(
    'Sets the default play-auth mode (off, signed, callback), or one stream\'s (mode "default" removes it)',
    '设置默认播放鉴权模式（off、signed、callback），或某个流的模式（mode 为 "default" 时删除）',
    { mode: 'string? (off | signed | callback | default)', failClosed: 'boolean?', stream: 'string?', app: 'string? (live)' },
    { mode: 'signed' },
  ),
  'playAuth.sign': doc(
    'Mints a signed play URL token for a stream, with its HLS, LL-HLS, FLV, WHEP, RTMP and SRT play URLs',
    '为流签发播放 URL 令牌，并返回带令牌的 HLS、LL-HLS、FLV、WHEP、RTMP 和 SRT 播放地址',
    { stream: 'string', app: 'string? (live)', expires: 'number? (seconds, 3600)', ip: 'string? (bind to one viewer address)' },
    { stream: 'livestream', expires: 3600 },
  ),

  'webrtc.whip': doc(
    'WHIP publish: post an SDP offer (application/sdp), get the answer and a session Location',
    'WHIP 推流：POST SDP offer（application/sdp），返回 answer 和会话地址 Location',
    { app: 'query string? (live)', stream: 'query string', secret: 'query string? (or Authorization: Bearer)' },
  ),
  'webrtc.whipSession': doc('Ends a WHIP session (its Location)', '结束 WHIP 会话（其 Location）'),
  'webrtc.whep': doc(
    'WHEP play: post an SDP offer (application/sdp), get the answer and a session Location',
    'WHEP 播放：POST SDP offer（application/sdp），返回 answer 和会话地址 Location',
    { app: 'query string? (live)', stream: 'query string', token: 'query string? (a signed play token, for a private stream)' },
  ),
  'webrtc.whepSession': doc('Ends a WHEP session (its Location)', '结束 WHEP 会话（其 Location）'),
  'srsApi.versions': doc("SRS's version probe", 'SRS 的版本探测'),
  'srsApi.summaries': doc("SRS's system summary", 'SRS 的系统概要'),
  'srsApi.streams': doc('The live streams, in SRS 5 shapes', '正在直播的流（SRS 5 格式）'),
  'srsApi.clients': doc('The connected clients, in SRS 5 shapes', '已连接的客户端（SRS 5 格式）'),
  'srsApi.client': doc('GET reads one client; DELETE kicks that publisher off', 'GET 查询一个客户端；DELETE 踢掉该推流端'),
};
