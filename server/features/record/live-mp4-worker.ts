// The worker thread all records' MP4 writers share (live-mp4.ts, docs/architecture.md
// "Recording"): the transmuxing (live-mp4-muxer.ts) is CPU the stack's thread must not spend, as
// that thread also serves HTTP-FLV, LL-HLS and the publish hook. One muxer per writer id; the
// messages of one id come in order, and each gets one reply. Segments come in and fragments go
// back as transferred buffers, not copies.
import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { niceThisThread } from '../../core/process/thread-priority.js';
import { Mp4Muxer } from './live-mp4-muxer.js';
import { ownBuffer, transferList, type MuxReply, type MuxRequest } from './live-mp4-messages.js';

/**
 * The worker's nice value. Records only need the worker to keep up on average (a writer reads its
 * next segment only when the one before is muxed: falling behind costs a later end, not memory),
 * while the stack's thread, nginx-rtmp and the players' connections need a core at once: on a
 * saturated box (bench:load with 1000 viewers) the worker at normal priority took the time LL-HLS
 * players waited for (docs/compatibility.md §5.8).
 */
export const MUX_WORKER_NICE = 10;

const port = parentPort;
if (port) {
  // Not fatal: a system that refuses it runs the worker at the stack's priority.
  const refused = niceThisThread(MUX_WORKER_NICE);
  if (refused) createLogger('record').warn(`the MP4 worker thread keeps the stack's priority: ${refused}`);
  const muxers = new Map<string, Mp4Muxer>();
  const reply = (message: MuxReply): void => {
    const views = [...(message.parts ?? []), ...(message.head ? [message.head] : [])];
    port.postMessage(message, transferList(views));
  };
  port.on('message', (request: MuxRequest) => {
    const { seq, id } = request;
    try {
      if (request.op === 'close') {
        muxers.delete(id);
        reply({ seq });
        return;
      }
      let muxer = muxers.get(id);
      if (!muxer) muxers.set(id, (muxer = new Mp4Muxer()));
      if (request.op === 'push') {
        reply({ seq, parts: muxer.push(request.ts).map(ownBuffer), reserve: muxer.reserve });
      } else {
        muxers.delete(id);
        const { parts, head } = muxer.finish();
        reply({ seq, parts: parts.map(ownBuffer), reserve: muxer.reserve, head: ownBuffer(head) });
      }
    } catch (err) {
      muxers.delete(id);
      reply({ seq, error: errorMessage(err) });
    }
  });
}
