// ffmpeg's periodic stats line and SRS Stack's heartbeat rules (docs/compatibility.md §15.8), as pure functions:
// the supervisor uses the `time=` value as its stall marker, the speed watchdog runs on each line.

/** SRS Stack's heartbeat constants, shared by forward, virtual live, camera and transcode. */
export const HEARTBEAT = {
  /** No change of `time=` for this long: the ffmpeg is hung, kill it. */
  stallTimeoutMs: 10_000,
  /** From spawn to the first progress line (connecting to a remote platform can be slow). */
  firstProgressTimeoutMs: 20_000,
  abnormalFastSpeed: 1.5,
  abnormalSlowSpeed: 0.5,
  /** More consecutive abnormal-speed lines than this: kill it. */
  abnormalSpeedCount: 30,
  /** The speed judged is the one over this much recent wall time (ffmpeg's own is since start). */
  speedWindowMs: 10_000,
} as const;

export interface FfmpegProgress {
  /** The stats line with `= ` collapsed, e.g. `frame=250 fps=25 q=-1.0 size=1024kB time=00:00:10.00 bitrate=838.9kbits/s speed=1x`. */
  line: string;
  /** The `time=` token, the progress marker. */
  time: string;
  seconds: number;
  /** null when ffmpeg printed no usable speed (`0x` at start). */
  speed: number | null;
  bitrateKbps: number | null;
  /** What the output received so far in this run (`size=1024kB`, ffmpeg 7 `KiB`); null for `size=N/A`. */
  sizeBytes: number | null;
}

/** ffmpeg pads values (`frame=  250`); SRS Stack collapses `= ` so tokens split cleanly. */
export function normalizeFfmpegLine(raw: string): string {
  let line = raw.replace(/[\r\n]+/g, ' ').trim();
  while (line.includes('= ')) line = line.replace(/= +/g, '=');
  return line;
}

/** `HH:MM:SS.cc` (optionally negative) to seconds; NaN when it is not a timestamp. */
export function timestampSeconds(text: string): number {
  const m = /^(-)?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(text);
  if (!m) return Number.NaN;
  const s = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
  return m[1] ? -s : s;
}

/**
 * Parses a stats line. Lines without `size=` and `time=`, with `time=N/A`, and the zero or negative
 * times ffmpeg prints before the first packet are not progress. `speed=N/A` is: ffmpeg prints its
 * first stats line as soon as the first packet is written, with a media time but no speed yet, and
 * the next one only 0.5 s later; SRS Stack skips that first line, which delays the first `frame`
 * (docs/compatibility.md §15.8). Its speed is null.
 */
export function parseProgress(raw: string): FfmpegProgress | null {
  const line = normalizeFfmpegLine(raw);
  if (!line.includes('size=') || !line.includes('time=')) return null;
  if (line.includes('time=N/A')) return null;
  const m = /time=(\S+)( .*)speed=(\S+)/.exec(line);
  if (!m) return null;
  const time = m[1] as string;
  const seconds = timestampSeconds(time);
  if (!(seconds > 0)) return null;
  const speed = Number.parseFloat((m[3] as string).replace(/x$/, ''));
  const bitrate = /bitrate=([\d.]+)kbits\/s/.exec(line);
  const size = /size=(\d+)(k|Ki|M|Mi)?B/.exec(line);
  return {
    line,
    time,
    seconds,
    speed: Number.isFinite(speed) && speed > 0 ? speed : null,
    bitrateKbps: bitrate ? Number(bitrate[1]) : null,
    sizeBytes: size ? Number(size[1]) * (size[2]?.startsWith('M') ? 1024 * 1024 : size[2] ? 1024 : 1) : null,
  };
}

/** The supervisor's progress marker for ffmpeg children. */
export function progressMarker(raw: string): string | null {
  return parseProgress(raw)?.time ?? null;
}

/**
 * Counts consecutive progress lines whose recent speed is abnormal. Live relays run at about 1x:
 * far faster means ffmpeg is not pacing (a file without -re, a burst that never ends), far slower
 * means it cannot keep up; either way restarting is SRS Stack's answer.
 *
 * ffmpeg's own `speed=` is the average since it started, so a relay that ran well for an hour and
 * then fell to 0.3x would take hours to look slow. The watchdog judges the speed over the last
 * `windowMs` instead: media seconds advanced divided by wall seconds elapsed.
 */
export class SpeedWatchdog {
  private fast = 0;
  private slow = 0;
  private lastTime = '';
  /** Progress samples of the last window, oldest first. */
  private samples: Array<{ atMs: number; seconds: number }> = [];
  private recentSpeed: number | null = null;

  constructor(
    private readonly fastSpeed: number = HEARTBEAT.abnormalFastSpeed,
    private readonly slowSpeed: number = HEARTBEAT.abnormalSlowSpeed,
    private readonly maxCount: number = HEARTBEAT.abnormalSpeedCount,
    private readonly windowMs: number = HEARTBEAT.speedWindowMs,
  ) {}

  /** Media seconds per wall second over the last window; null until half a window was seen. */
  get recent(): number | null {
    return this.recentSpeed;
  }

  /** Returns a reason to restart ffmpeg, or null. */
  check(raw: string, nowMs: number = Date.now()): string | null {
    const p = parseProgress(raw);
    if (!p || p.time === this.lastTime) return null;
    this.lastTime = p.time;
    this.samples.push({ atMs: nowMs, seconds: p.seconds });
    while (this.samples.length > 2 && nowMs - (this.samples[1] as { atMs: number }).atMs >= this.windowMs) this.samples.shift();
    const oldest = this.samples[0] as { atMs: number; seconds: number };
    const spanMs = nowMs - oldest.atMs;
    if (spanMs < this.windowMs / 2) return null;
    const speed = Math.round(((p.seconds - oldest.seconds) / (spanMs / 1000)) * 100) / 100;
    this.recentSpeed = speed;
    this.fast = speed > this.fastSpeed ? this.fast + 1 : 0;
    this.slow = speed < this.slowSpeed ? this.slow + 1 : 0;
    if (this.fast > this.maxCount) return `abnormal speed ${speed}x above ${this.fastSpeed}x for ${this.fast} progress lines`;
    if (this.slow > this.maxCount) return `abnormal speed ${speed}x below ${this.slowSpeed}x for ${this.slow} progress lines`;
    return null;
  }

  reset(): void {
    this.fast = 0;
    this.slow = 0;
    this.lastTime = '';
    this.samples = [];
    this.recentSpeed = null;
  }
}

/** Lines that name a cause; ffmpeg follows them with generic ones ("Error initializing output stream"). */
const CAUSE =
  /not compatible|not supported|unsupported|refused|broken pipe|not found|denied|timed out|unreachable|unauthori[sz]ed|forbidden|no such/i;
const ERROR_HINT = /error|fail|invalid|cannot|could not/i;
const NOISE = /^(Conversion failed!|Exiting normally.*)$/;

/** The ffmpeg output line that best explains a failed run: the last one naming a cause, else the last error-looking one. */
export function ffmpegErrorLine(tail: readonly string[]): string | undefined {
  const newestFirst = tail
    .map((l) => l.trim())
    .filter((l) => l && !NOISE.test(l) && !parseProgress(l))
    .reverse();
  return newestFirst.find((l) => CAUSE.test(l)) ?? newestFirst.find((l) => ERROR_HINT.test(l)) ?? tail.at(-1);
}

/** Go's time.ParseDuration subset SRS Stack users write (`90s`, `1h30m`, `500ms`); null if invalid. */
export function parseGoDuration(text: string): number | null {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * (units[m[2] as string] as number);
  return total;
}
