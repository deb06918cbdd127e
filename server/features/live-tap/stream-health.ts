// A live stream's health in words a streamer understands (issue 18 item 3, docs/architecture.md "The
// live tap"): the facts the media meter measures on the tags (keyframe interval, timestamp jumps,
// audio/video drift, bitrate over the last minute) and the warnings they call for. Pure.

/** What the platforms ask for: YouTube, Twitch and Facebook want a keyframe every 2 s and refuse or degrade above 4 s. */
export const KEYFRAME_ASKED_S = 2;
export const KEYFRAME_WARN_ABOVE_S = 4;
/** A drop to below this share of the minute before, for at least DROP_MIN_S, is worth saying. */
const DROP_BELOW = 0.5;
const DROP_MIN_S = 5;
/** Seconds of history a drop is judged against. */
const DROP_BASELINE_MIN_S = 10;
/** Audio this far from the video (either way): people see lips out of sync. */
const DRIFT_WARN_MS = 1000;
/** No audio after this long with video: the stream has no audio track. */
export const NO_AUDIO_AFTER_MS = 5000;

export interface StreamHealth {
  /** Seconds between the last two keyframes in media time; 0 before two were seen (or without video). */
  keyframeIntervalSeconds: number;
  /** Timestamps that went back or leapt forward over the last minute (an encoder restart, lost media). */
  timestampJumps: number;
  /** Latest audio timestamp minus latest video timestamp, ms; 0 without both. */
  avDriftMs: number;
  /** The bitrate's fall against the minute before, while it lasts; null when it holds. */
  bitrateDrop: { percent: number; seconds: number } | null;
  hasVideo: boolean;
  hasAudio: boolean;
  /** What to tell the streamer (streams.query `health.warnings`, the console's Streams page). */
  warnings: HealthWarning[];
}

export interface HealthWarning {
  /** `keyframeInterval`, `bitrateDrop`, `noAudio`, `avDrift`, `timestampJumps`: the i18n key `streams.health.<code>`. */
  code: string;
  params: Record<string, number>;
  /** The sentence in English, for the API and logs. */
  message: string;
}

/**
 * The trailing run of seconds whose bytes fell below DROP_BELOW of the seconds before them. `perSecond`:
 * bytes of each whole second, oldest first (gaps as 0).
 */
export function bitrateDrop(perSecond: readonly number[]): { percent: number; seconds: number } | null {
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
  let k = 0;
  while (perSecond.length - k - 1 >= DROP_BASELINE_MIN_S) {
    const before = perSecond.slice(0, perSecond.length - k - 1);
    if ((perSecond[perSecond.length - k - 1] as number) >= DROP_BELOW * mean(before)) break;
    k += 1;
  }
  if (k < DROP_MIN_S) return null;
  const baseline = mean(perSecond.slice(0, perSecond.length - k));
  const percent = Math.round(100 * (1 - mean(perSecond.slice(-k)) / baseline));
  return { percent, seconds: k };
}

export type HealthFacts = Omit<StreamHealth, 'warnings'> & { flowingMs: number };

export function healthWarnings(h: HealthFacts): HealthWarning[] {
  const out: HealthWarning[] = [];
  const kf = Math.round(h.keyframeIntervalSeconds * 10) / 10;
  if (kf > KEYFRAME_WARN_ABOVE_S) {
    out.push({
      code: 'keyframeInterval',
      params: { seconds: kf, asked: KEYFRAME_ASKED_S },
      message: `keyframe interval ${kf} s: YouTube asks for ${KEYFRAME_ASKED_S} s`,
    });
  }
  if (h.bitrateDrop) {
    const { percent, seconds } = h.bitrateDrop;
    out.push({ code: 'bitrateDrop', params: { percent, seconds }, message: `bitrate dropped ${percent} % for ${seconds} s` });
  }
  if (h.hasVideo && !h.hasAudio && h.flowingMs >= NO_AUDIO_AFTER_MS) {
    out.push({ code: 'noAudio', params: {}, message: 'no audio track: some platforms refuse or mute a stream without one' });
  }
  if (h.hasVideo && h.hasAudio && Math.abs(h.avDriftMs) > DRIFT_WARN_MS) {
    const seconds = Math.round(Math.abs(h.avDriftMs) / 100) / 10;
    out.push({ code: 'avDrift', params: { seconds }, message: `audio and video are ${seconds} s apart` });
  }
  if (h.timestampJumps > 0) {
    out.push({
      code: 'timestampJumps',
      params: { count: h.timestampJumps },
      message: `timestamps jumped ${h.timestampJumps} times in the last minute: the encoder restarted or lost media`,
    });
  }
  return out;
}
