// core/process/thread-priority.ts: the nice value is set on the calling thread only, and the
// records' MP4 worker thread runs with it (features/record/live-mp4-worker.ts).
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ROOT } from '../helpers/stack.js';
import { niceOf } from '../helpers/thread-nice.js';

const MODULE = pathToFileURL(path.join(ROOT, 'dist', 'server', 'core', 'process', 'thread-priority.js')).href;

describe('thread priority (core/process/thread-priority.ts)', () => {
  it('lowers the calling thread only: a worker at nice 10, the main thread as it was', async () => {
    const mainBefore = niceOf('/proc/thread-self/stat');
    const worker = new Worker(
      `import { parentPort } from 'node:worker_threads';
       import { niceThisThread, threadId } from '${MODULE}';
       const refused = niceThisThread(10);
       parentPort.postMessage({ refused, tid: threadId() });
       setTimeout(() => {}, 2000);`,
      { eval: true },
    );
    try {
      const { refused, tid } = await new Promise<{ refused: string; tid: number }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      assert.equal(refused, '');
      assert.equal(niceOf(`/proc/self/task/${tid}/stat`), 10);
      assert.equal(niceOf('/proc/thread-self/stat'), mainBefore);
      assert.equal(niceOf('/proc/self/stat'), mainBefore, 'the process (its main thread) keeps its priority');
    } finally {
      await worker.terminate();
    }
  });
});
