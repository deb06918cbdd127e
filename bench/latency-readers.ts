// The two ends of the latency bench that are not the stack: stamped publishers (ffmpeg, or a
// Chromium canvas over WHIP) and stamp readers (Chromium, whatever plays into the <video>; ffmpeg
// for SRT). Readers hand back raw readings (when a frame was shown, the grey level of each block);
// the bench decodes them with the pure functions of latency-stamp.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Page } from 'playwright-core';
import {
  STAMP_BITS,
  STAMP_GEOMETRY,
  decodeStamp,
  latencyMs,
  stampReaderArgs,
  stampSourceArgs,
  type StampSourceOptions,
} from './latency-stamp.js';

/** One shown frame: when (wall clock, ms) and its blocks' grey levels. */
export interface Reading {
  shownMs: number;
  levels: number[];
}

/** A spawned ffmpeg the bench owns; stop() ends it (SIGINT, then SIGKILL) and waits for the exit. */
export interface OwnedChild {
  proc: ChildProcess;
  stderr: () => string;
  running: () => boolean;
  stop: () => Promise<void>;
}

export function spawnOwned(args: string[], stdout: 'ignore' | 'pipe' = 'ignore'): OwnedChild {
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', stdout, 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr = (stderr + String(d)).slice(-4000)));
  let done = false;
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      done = true;
      resolve();
    }),
  );
  return {
    proc,
    stderr: () => stderr.trim(),
    running: () => !done,
    async stop() {
      if (done) return;
      proc.kill('SIGINT');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** A stamped ffmpeg source publishing to `url` (RTMP or SRT). */
export function stampedFfmpegSource(url: string, o: StampSourceOptions): OwnedChild {
  return spawnOwned(stampSourceArgs(url, o));
}

/** Decoded latencies of readings shown at or after `fromMs`, and how many frames could not be read. */
export function latenciesOf(readings: Reading[], fromMs: number): { latencies: number[]; unreadable: number } {
  const latencies: number[] = [];
  let unreadable = 0;
  for (const r of readings) {
    if (r.shownMs < fromMs) continue;
    const stamp = decodeStamp(r.levels);
    if (stamp === null) unreadable += 1;
    else latencies.push(latencyMs(stamp, r.shownMs));
  }
  return { latencies, unreadable };
}

/** An ffmpeg reader of `input` (the SRT play URL): readings as its decoded frames reach stdout. */
export class FfmpegStampReader {
  readonly readings: Reading[] = [];
  private readonly child: OwnedChild;

  constructor(input: string, extraInputArgs: string[] = []) {
    this.child = spawnOwned(stampReaderArgs(input, extraInputArgs), 'pipe');
    let pending = Buffer.alloc(0);
    this.child.proc.stdout?.on('data', (chunk: Buffer) => {
      const now = Date.now();
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= STAMP_BITS) {
        this.readings.push({ shownMs: now, levels: [...pending.subarray(0, STAMP_BITS)] });
        pending = pending.subarray(STAMP_BITS);
      }
    });
  }

  stderr(): string {
    return this.child.stderr();
  }
  running(): boolean {
    return this.child.running();
  }
  stop(): Promise<void> {
    return this.child.stop();
  }
}

// ---- In-page code. Each function below is serialised into the page by page.evaluate: it may use
// ---- only its arguments and the page's globals (no imports, no module-level names).

interface PageGlobals {
  __stampReadings?: Array<[number, ...number[]]>;
  __stampFrames?: number;
  __whep?: { pc: RTCPeerConnection; location: string | null };
  __whip?: { pc: RTCPeerConnection; location: string | null; stop: () => void };
  __whipDrawn?: number;
}

/**
 * Installs a reader on the page's <video> (selector): for every frame the page shows
 * (requestVideoFrameCallback), the frame's expected display time on the wall clock and the mean grey
 * level of the centre of each stamp block, with the frame scaled back to the stamp's reference size.
 */
function installStampReaderInPage(a: { selector: string; bits: number; block: number; frameWidth: number; frameHeight: number }): void {
  const g = window as unknown as PageGlobals;
  g.__stampReadings = [];
  g.__stampFrames = 0;
  const video = document.querySelector(a.selector) as HTMLVideoElement | null;
  if (!video) throw new Error(`no video element ${a.selector}`);
  const canvas = document.createElement('canvas');
  canvas.width = a.bits * a.block;
  canvas.height = a.block;
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  const half = a.block / 4; // sample the centre half of each block: its edges blur into the neighbours
  const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (w > 0 && h > 0) {
      const shown = performance.timeOrigin + meta.expectedDisplayTime;
      ctx.drawImage(video, 0, 0, (w * canvas.width) / a.frameWidth, (h * a.block) / a.frameHeight, 0, 0, canvas.width, canvas.height);
      const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      const row: [number, ...number[]] = [shown];
      for (let i = 0; i < a.bits; i++) {
        let sum = 0;
        let n = 0;
        for (let y = a.block / 2 - half; y < a.block / 2 + half; y++) {
          for (let x = i * a.block + a.block / 2 - half; x < i * a.block + a.block / 2 + half; x++) {
            const o = (y * canvas.width + x) * 4;
            sum += ((px[o] as number) + (px[o + 1] as number) + (px[o + 2] as number)) / 3;
            n += 1;
          }
        }
        row.push(Math.round(sum / n));
      }
      g.__stampReadings?.push(row);
      g.__stampFrames = (g.__stampFrames ?? 0) + 1;
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

function takeReadingsInPage(): Array<[number, ...number[]]> {
  const g = window as unknown as PageGlobals;
  const out = g.__stampReadings ?? [];
  g.__stampReadings = [];
  return out;
}

/** WHEP: a recvonly offer POSTed as application/sdp, the answer applied; plays into a new <video id="whep-video">. */
async function whepPlayInPage(url: string): Promise<{ status: number; location: string | null; text: string }> {
  const g = window as unknown as PageGlobals;
  const video = document.createElement('video');
  video.id = 'whep-video';
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.appendChild(video);
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const stream = new MediaStream();
  video.srcObject = stream;
  pc.ontrack = (e) => stream.addTrack(e.track);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    setTimeout(resolve, 1000);
  });
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription?.sdp ?? '' });
  const text = await res.text();
  if (res.status !== 201) {
    pc.close();
    return { status: res.status, location: null, text };
  }
  const location = res.headers.get('location');
  g.__whep = { pc, location };
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  void video.play().catch(() => undefined);
  return { status: res.status, location, text: '' };
}

