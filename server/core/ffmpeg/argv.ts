// Every ffmpeg/ffprobe argument list the stack runs, as pure functions of their inputs (docs/compatibility.md
// §3.6, §6, §7, §8). Tasks are spawned with these arrays, never through a shell.
import { parseGoDuration } from './progress.js';

/** SRS Stack's output URL: server + `/` (unless one side has it or the key is empty) + key. */
export function joinOutputUrl(server: string, secret: string): string {
  const slash = !server.endsWith('/') && !secret.startsWith('/') && secret !== '' ? '/' : '';
  return `${server}${slash}${secret}`;
}

/**
 * A platform that gives one full URL (`rtmp://ip/app/stream`): the server is everything up to the
 * last slash, the key the rest (FAQ "How SRS Restreams to Custom Platforms"). A URL with a single
 * path segment has no key to split off.
 */
export function splitStreamUrl(url: string): { server: string; secret: string } {
  const q = url.indexOf('?');
  const beforeQuery = q >= 0 ? url.slice(0, q) : url;
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]+\/[^/]+.*\/[^/]+$/i.exec(beforeQuery);
  if (!m) return { server: url, secret: '' };
  const cut = beforeQuery.lastIndexOf('/');
  return { server: url.slice(0, cut), secret: url.slice(cut + 1) };
}

export function schemeOf(url: string): string {
  return /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? '';
}

/** RTMP(S) carries FLV; SRT carries MPEG-TS with unsplit PES packets; other schemes pick their own. */
export function outputFormatArgs(output: string): string[] {
  const scheme = schemeOf(output);
  if (scheme === 'rtmp' || scheme === 'rtmps') return ['-f', 'flv'];
  if (scheme === 'srt') return ['-pes_payload_size', '0', '-f', 'mpegts'];
  return [];
}

/** RTSP over UDP loses packets behind NAT and firewalls; SRS Stack always asks for TCP. */
export function inputTransportArgs(input: string): string[] {
  return schemeOf(input) === 'rtsp' ? ['-rtsp_transport', 'tcp'] : [];
}

/**
 * Input probing of a live RTMP stream. ffmpeg's stream-info pass also counts ~20 video frames to guess
 * the frame rate, which on a live input is ~1 s of waiting (~2.5 s in all from the play to the first
 * frame out, measured). None of the tasks needs that guess: copy keeps the timestamps and transcode
 * sets `-r`. `-fpsprobesize 0` skips it; the analyzeduration is left as it is (5 s), so a stream
 * whose video starts late (joined mid-GOP) is still found with its video, and probing still ends as
 * soon as both the audio and the video are known.
 */
export function liveInputArgs(input: string): string[] {
  const scheme = schemeOf(input);
  return scheme === 'rtmp' || scheme === 'rtmps' ? ['-fpsprobesize', '0'] : [];
}

/**
 * Reading a live stream of this stack from the live tap (its HTTP-FLV for the stack's own consumers,
 * docs/architecture.md "The live tap"): the answer starts with the cached GOP, so the first frame is
 * there at once whatever the encoder's keyframe interval, then follows live. No `-re` (SRS Stack
 * has it): the GOP's timestamps are up to a GOP old, and paced from them the task would stay that far
 * behind live for its whole life; a live input paces itself. `-fpsprobesize 0` as in liveInputArgs.
 */
export function stackStreamInputArgs(input: string): string[] {
  return ['-fpsprobesize', '0', '-i', input];
}

/** Forward: read the live stream from the tap and copy it to the platform (docs/compatibility.md §6). */
export function forwardArgs(input: string, output: string): string[] {
  return [...stackStreamInputArgs(input), '-c', 'copy', ...outputFormatArgs(output), output];
}

/**
 * Forward with a slate: the stack writes the stream into ffmpeg's stdin as FLV (the slate's
 * ContinuousFeed, docs/architecture.md "The slate"), one unbroken stream through publisher drops.
 */
export function forwardFeedArgs(output: string): string[] {
  return ['-f', 'flv', ...forwardArgs('pipe:0', output)];
}

