// FAQ "multiple instances": two stacks on one machine with their own DATA_DIR and ports (HTTP,
// HTTPS, RTMP) run side by side, each with its own engine, registry and HLS.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ffprobe, publish, type Publisher } from '../helpers/media.js';
import { initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

describe('multiple instances: two stacks side by side', function () {
  this.timeout(90_000);
  const stacks: Array<{ stack: StackHandle; bearer: string; secret: string }> = [];
  const publishers: Publisher[] = [];

  before(async () => {
    // TAP_LISTEN=0 as installed: each picks its own free loopback port for the live tap.
    for (const stack of await Promise.all([startStack({ env: { TAP_LISTEN: '0' } }), startStack({ env: { TAP_LISTEN: '0' } })])) {
      const bearer = await initAdmin(stack);
      const secret = ((await stack.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
      stacks.push({ stack, bearer, secret });
    }
  });
  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await Promise.all(stacks.map((s) => s.stack.stop()));
  });

  const names = async (s: (typeof stacks)[number]) =>
    (
      (
        (await s.stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer: s.bearer })).json.data as {
          streams: Array<{ stream: string }> | null;
        }
      ).streams ?? []
    ).map((x) => x.stream);

  it('publishes the same stream name to both; each lists and serves only its own', async () => {
    const [a, b] = stacks;
    assert.ok(a && b);
    assert.notEqual(a.secret, b.secret, 'each instance generated its own secret');
    for (const s of stacks) {
      assert.ok(fs.existsSync(path.join(s.stack.dataDir, 'engine', 'engine.sock')), 'each engine has its own control socket');
      // A publish secret of the other instance is refused.
      const other = s === a ? b : a;
      const wrong = publish(`rtmp://127.0.0.1:${s.stack.ports.rtmp}/live/livestream?secret=${other.secret}`, 3);
      publishers.push(wrong);
      assert.notEqual(await wrong.exited, 0);
    }
    for (const s of stacks) publishers.push(publish(`rtmp://127.0.0.1:${s.stack.ports.rtmp}/live/livestream?secret=${s.secret}`));
    await waitFor(
      async () => (await names(a)).includes('livestream') && (await names(b)).includes('livestream'),
      15_000,
      () => 'both registered',
    );
    for (const s of stacks) {
      await s.stack.api('/terraform/v1/mgmt/hlsll/update', { hlsLowLatency: true }, { bearer: s.bearer });
      await waitFor(
        async () => (await fetch(`${s.stack.url}/live/livestream.m3u8`)).status === 200,
        20_000,
        () => 'HLS',
      );
      const probe = await ffprobe(`${s.stack.url}/live/livestream.m3u8`);
      assert.equal(probe.streams.length, 2);
      // HTTP-FLV comes through each instance's own live tap (TAP_LISTEN=0: ports never collide).
      assert.equal((await ffprobe(`${s.stack.url}/live/livestream.flv`)).streams.length, 2);
    }
    // Stopping one instance leaves the other's stream live.
    await a.stack.stop();
    assert.deepEqual(await names(b), ['livestream']);
    assert.equal(publishers.at(-1)?.running(), true);
    assert.equal((await fetch(`${b.stack.url}/live/livestream.m3u8`)).status, 200);
  });
});