/**
 * WHIP: a 1280×720 canvas stamped with the wall clock every 1/fps s (the same bar as the ffmpeg
 * source; each frame is captured right after it is drawn with requestFrame, so the stamp is the
 * frame's own time) plus a sine from WebAudio, published sendonly as application/sdp.
 */
async function whipPublishInPage(a: {
  url: string;
  bits: number;
  block: number;
  frameWidth: number;
  frameHeight: number;
  fps: number;
}): Promise<{ status: number; location: string | null; text: string }> {
  const g = window as unknown as PageGlobals;
  const canvas = document.createElement('canvas');
  canvas.width = a.frameWidth;
  canvas.height = a.frameHeight;
  document.body.appendChild(canvas);
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const stream = canvas.captureStream(0);
  const track = stream.getVideoTracks()[0] as CanvasCaptureMediaStreamTrack;
  track.contentHint = 'detail'; // keep the resolution: the bar must stay readable
  const mod = 2 ** a.bits;
  let n = 0;
  const draw = () => {
    const now = Date.now();
    const t = now % mod;
    ctx.fillStyle = '#246';
    ctx.fillRect(0, 0, a.frameWidth, a.frameHeight);
    ctx.fillStyle = '#fff';
    ctx.font = '64px sans-serif';
    ctx.fillText(`${new Date(now).toISOString()} #${n++}`, 40, 200);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, a.bits * a.block, a.block);
    ctx.fillStyle = '#fff';
    for (let i = 0; i < a.bits; i++) if (Math.floor(t / 2 ** i) % 2 === 1) ctx.fillRect(i * a.block, 0, a.block, a.block);
    track.requestFrame();
    g.__whipDrawn = n;
  };
  draw();
  const timer = setInterval(draw, 1000 / a.fps);
  const audio = new AudioContext();
  const osc = audio.createOscillator();
  const dest = audio.createMediaStreamDestination();
  osc.connect(dest);
  osc.start();
  for (const t of dest.stream.getAudioTracks()) stream.addTrack(t);
  const pc = new RTCPeerConnection();
  for (const t of stream.getTracks()) pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
  const stop = () => {
    clearInterval(timer);
    pc.close();
    void audio.close();
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    setTimeout(resolve, 1000);
  });
  const res = await fetch(a.url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription?.sdp ?? '' });
  const text = await res.text();
  if (res.status !== 201) {
    stop();
    return { status: res.status, location: null, text };
  }
  const location = res.headers.get('location');
  g.__whip = { pc, location, stop };
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  return { status: res.status, location, text: '' };
}

