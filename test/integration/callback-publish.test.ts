// The user's HTTP callback decides a real RTMP publish: a receiver that answers an error rejects
// it before any media is accepted, one that answers {"code":0} lets it through, and the
// on_record_end it receives after a recording names the finished MP4.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { publish } from '../helpers/media.js';
import { publishSecretOf, stackPublishUrl, waitStreamLive } from '../helpers/restream.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

describe('HTTP callbacks decide real RTMP publishes', function () {
  this.timeout(90_000);
  let stack: StackHandle;
  let bearer: string;
  let receiver: CallbackReceiver;

  before(async () => {
    receiver = await startCallbackReceiver('fail');
    stack = await startStack({ env: { SRS_RECORD_WAIT_SECONDS: '2' } });
    bearer = await initAdmin(stack);
    const target = receiver.url;
    assert.equal((await stack.api('/terraform/v1/mgmt/hooks/apply', { all: true, target, opaque: 'op-1' }, { bearer })).status, 200);
  });
  after(async () => {
    await stack?.stop();
    receiver?.close();
  });

  it('a receiver answering an error rejects the publish; {"code":0} accepts it', async () => {
    const secret = await publishSecretOf(stack, bearer);
    receiver.verdict = 'fail';
    const refused = publish(stackPublishUrl(stack, secret, 'vetoed'), 5);
    const code = await Promise.race([refused.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    await refused.stop();
    assert.notEqual(code, 0, 'ffmpeg must fail to publish');
    assert.notEqual(code, 'still running', 'the publish must be refused, not accepted');
    const onPublish = receiver.received.find((b) => b.action === 'on_publish' && b.stream === 'vetoed');
    assert.equal(onPublish?.opaque, 'op-1');
    const streams = (await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer })).json.data as {
      streams: Array<{ stream: string }> | null;
    };
    assert.ok(!(streams.streams ?? []).some((s) => s.stream === 'vetoed'), 'a refused stream is not registered');

    receiver.verdict = 'ok';
    assert.equal((await stack.api('/terraform/v1/hooks/record/apply', { all: true }, { bearer })).status, 200);
    const accepted = publish(stackPublishUrl(stack, secret, 'allowed'), 0);
    try {
      await waitStreamLive(stack, bearer, 'allowed');
      // Published long enough once the recording holds a segment: its MP4 will not be empty.
      let records: Array<{ stream: string; nn: number }> = [];
      await waitFor(
        async () =>
          (records = (await stack.api('/terraform/v1/hooks/record/files', {}, { bearer })).json.data as typeof records).some(
            (r) => r.stream === 'allowed' && r.nn > 0,
          ),
        20_000,
        () => `a recording of the accepted stream with a segment, saw ${JSON.stringify(records)}`,
      );
    } finally {
      await accepted.stop();
    }
    await waitFor(
      () => receiver.received.some((b) => b.action === 'on_record_end'),
      40_000,
      () => `on_record_end among ${JSON.stringify(receiver.received.map((b) => b.action))}`,
    );
    const end = receiver.received.find((b) => b.action === 'on_record_end') as {
      artifact_path: string;
      artifact_url: string;
      stream: string;
    };
    assert.equal(end.stream, 'allowed');
    assert.match(end.artifact_path, /\/record\/[0-9a-f-]+\/index\.mp4$/);
    assert.ok(fs.statSync(end.artifact_path).size > 0, 'the MP4 named by on_record_end exists');
    assert.match(end.artifact_url, /\/terraform\/v1\/hooks\/record\/hls\/[0-9a-f-]+\/index\.mp4$/);
  });
});