/** Virtual live from a file: loop forever, paced in real time (docs/compatibility.md §7). */
export function vliveFileArgs(file: string, output: string): string[] {
  return ['-stream_loop', '-1', '-re', '-i', file, '-c', 'copy', ...outputFormatArgs(output), output];
}

/**
 * Virtual live from a stream URL: relayed as it arrives, nothing downloaded. Live protocols arrive
 * in real time and need no -re. HLS does not: ffmpeg fetches each new segment in one burst, so
 * without -re the destination gets a segment's worth of media at once and ffmpeg's progress then
 * freezes for a whole segment (10 s is common), which the stall watchdog would take for a hang.
 * With -re it plays out a few segments behind the live edge, smoothly.
 */
export function vliveStreamArgs(url: string, output: string): string[] {
  const pacing = isHlsUrl(url) ? ['-re'] : [];
  return [...pacing, ...liveInputArgs(url), ...inputTransportArgs(url), '-i', url, '-c', 'copy', ...outputFormatArgs(output), output];
}

/** An HTTP(S) URL of an HLS playlist (`….m3u8`, query aside). */
export function isHlsUrl(url: string): boolean {
  const scheme = schemeOf(url);
  return (scheme === 'http' || scheme === 'https') && /\.m3u8$/i.test(url.split(/[?#]/, 1)[0] as string);
}

export type ExtraAudio = '' | 'silent';

/**
 * IP camera (docs/compatibility.md §3.6). Many cameras send no audio, which some platforms refuse: `silent`
 * replaces the audio with a generated silent AAC track and copies the video. `-shortest` ends the
 * run when the camera stops, instead of streaming silence forever.
 */
export function cameraArgs(url: string, output: string, extraAudio: ExtraAudio): string[] {
  const input = [...liveInputArgs(url), '-re', '-fflags', 'nobuffer', ...inputTransportArgs(url), '-i', url];
  const codecs =
    extraAudio === 'silent'
      ? [
          ...['-f', 'lavfi', '-i', 'anullsrc=channel_layout=stereo:sample_rate=44100'],
          ...['-map', '0:v', '-map', '1:a', '-c:a', 'aac', '-ac', '2', '-ar', '44100', '-b:a', '20k', '-c:v', 'copy', '-shortest'],
        ]
      : ['-c', 'copy'];
  return [...input, ...codecs, ...outputFormatArgs(output), output];
}

export const VIDEO_PROFILES = ['baseline', 'main', 'high'] as const;
export const VIDEO_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow'] as const;

export interface TranscodeParams {
  vcodec: 'libx264';
  vprofile: (typeof VIDEO_PROFILES)[number];
  vpreset: (typeof VIDEO_PRESETS)[number];
  /** Kbps */
  vbitrate: number;
  acodec: 'aac';
  /** Kbps */
  abitrate: number;
  /** 0 keeps the input's channel count. */
  achannels: 0 | 1 | 2;
}

/** Transcode (docs/compatibility.md §8): x264 tuned for live, 25 fps, 2 s GOP, no B-frames, AAC. */
export function transcodeArgs(input: string, output: string, p: TranscodeParams): string[] {
  return [
    ...stackStreamInputArgs(input),
    ...['-vcodec', p.vcodec, '-profile:v', p.vprofile, '-preset:v', p.vpreset, '-tune', 'zerolatency'],
    ...['-b:v', `${p.vbitrate}k`, '-r', '25', '-g', '50', '-bf', '0'],
    ...['-acodec', p.acodec, '-b:a', `${p.abitrate}k`],
    ...(p.achannels > 0 ? ['-ac', String(p.achannels)] : []),
    ...outputFormatArgs(output),
    output,
  ];
}

/** ffprobe as SRS Stack runs it: JSON with format and streams, errors in the JSON. */
export function ffprobeArgs(target: string): string[] {
  return [
    ...['-show_error', '-show_private_data', '-v', 'quiet', '-find_stream_info', '-print_format', 'json'],
    ...['-show_format', '-show_streams', ...inputTransportArgs(target), '-i', target],
  ];
}

/**
 * Masks what authorizes a publish in a URL shown to people: the stream key (the last path segment),
 * query values and the password of user info. `rtmp://a.example/live2/abcd` → `rtmp://a.example/live2/******`.
 */
export function maskStreamUrl(url: string): string {
  const q = url.indexOf('?');
  let head = q >= 0 ? url.slice(0, q) : url;
  const query = q >= 0 ? url.slice(q + 1) : '';
  head = head.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*:)[^@/]*@/i, '$1******@');
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/]+\/.*\/)[^/]+$/i.exec(head) ?? /^([a-z][a-z0-9+.-]*:\/\/[^/]+\/[^/]+\/)[^/]*$/i.exec(head);
  if (m) head = `${m[1]}******`;
  if (!query) return head;
  return `${head}?${query.replace(/=([^&,]*)/g, (_all, v: string) => (v.length ? '=******' : '='))}`;
}

