// Transcode (docs/compatibility.md §8): one global task re-encodes the chosen live stream (`stream`; without
// one, as in SRS Stack, the most recently published, never its own output) with libx264/aac at the
// configured bitrates and publishes it, by default back into this stack as `{stream}-trans`.
import { ValidationError } from '../../../core/errors.js';
import { LIVE_APP, checkStreamName } from '../../../core/stream-names.js';
import {
  VIDEO_PRESETS,
  VIDEO_PROFILES,
  joinOutputUrl,
  maskStreamUrl,
  transcodeArgs,
  type TranscodeParams,
} from '../../../core/ffmpeg/argv.js';
import type { FfmpegTaskGroup, TaskPlan } from '../../../core/ffmpeg/tasks.js';
import { KEYS } from '../../../core/keys.js';
import { oneOf, optionalBoolean, optionalInteger, optionalString, type Body } from '../../../core/validate.js';
import { pickStream, publishPath } from '../input-selection.js';
import { taskGroup, type RestreamDeps } from '../deps.js';
import { checkOutputServer, outputUrl, slotSecrets, slotState } from '../slots.js';
import { destinationFields } from '../destinations.js';

export interface TranscodeConfig extends TranscodeParams {
  /** Enabled: SRS Stack calls it `all`. */
  all: boolean;
  server: string;
  secret: string;
  /**
   * The source stream's name (an addition to SRS Stack's fields); '' keeps SRS Stack's choice, the
   * most recently published stream (docs/compatibility.md §3.7).
   */
  stream: string;
}

const FIELD = 'global';
const ID = 'global';

/** SRS Stack's console defaults (docs/compatibility.md §8). */
export const TRANSCODE_DEFAULTS: TranscodeParams = {
  vcodec: 'libx264',
  vprofile: 'baseline',
  vpreset: 'faster',
  vbitrate: 1200,
  acodec: 'aac',
  abitrate: 64,
  achannels: 0,
};

/** Validates an apply body; missing encoder settings take the console defaults. */
export function readTranscodeConfig(body: Body): TranscodeConfig {
  const all = optionalBoolean(body, 'all') ?? false;
  const str = (field: string) => (optionalString(body, field, 2048) ?? '').trim();
  const server = str('server');
  if (all && !server) throw new ValidationError('no server: where to publish the transcoded stream, e.g. rtmp://localhost/live/');
  const stream = str('stream');
  if (stream) checkStreamName('source stream', stream);
  return {
    all,
    vcodec: oneOf(str('vcodec') || TRANSCODE_DEFAULTS.vcodec, ['libx264'] as const, 'vcodec'),
    acodec: oneOf(str('acodec') || TRANSCODE_DEFAULTS.acodec, ['aac'] as const, 'acodec'),
    vprofile: oneOf(str('vprofile') || TRANSCODE_DEFAULTS.vprofile, VIDEO_PROFILES, 'vprofile'),
    vpreset: oneOf(str('vpreset') || TRANSCODE_DEFAULTS.vpreset, VIDEO_PRESETS, 'vpreset'),
    vbitrate: optionalInteger(body, 'vbitrate', 100, 100_000) ?? TRANSCODE_DEFAULTS.vbitrate,
    abitrate: optionalInteger(body, 'abitrate', 10, 1000) ?? TRANSCODE_DEFAULTS.abitrate,
    achannels: (optionalInteger(body, 'achannels', 0, 2) ?? 0) as 0 | 1 | 2,
    server: server ? checkOutputServer(server) : '',
    secret: str('secret'),
    stream,
  };
}

/**
 * The stream a transcode publishes into this stack (`livestream-trans` for `rtmp://localhost/live/`
 * and `livestream-trans?secret=…`), so the console can show its play URLs; '' when it publishes to
 * another server. `ownHosts`: the names this stack answers by (localhost, the page's host).
 */
export function outputStreamHere(config: Pick<TranscodeConfig, 'server' | 'secret'>, ownHosts: readonly string[]): string {
  const url = joinOutputUrl(config.server, config.secret);
  const m = /^rtmp:\/\/([^/:?#]+|\[[^\]]+\])(?::\d+)?\//i.exec(url);
  const hosts = ['localhost', '127.0.0.1', ...ownHosts].map((h) => h.toLowerCase());
  if (!m || !hosts.includes((m[1] as string).toLowerCase())) return '';
  const path = publishPath(url).split('/');
  return path.length === 3 && path[1] === LIVE_APP && path[2] ? path[2] : '';
}

function decodeConfig(value: string | null): TranscodeConfig | null {
  if (!value) return null;
  try {
    return readTranscodeConfig(JSON.parse(value) as Body);
  } catch {
    return null;
  }
}

export class TranscodeService {
  readonly tasks: FfmpegTaskGroup;

  constructor(private readonly deps: RestreamDeps) {
    this.tasks = taskGroup(deps, 'transcode', KEYS.TRANSCODE_TASK, () => this.plans());
  }

  async config(): Promise<TranscodeConfig | null> {
    return decodeConfig(await this.deps.redis.redis.hget(KEYS.TRANSCODE_CONFIG, FIELD));
  }

  /** `transcode/query`: the stored config, SRS Stack's zero values when never set. */
  async query(): Promise<Record<string, unknown>> {
    return (
      (await this.config()) ?? {
        all: false,
        vcodec: '',
        acodec: '',
        vbitrate: 0,
        abitrate: 0,
        vprofile: '',
        vpreset: '',
        achannels: 0,
        server: '',
        secret: '',
        stream: '',
      }
    );
  }

  async apply(body: Body): Promise<void> {
    const config = readTranscodeConfig(body);
    await this.deps.redis.redis.hset(KEYS.TRANSCODE_CONFIG, FIELD, JSON.stringify(config));
    await this.tasks.reconcile();
  }

  /** `transcode/task`: SRS Stack's fields (input/output/frame only while ffmpeg runs) plus the live state. */
  async task(): Promise<Record<string, unknown>> {
    const config = await this.config();
    const live = this.tasks.live(ID);
    const out: Record<string, unknown> = { uuid: live?.uuid ?? '', enabled: config?.all ?? false };
    if (live?.pid) {
      out.input = live.source;
      out.output = live.output;
      out.frame = live.frame ?? { log: '', update: '' };
    }
    out.state = slotState(config?.all ?? false, live);
    if (live) {
      out.task = live;
      out.destination = destinationFields(live, Date.now());
    } else if (config?.all && config.server) out.output = maskStreamUrl(outputUrl(config, this.deps.config.rtmpListen));
    return out;
  }

  /** The live streams a transcode may take (its own output left out): the console's choices. */
  async sources(): Promise<string[]> {
    const config = await this.config();
    const own = config?.server ? publishPath(outputUrl(config, this.deps.config.rtmpListen)) : '';
    return (await this.deps.streams.list()).filter((s) => s.app === LIVE_APP && `/${s.app}/${s.stream}` !== own).map((s) => s.stream);
  }

  async plans(): Promise<TaskPlan[]> {
    const config = await this.config();
    if (!config?.all || !config.server) return [];
    const output = outputUrl(config, this.deps.config.rtmpListen);
    const source = pickStream(await this.deps.streams.list(), { name: config.stream || undefined, ownOutput: output });
    if (!source) return [];
    const input = this.deps.liveInput(source.app, source.stream);
    return [
      {
        id: ID,
        args: transcodeArgs(input, output, config),
        secrets: slotSecrets(config),
        input,
        output,
        source: `${source.app}/${source.stream}`,
      },
    ];
  }
}
