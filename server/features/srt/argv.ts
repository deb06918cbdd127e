// The SRT gateway's ffmpeg argument lists, pure (reference: /work/scratch/i14/REPORT.md, "Exact
// ffmpeg argv"). Both are remuxes (-c copy): nothing is decoded. `-stats` feeds the supervisor's
// stall watchdog (ffmpeg's `time=`); `-nostdin` keeps ffmpeg off the terminal.

/** ffmpeg's client URL of a unix stream socket the gateway listens on. */
export function unixUrl(socketPath: string): string {
  return `unix:${socketPath}`;
}

/**
 * SRT caller's MPEG-TS → the engine's RTMP. The gateway holds the first second of media while
 * admission runs, so ffmpeg usually finds both streams at once; the probe bound is an upper limit
 * for a caller whose video starts late, not a delay.
 */
export function srtBridgeArgs(input: string, rtmpUrl: string): string[] {
  return [
    ...['-hide_banner', '-nostdin', '-loglevel', 'warning', '-stats'],
    ...['-fflags', 'nobuffer', '-analyzeduration', '3000000', '-f', 'mpegts', '-i', input],
    ...['-c', 'copy', '-f', 'flv', rtmpUrl],
  ];
}

/**
 * A live stream (from the live tap: its GOP first, then live) → MPEG-TS for SRT players, one per
 * played stream. `-pes_payload_size 0` (SRS Stack's SRT output) keeps a frame per PES; flushing each
 * packet keeps latency to the remux.
 */
export function srtPlayArgs(input: string, output: string): string[] {
  return [
    ...['-hide_banner', '-nostdin', '-loglevel', 'warning', '-stats'],
    // An upper bound, not a delay: probing ends once both streams are seen. With 1 s, a feed whose
    // video came later than a second of audio went out audio-only and its players found no video.
    ...['-fflags', 'nobuffer', '-analyzeduration', '3000000', '-i', input],
    ...['-map', '0', '-c', 'copy', '-f', 'mpegts', '-pes_payload_size', '0', '-flush_packets', '1', '-muxdelay', '0', output],
  ];
}

/** The bridge's RTMP publish: the engine recognises it as admitted already (Admission.bridgeParam). */
export function bridgePublishUrl(loopbackUrl: string, bridgeParam: string): string {
  return `${loopbackUrl}?upstream=srt&${bridgeParam}`;
}
