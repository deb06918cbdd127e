// Real HLS segments for recording tests: ffmpeg encodes a test pattern with a tone (h264/aac, 2 s
// segments) faster than real time; a feeder then plays the media engine's part, copying each
// segment into an engine-like HLS directory and raising hls.segment in the stack over IPC.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { HlsSegmentEvent, StackEvents } from '../../server/core/events.js';
import type { StackHandle } from './stack.js';

const run = promisify(execFile);

/** The fixtures' keyframe interval: -g 50 at 25 fps (makeSegments). */
export const GOP_SECONDS = 2;

/**
 * A stream copy starts at the keyframe at or before the in point: a clip is the asked length, or
 * up to one keyframe interval longer (plus an audio frame), never shorter.
 */
export function keyframeAccurate(actual: number, asked: number): boolean {
  return actual >= asked - 0.1 && actual <= asked + GOP_SECONDS + 0.1;
}

/** The record API (`hooks/record/{name}`) of a stack as its admin: the answer's data, or a throw. */
export function recordApi(stack: () => StackHandle, bearer: () => string) {
  return async (name: string, body: Record<string, unknown> = {}): Promise<unknown> => {
    const res = await stack().api(`/terraform/v1/hooks/record/${name}`, body, { bearer: bearer() });
    if (res.status !== 200) throw new Error(`record/${name} → ${res.status} ${String(res.json.message)}`);
    return res.json.data;
  };
}

/**
 * A tiny finished engine segment `{dir}/{app}/{stream}-{n}.ts` (an MPEG-TS sync byte, then filler)
 * and its hls.segment event: 2 s, for unit tests of what consumes the event.
 */
export function tinySegment(dir: string, n: number, app = 'live', stream = 'show'): HlsSegmentEvent {
  const file = path.join(dir, app, `${stream}-${n}.ts`);
  fs.writeFileSync(file, Buffer.concat([Buffer.from([0x47]), Buffer.alloc(187, n)]));
  return {
    vhost: '__defaultVhost__',
    app,
    stream,
    file,
    url: `${app}/${stream}-${n}.ts`,
    m3u8_url: `${app}/${stream}.m3u8`,
    seq_no: n,
    duration: 2,
    size: 188,
  };
}

export interface FixtureSegment {
  file: string;
  duration: number;
}

export interface SegmentOptions {
  seconds: number;
  /** Video bitrate, e.g. '300k' (tests) or '2500k' (bench). */
  videoBitrate?: string;
  size?: string;
}

/** Encodes `seconds` of video+audio into 2 s MPEG-TS segments and returns them with durations. */
export async function makeSegments(dir: string, opts: SegmentOptions): Promise<FixtureSegment[]> {
  fs.mkdirSync(dir, { recursive: true });
  const bitrate = opts.videoBitrate ?? '300k';
  const playlist = path.join(dir, 'source.m3u8');
  // prettier-ignore
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc=size=${opts.size ?? '320x180'}:rate=25`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(opts.seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0',
    '-b:v', bitrate, '-minrate', bitrate, '-maxrate', bitrate, '-bufsize', bitrate, '-x264-params', 'nal-hrd=cbr',
    '-c:a', 'aac', '-b:a', '64k',
    '-f', 'hls', '-hls_time', '2', '-hls_list_size', '0', '-hls_segment_filename', path.join(dir, 'source-%d.ts'),
    playlist,
  ], { maxBuffer: 1024 * 1024 });
  return parseMediaPlaylist(fs.readFileSync(playlist, 'utf8')).map((s) => ({ file: path.join(dir, s.uri), duration: s.duration }));
}

export function parseMediaPlaylist(text: string): Array<{ uri: string; duration: number }> {
  const out: Array<{ uri: string; duration: number }> = [];
  let duration = 0;
  for (const line of text.split('\n').map((l) => l.trim())) {
    const m = /^#EXTINF:([\d.]+)/.exec(line);
    if (m) duration = Number(m[1]);
    else if (line && !line.startsWith('#')) out.push({ uri: line, duration });
  }
  return out;
}

let nextId = 1;

/** Raises an event inside a stack started with the event-feeder entry; resolves once handled. */
export function emitInStack<K extends keyof StackEvents>(stack: StackHandle, name: K, payload: StackEvents[K]): Promise<void> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (m: { id?: number }) => {
      if (m?.id !== id) return;
      stack.proc.off('message', onMessage);
      resolve();
    };
    stack.proc.on('message', onMessage);
    if (!stack.proc.send?.({ id, name, payload })) {
      stack.proc.off('message', onMessage);
      reject(new Error('the stack has no IPC channel (start it with entry: FEEDER_MAIN)'));
    }
  });
}

/** Collects the events a feeder stack raises for other features (record.begin, record.end…). */
export function collectStackEvents(stack: StackHandle): Array<{ event: string; payload: Record<string, unknown> }> {
  const seen: Array<{ event: string; payload: Record<string, unknown> }> = [];
  stack.proc.on('message', (m: { event?: string; payload?: Record<string, unknown> }) => {
    if (m?.event) seen.push({ event: m.event, payload: m.payload ?? {} });
  });
  return seen;
}

/** Plays the engine for one stream: segments appear in its HLS dir, then hls.segment is raised. */
export class StreamFeeder {
  seq = 0;

  constructor(
    private readonly stack: StackHandle,
    private readonly hlsDir: string,
    readonly app = 'live',
    readonly stream = 'livestream',
  ) {
    fs.mkdirSync(path.join(hlsDir, app), { recursive: true });
  }

  private info() {
    return { vhost: '__defaultVhost__', app: this.app, stream: this.stream, param: '', update: new Date().toISOString() };
  }

  publish(): Promise<void> {
    return emitInStack(this.stack, 'stream.published', this.info());
  }

  unpublish(): Promise<void> {
    return emitInStack(this.stack, 'stream.unpublished', this.info());
  }

  /** Feeds one segment (the next sequence number unless given); returns the event raised. */
  async segment(source: FixtureSegment, seq = this.seq): Promise<HlsSegmentEvent> {
    this.seq = seq + 1;
    const name = `${this.stream}-${seq}.ts`;
    const file = path.join(this.hlsDir, this.app, name);
    fs.copyFileSync(source.file, file);
    const event: HlsSegmentEvent = {
      vhost: '__defaultVhost__',
      app: this.app,
      stream: this.stream,
      file,
      url: `${this.app}/${name}`,
      m3u8_url: `${this.app}/${this.stream}.m3u8`,
      seq_no: seq,
      duration: source.duration,
      size: fs.statSync(file).size,
    };
    await emitInStack(this.stack, 'hls.segment', event);
    return event;
  }

  async segments(sources: readonly FixtureSegment[]): Promise<void> {
    for (const s of sources) await this.segment(s);
  }
}
