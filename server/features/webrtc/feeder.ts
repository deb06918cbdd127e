// One WHEP feeder per played stream, shared by all its WebRTC viewers: an ffmpeg plays the stream
// from the engine and sends RTP (video, Opus audio) to two loopback sockets; Node hands each
// packet to every viewer's track. Started by the first viewer, stopped a little after the last.
//
// B-frames: decided per stream before ffmpeg starts. A short ffprobe (runOnce) reads the first 40
// video packets of the live stream with their timestamps, no decoding: a packet presenting before
// the one decoded before it was reordered, which only B-frames are (argv.ts parseProbe). With
// B-frames the feeder re-encodes the video without them; otherwise it copies it.
import type dgram from 'node:dgram';
import { createLogger } from '../../core/logger.js';
import { runOnce } from '../../core/process/run-once.js';
import type { Supervisor } from '../../core/process/supervisor.js';
import { parseProbe, probeArgs, whepFeederArgs, type FeederVideo } from './argv.js';
import { freeUdpPair, loopbackSocket } from './ports.js';
import { isRtcp } from './sdp.js';

const log = createLogger('webrtc');

/** What the feeder needs of a viewer: where to send, and with which payload types. */
export interface FeederViewer {
  readonly id: string;
  send(kind: 'video' | 'audio', packet: Buffer): void;
}

export interface FeederDeps {
  readonly supervisor: Supervisor;
  readonly ffmpeg: string;
  readonly ffprobe: string;
  /** The engine's loopback RTMP URL of the stream. */
  readonly playUrl: string;
  /** The feeder stopped on its own (the stream ended, ffmpeg failed): its viewers must go. */
  readonly onGone: (feeder: WhepFeeder) => void;
}

let serial = 0;
/** How long a feeder keeps probing a stream that is not (yet) playable. */
const PROBE_WINDOW_MS = 15_000;

export class WhepFeeder {
  readonly viewers = new Map<string, FeederViewer>();
  private sockets: dgram.Socket[] = [];
  private childName = '';
  private stopped = false;
  private lingerTimer: NodeJS.Timeout | null = null;
  /** Chosen by the probe: copy or transcode, for the API and tests. */
  video: FeederVideo | null = null;
  packets = 0;

  constructor(
    readonly key: string,
    private readonly deps: FeederDeps,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  add(viewer: FeederViewer): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.viewers.set(viewer.id, viewer);
  }

  /** Removes a viewer; the last one out stops the feeder after `lingerMs` (a reload reuses it). */
  remove(id: string, lingerMs: number): void {
    this.viewers.delete(id);
    if (this.viewers.size || this.stopped || this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      if (!this.viewers.size) void this.stop();
    }, lingerMs);
    this.lingerTimer.unref();
  }

  async start(): Promise<void> {
    const [video, audio] = await Promise.all([loopbackSocket(), loopbackSocket()]);
    this.sockets = [video, audio];
    video.on('message', (msg) => this.fanOut('video', msg));
    audio.on('message', (msg) => this.fanOut('audio', msg));
    // A stream that has just started may not be in the engine yet (admitted, its WHIP bridge still
    // waiting for the first key frame: "No such stream"), or show its video a moment later (x264's
    // look-ahead): probe again, for up to PROBE_WINDOW_MS, before giving up.
    let probed = { hasVideo: false, hasAudio: false, videoCodec: '', bframes: true };
    let probe = { stdout: '', stderr: '' };
    const deadline = Date.now() + PROBE_WINDOW_MS;
    while (!this.stopped && !probed.hasVideo && Date.now() < deadline) {
      const started = Date.now();
      probe = await runOnce(this.deps.ffprobe, probeArgs(this.deps.playUrl), { timeoutMs: 12_000, stdoutLimit: 256 * 1024 }).catch(
        (err: Error) => ({ stdout: '', stderr: err.message }),
      );
      probed = parseProbe(probe.stdout);
      if (!probed.hasVideo) await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
    }
    if (this.stopped) return;
    if (!probed.hasVideo || (probed.videoCodec && probed.videoCodec !== 'h264')) {
      log.warn(
        `WHEP ${this.key}: no H.264 video to play (${probed.videoCodec || 'no video'}; ffprobe: ${probe.stderr.trim().slice(-200)})`,
      );
      this.gone();
      return;
    }
    this.video = probed.bframes ? 'transcode' : 'copy';
    const [videoLocal, audioLocal] = [await freeUdpPair(), await freeUdpPair()];
    const args = whepFeederArgs(
      this.deps.playUrl,
      { videoDest: video.address().port, audioDest: audio.address().port, videoLocal, audioLocal },
      this.video,
      probed.hasAudio,
    );
    if (this.stopped) return;
    this.childName = `whep-${this.key}-${++serial}`;
    log.info(`WHEP ${this.key}: feeder ${this.video === 'copy' ? 'copies the video' : 'transcodes the video (the source has B-frames)'}`);
    this.deps.supervisor
      .add({
        name: this.childName,
        command: this.deps.ffmpeg,
        args,
        restart: 'never',
        stopTimeoutMs: 2000,
        onExit: () => {
          if (!this.stopped) this.gone();
        },
      })
      .start();
  }

  private fanOut(kind: 'video' | 'audio', msg: Buffer): void {
    if (this.stopped) return;
    this.packets += 1;
    // ffmpeg's sender reports go to the viewers too (A/V sync); anything else from RTCP is ours.
    if (isRtcp(msg) && msg[1] !== 200) return;
    for (const viewer of this.viewers.values()) viewer.send(kind, msg);
  }

  private gone(): void {
    void this.stop().then(() => this.deps.onGone(this));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    for (const s of this.sockets) {
      try {
        s.close();
      } catch {
        /* closed */
      }
    }
    if (this.childName) await this.deps.supervisor.remove(this.childName);
  }
}
