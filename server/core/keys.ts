// Redis key names, in one place, with SRS Stack's names where the data means the same thing
// (docs/compatibility.md §0.3) so an existing /data/redis/dump.rdb stays readable.
export const KEYS = {
  PLATFORM_SECRET: 'SRS_PLATFORM_SECRET',
  AUTH_SECRET: 'SRS_AUTH_SECRET',
  SECRET_PUBLISH: 'SRS_SECRET_PUBLISH',
  FIRST_BOOT: 'SRS_FIRST_BOOT',
  TENCENT_LH: 'SRS_TENCENT_LH',
  UPGRADING: 'SRS_UPGRADING',
  STREAM_ACTIVE: 'SRS_STREAM_ACTIVE',
  STAT_COUNTER: 'SRS_STAT_COUNTER',
  HOOKS: 'SRS_HOOKS',
  RECORD_PATTERNS: 'SRS_RECORD_PATTERNS',
  RECORD_M3U8_WORKING: 'SRS_RECORD_M3U8_WORKING',
  RECORD_M3U8_ARTIFACT: 'SRS_RECORD_M3U8_ARTIFACT',
  /** Ours: `SRS_RECORD_M3U8_FILES:{uuid}`, a list of segments while recording (see record/store.ts). */
  RECORD_M3U8_FILES: 'SRS_RECORD_M3U8_FILES',
  /** Ours: record retention and the disk guard (features/record/retention.ts): days, maxGb, maxPercent, warnFreeMb. */
  RECORD_RETENTION: 'SRS_RECORD_RETENTION',
  FORWARD_CONFIG: 'SRS_FORWARD_CONFIG',
  FORWARD_TASK: 'SRS_FORWARD_TASK',
  VLIVE_CONFIG: 'SRS_VLIVE_CONFIG',
  VLIVE_TASK: 'SRS_VLIVE_TASK',
  CAMERA_CONFIG: 'SRS_CAMERA_CONFIG',
  CAMERA_TASK: 'SRS_CAMERA_TASK',
  TRANSCODE_CONFIG: 'SRS_TRANSCODE_CONFIG',
  TRANSCODE_TASK: 'SRS_TRANSCODE_TASK',
  LIVE_ROOM: 'SRS_LIVE_ROOM',
  HP_HLS: 'SRS_HP_HLS',
  LL_HLS: 'SRS_LL_HLS',
  HTTPS: 'SRS_HTTPS',
  HTTPS_DOMAIN: 'SRS_HTTPS_DOMAIN',
  BEIAN: 'SRS_BEIAN',
  SYS_LIMITS: 'SRS_SYS_LIMITS',
  LOCALE: 'SRS_LOCALE',
  /** Ours: play authentication (features/play-auth/settings.ts): mode, failClosed, key, per-stream modes. */
  PLAY_AUTH: 'SRS_PLAY_AUTH',
} as const;

/** The boot-flag field SRS Stack sets once the engine config was first generated. */
export const FIRST_BOOT_FIELD = 'v2023-r30';
