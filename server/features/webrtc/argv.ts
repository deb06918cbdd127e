// The ffmpeg and ffprobe argument lists of the WebRTC bridge, as pure functions (unit-tested).
// Measured and explained in the research report (scratch/i14/REPORT.md, "Bridge argv").

/**
 * WHIP → engine: ffmpeg reads the session's RTP from loopback UDP through an SDP file, copies the
 * H.264 and turns Opus into AAC (RTMP/FLV cannot carry Opus), and publishes to the engine with the
 * bridge mark (`?upstream=rtc&bridge=…`) so the engine's hook knows the stream is admitted.
 */
export function whipBridgeArgs(sdpFile: string, rtmpUrl: string, hasAudio: boolean): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'warning',
    '-protocol_whitelist',
    'file,udp,rtp',
    '-fflags',
    'nobuffer',
    '-flags',
    'low_delay',
    // Long enough to see SPS/PPS and a key frame: the session asks the browser for one at once (PLI).
    '-analyzeduration',
    '3000000',
    '-reorder_queue_size',
    '64',
    '-i',
    sdpFile,
    '-c:v',
    'copy',
    ...(hasAudio ? ['-c:a', 'aac', '-b:a', '128k', '-ar', '48000'] : []),
    '-f',
    'flv',
    rtmpUrl,
  ];
}

export interface FeederPorts {
  /** Where Node receives the video RTP (and its RTCP: rtcp-mux on one socket). */
  readonly videoDest: number;
  readonly audioDest: number;
  /** ffmpeg's own local ports (RTP, RTP + 1 for RTCP) for each output, pinned: see whepFeederArgs. */
  readonly videoLocal: number;
  readonly audioLocal: number;
}

/** The video encoding of a WHEP feeder: copy, or re-encode without B-frames. */
export type FeederVideo = 'copy' | 'transcode';

export const FEEDER_VIDEO_SSRC = 1001;
export const FEEDER_AUDIO_SSRC = 1002;
export const FEEDER_VIDEO_PT = 102;
export const FEEDER_AUDIO_PT = 111;

function rtpUrl(dest: number, local: number): string {
  // rtcpport=dest: ffmpeg's RTCP (sender reports) comes to the same socket as the RTP (told apart by
  // payload type) instead of dest + 1, a port nobody here owns. localrtpport/localrtcpport pinned:
  // left to ffmpeg, it picks ports of its own (report pitfall 2).
  return `rtp://127.0.0.1:${dest}?pkt_size=1200&rtcpport=${dest}&localrtpport=${local}&localrtcpport=${local + 1}`;
}

/**
 * Engine → WHEP viewers, one per played stream: plays the stream over RTMP and sends RTP to Node,
 * which fans it out to every viewer's track.
 * - video copied when the source has no B-frames, with `h264_mp4toannexb`: FLV carries SPS/PPS only
 *   in its header (avcC) and the RTP muxer would put them only in its SDP; the filter puts them in
 *   the stream before each key frame, where the browser needs them;
 * - video re-encoded when the source has B-frames (x264's default): Chromium's WebRTC H.264 path
 *   does not reorder frames and drops them (5 decoded in 7 s, report "B-frames"); `-bf 0
 *   -tune zerolatency` and a 2 s GOP so a new viewer waits at most 2 s for a key frame;
 * - audio always re-encoded to Opus (WebRTC has no AAC), 20 ms frames, low-delay mode.
 */
export function whepFeederArgs(rtmpUrl: string, ports: FeederPorts, video: FeederVideo, hasAudio: boolean): string[] {
  const videoCodec =
    video === 'copy'
      ? ['-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb']
      : [
          '-c:v',
          'libx264',
          '-preset',
          'veryfast',
          '-tune',
          'zerolatency',
          '-bf',
          '0',
          '-g',
          '50',
          '-keyint_min',
          '25',
          '-b:v',
          '2500k',
          '-maxrate',
          '3000k',
          '-bufsize',
          '3000k',
          '-pix_fmt',
          'yuv420p',
        ];
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-fflags',
    'nobuffer',
    '-flags',
    'low_delay',
    // An upper bound: FLV's metadata usually names both streams at once; a video that starts late
    // (an encoder's look-ahead, a WHIP bridge waiting for its key frame) still gets found.
    '-analyzeduration',
    '3000000',
    '-rw_timeout',
    '10000000',
    '-i',
    rtmpUrl,
    '-map',
    '0:v:0',
    ...videoCodec,
    '-payload_type',
    String(FEEDER_VIDEO_PT),
    '-ssrc',
    String(FEEDER_VIDEO_SSRC),
    '-f',
    'rtp',
    rtpUrl(ports.videoDest, ports.videoLocal),
  ];
  if (hasAudio) {
    args.push(
      '-map',
      '0:a:0',
      '-c:a',
      'libopus',
      '-b:a',
      '64k',
      '-ar',
      '48000',
      '-ac',
      '2',
      '-application',
      'lowdelay',
      '-frame_duration',
      '20',
      '-payload_type',
      String(FEEDER_AUDIO_PT),
      '-ssrc',
      String(FEEDER_AUDIO_SSRC),
      '-f',
      'rtp',
      rtpUrl(ports.audioDest, ports.audioLocal),
    );
  }
  return args;
}

/**
 * B-frame detection: the first packets of the stream's video, in decode order, with their
 * timestamps, plus the streams' codecs. No decoding: a packet whose presentation time is earlier
 * than the one before it was reordered, and only B-frames are (see hasReorderedFrames).
 */
export function probeArgs(rtmpUrl: string, packets = 40): string[] {
  return [
    '-v',
    'error',
    '-rw_timeout',
    '8000000',
    '-analyzeduration',
    '3000000',
    '-read_intervals',
    `%+#${packets}`,
    '-show_entries',
    'stream=index,codec_type,codec_name,has_b_frames:packet=stream_index,pts,dts',
    '-of',
    'json',
    rtmpUrl,
  ];
}

export interface ProbedStream {
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
  readonly videoCodec: string;
  readonly bframes: boolean;
}

/** True when any packet (decode order) presents before its predecessor: frames were reordered, i.e. B-frames. */
export function hasReorderedFrames(pts: readonly number[]): boolean {
  for (let i = 1; i < pts.length; i++) if ((pts[i] as number) < (pts[i - 1] as number)) return true;
  return false;
}

/**
 * Reads probeArgs' JSON (no JSON: nothing found). A probe that saw no video packets falls back on the decoder's
 * `has_b_frames` (the reorder depth it derived from the SPS); when in doubt, B-frames (transcoding
 * costs CPU, a copy with B-frames costs the picture).
 */
export function parseProbe(json: string): ProbedStream {
  let doc: { streams?: Array<Record<string, unknown>>; packets?: Array<Record<string, unknown>> };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch {
    return { hasVideo: false, hasAudio: false, videoCodec: '', bframes: true };
  }
  const streams = doc.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  const pts = (doc.packets ?? [])
    .filter((p) => video !== undefined && p.stream_index === video.index && p.pts !== undefined && p.pts !== 'N/A')
    .map((p) => Number(p.pts));
  const bframes = pts.length >= 3 ? hasReorderedFrames(pts) : Number(video?.has_b_frames ?? 1) > 0;
  return { hasVideo: video !== undefined, hasAudio: audio !== undefined, videoCodec: String(video?.codec_name ?? ''), bframes };
}
