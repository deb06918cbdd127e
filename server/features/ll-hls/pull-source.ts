// LiveSource by pulling each subscribed stream from the engine over loopback RTMP with a supervised
// `ffmpeg -c copy -f flv pipe:1` (the HTTP-FLV relay's own pull argv). It stands in for the engine's
// live tap, which pushes the same tags without a process per stream.
import { createLogger } from '../../core/logger.js';
import { FlvFormatError, FlvParser } from '../../core/media/flv-tags.js';
import type { LiveSink, LiveSource } from '../../core/media/live-source.js';
import type { Supervisor } from '../../core/process/supervisor.js';
import { ffmpegTimeMarker, flvPullArgs } from '../flv/flv-relay.js';

const log = createLogger('ll-hls');

export interface PullSourceOptions {
  readonly ffmpeg: string;
  /** Loopback RTMP URL the pull plays a live stream from. */
  readonly playUrl: (app: string, stream: string) => string;
  /** Kill a pull that made no progress for this long (the sink then ends). */
  readonly stallTimeoutMs: number;
}

export class FfmpegPullSource implements LiveSource {
  private serial = 0;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly opts: PullSourceOptions,
  ) {}

  subscribe(app: string, stream: string, sink: LiveSink): () => void {
    let open = true;
    // A serial in the name: a new pull of the same stream never waits for the old one's removal.
    const name = `llhls:${app}/${stream}#${++this.serial}`;
    const finish = (reason: string | null) => {
      if (!open) return;
      open = false;
      if (reason !== null) sink.end(reason);
      void this.supervisor.remove(name);
    };
    const child = this.supervisor.add({
      name,
      command: this.opts.ffmpeg,
      args: flvPullArgs(this.opts.playUrl(app, stream)),
      restart: 'never',
      stopSignal: 'SIGKILL', // a remux to a pipe has nothing to flush
      progress: ffmpegTimeMarker,
      stallTimeoutMs: this.opts.stallTimeoutMs,
      stdout: (out) => {
        const parser = new FlvParser();
        let headerSent = false;
        out.on('data', (chunk: Buffer) => {
          if (!open) return;
          try {
            const tags = parser.push(chunk);
            if (!headerSent && parser.header) {
              headerSent = true;
              sink.header(parser.header);
            }
            if (tags.length) sink.tags(tags);
          } catch (err) {
            const reason = err instanceof FlvFormatError ? err.message : `LL-HLS muxer: ${String(err)}`;
            log.warn(`${app}/${stream}: ${reason}`);
            child.kill(reason);
            finish(reason);
          }
        });
      },
      onExit: (exit) => finish(`pull ended: ${exit.reason}`),
    });
    child.start();
    return () => finish(null);
  }
}