export interface HeartbeatUrlOptions {
  /** The URL given to ffmpeg, without the stack's own query parameters. */
  url: string;
  /** `max-stream-duration=1h`: a planned restart after that long (SRS Stack's periodic restart). */
  maxRunMs?: number;
  /** `abnormal-fast-speed=2`: tolerate sources that legitimately run faster than 1.5x. */
  abnormalFastSpeed?: number;
}

/** Reads and strips SRS Stack's heartbeat parameters from an input URL (docs/compatibility.md §15.8). */
export function heartbeatUrlOptions(url: string): HeartbeatUrlOptions {
  const q = url.indexOf('?');
  if (q < 0) return { url };
  const kept: string[] = [];
  const out: HeartbeatUrlOptions = { url };
  for (const part of url.slice(q + 1).split('&')) {
    const [key, value = ''] = part.split('=', 2) as [string, string?];
    if (key === 'max-stream-duration') {
      const ms = parseGoDuration(decodeURIComponent(value));
      if (ms && ms > 0) out.maxRunMs = ms;
    } else if (key === 'abnormal-fast-speed') {
      const speed = Number(value);
      if (speed > 0) out.abnormalFastSpeed = speed;
    } else {
      kept.push(part);
    }
  }
  out.url = kept.length ? `${url.slice(0, q)}?${kept.join('&')}` : url.slice(0, q);
  return out;
}

/** Sets (or, with an empty value, removes) one query parameter, leaving the rest of the URL as written. */
export function withUrlParam(url: string, key: string, value: string): string {
  const q = url.indexOf('?');
  const base = q < 0 ? url : url.slice(0, q);
  const parts =
    q < 0
      ? []
      : url
          .slice(q + 1)
          .split('&')
          .filter((p) => p && p.split('=')[0] !== key);
  if (value) parts.push(`${key}=${encodeURIComponent(value)}`);
  return parts.length ? `${base}?${parts.join('&')}` : base;
}

/**
 * Re-escapes the user info of a stream URL. Camera passwords often hold `@`, `#` or `:`, which
 * users paste raw (`rtsp://admin:p@ss#1@192.168.1.2/live`); the last `@` before the path ends the
 * user info.
 */
export function rebuildStreamUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/i.exec(url);
  if (!m) return url;
  const [, scheme, rest] = m as unknown as [string, string, string];
  const at = rest.lastIndexOf('@');
  if (at < 0) return url;
  const userinfo = rest.slice(0, at);
  const hostAndPath = rest.slice(at + 1);
  const colon = userinfo.indexOf(':');
  const escape = (s: string) => {
    let plain = s;
    try {
      plain = decodeURIComponent(s);
    } catch {
      /* not escaped yet */
    }
    return encodeURIComponent(plain);
  };
  const user = colon >= 0 ? `${escape(userinfo.slice(0, colon))}:${escape(userinfo.slice(colon + 1))}` : escape(userinfo);
  return `${scheme}${user}@${hostAndPath}`;
}