/** Ends the page's WHEP/WHIP sessions: DELETE on their resources (the server frees them), then close. */
async function endSessionsInPage(): Promise<number[]> {
  const g = window as unknown as PageGlobals;
  const statuses: number[] = [];
  for (const s of [g.__whep, g.__whip]) {
    if (!s) continue;
    if (s.location)
      statuses.push(
        await fetch(s.location, { method: 'DELETE' }).then(
          (r) => r.status,
          () => -1,
        ),
      );
    s.pc.close();
  }
  g.__whip?.stop();
  return statuses;
}

/** Frames decoded by the page's WHEP session (getStats inbound-rtp video) and its connection state. */
async function whepStatsInPage(): Promise<{ framesDecoded: number; framesDropped: number; jitterBufferMs: number; connection: string }> {
  const g = window as unknown as PageGlobals;
  const out = { framesDecoded: 0, framesDropped: 0, jitterBufferMs: NaN, connection: g.__whep?.pc.connectionState ?? 'none' };
  if (!g.__whep) return out;
  (await g.__whep.pc.getStats()).forEach((s: Record<string, number | string>) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      out.framesDecoded = Number(s.framesDecoded ?? 0);
      out.framesDropped = Number(s.framesDropped ?? 0);
      out.jitterBufferMs = (Number(s.jitterBufferDelay) / Number(s.jitterBufferEmittedCount)) * 1000;
    }
  });
  return out;
}

/**
 * What the page's WHIP publisher sends (getStats outbound-rtp video, the nominated pair's bandwidth
 * estimate): Chromium lowers fps, size or bitrate when its estimate falls, e.g. when the server
 * sends no congestion feedback it understands (REMB, transport-cc).
 */
async function whipStatsInPage(): Promise<{
  framesDrawn: number;
  framesEncoded: number;
  fps: number;
  width: number;
  height: number;
  targetKbps: number;
  availableKbps: number;
  limitation: string;
}> {
  const g = window as unknown as PageGlobals;
  const out = {
    framesDrawn: g.__whipDrawn ?? 0,
    framesEncoded: 0,
    fps: 0,
    width: 0,
    height: 0,
    targetKbps: 0,
    availableKbps: 0,
    limitation: '',
  };
  if (!g.__whip) return out;
  (await g.__whip.pc.getStats()).forEach((s: Record<string, number | string | boolean>) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      out.framesEncoded = Number(s.framesEncoded ?? 0);
      out.fps = Number(s.framesPerSecond ?? 0);
      out.width = Number(s.frameWidth ?? 0);
      out.height = Number(s.frameHeight ?? 0);
      out.targetKbps = Math.round(Number(s.targetBitrate ?? 0) / 1000);
      out.limitation = String(s.qualityLimitationReason ?? '');
    }
    if (s.type === 'candidate-pair' && s.nominated) out.availableKbps = Math.round(Number(s.availableOutgoingBitrate ?? 0) / 1000);
  });
  return out;
}

// ---- Node-side wrappers.

/** A Chromium page whose <video> is read; readings are pulled from the page as they accumulate. */
export class PageStampReader {
  readonly readings: Reading[] = [];
  constructor(readonly page: Page) {}

  async install(selector: string): Promise<void> {
    const { block, frameWidth, frameHeight } = STAMP_GEOMETRY;
    await this.page.evaluate(installStampReaderInPage, { selector, bits: STAMP_BITS, block, frameWidth, frameHeight });
  }

  /** Moves the page's readings to this.readings; returns how many arrived. */
  async pull(): Promise<number> {
    const rows = await this.page.evaluate(takeReadingsInPage);
    for (const [shownMs, ...levels] of rows) this.readings.push({ shownMs, levels });
    return rows.length;
  }
}

export function whepPlay(page: Page, url: string) {
  return page.evaluate(whepPlayInPage, url);
}

export function whepStats(page: Page) {
  return page.evaluate(whepStatsInPage);
}

export function whipPublish(page: Page, url: string, fps = 25) {
  const { block, frameWidth, frameHeight } = STAMP_GEOMETRY;
  return page.evaluate(whipPublishInPage, { url, bits: STAMP_BITS, block, frameWidth, frameHeight, fps });
}

export function whipStats(page: Page) {
  return page.evaluate(whipStatsInPage);
}

export function endSessions(page: Page): Promise<number[]> {
  return page.evaluate(endSessionsInPage).catch(() => []);
}
