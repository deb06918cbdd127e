// /metrics scraped while the stack really works: ffmpeg publishes (checked by a user HTTP callback,
// the built-in example receiver), the stream is recorded and watched over HTTP-FLV. The exposition
// must parse as Prometheus text format line by line, and its numbers must match what runs.
import assert from 'node:assert/strict';
import { FlvReader, publish, type Publisher } from '../helpers/media.js';
import { parsePrometheus, sampleValue, type PromFamily } from '../helpers/prometheus.js';
import { publishSecretOf, stackPublishUrl, waitStreamLive } from '../helpers/restream.js';
import { initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

describe('metrics: /metrics during a real publish, HTTP-FLV play and recording', function () {
  this.timeout(90_000);
  let stack: StackHandle;
  let bearer: string;
  let publisher: Publisher;
  let reader: FlvReader;

  const call = async (name: string, body: unknown = {}) => {
    const res = await stack.api(`/terraform/v1/${name}`, body, { bearer });
    assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.json)}`);
    return res.json.data;
  };
  const scrape = async (): Promise<{ text: string; families: Map<string, PromFamily> }> => {
    const res = await fetch(`${stack.url}/metrics`, { headers: { Authorization: `Bearer ${bearer}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    return { text, families: parsePrometheus(text) };
  };

  before(async () => {
    stack = await startStack({ env: { SRS_RECORD_WAIT_SECONDS: '3' } });
    bearer = await initAdmin(stack);
    await call('hooks/record/apply', { all: true });
    await call('mgmt/hooks/apply', { all: true, target: `${stack.url}/terraform/v1/mgmt/hooks/example` });
    publisher = publish(stackPublishUrl(stack, await publishSecretOf(stack, bearer), 'm1'), 0);
    await waitStreamLive(stack, bearer, 'm1');
    await waitFor(
      async () => ((await call('hooks/record/files')) as Array<{ status: string }>).some((r) => r.status === 'recording'),
      20_000,
      () => 'recording m1',
    );
    reader = new FlvReader(`${stack.url}/live/m1.flv`, { keepTags: false });
    await waitFor(
      () => reader.bytes > 0,
      20_000,
      () => `FLV bytes (status ${reader.status})`,
    );
  });
  after(async () => {
    reader?.close();
    await publisher?.stop();
    await stack?.stop();
  });

  it('parses as Prometheus text format and counts the stream, its players, the hook, the callback and the record', async () => {
    const { text, families } = await scrape();
    assert.doesNotMatch(text, /^# collector failed/m);
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(families, name, labels);

    assert.equal(value('srs_stack_streams'), 1);
    assert.ok((value('srs_stack_viewers', { protocol: 'flv' }) ?? 0) >= 1, 'the FLV player is counted');
    assert.equal(value('srs_stack_viewers', { protocol: 'hls' }), 0);
    assert.equal(value('srs_stack_viewers', { protocol: 'rtmp' }), 0, 'loopback consumers are not viewers');
    assert.ok((value('srs_stack_publish_hook_seconds_count', { result: 'accepted' }) ?? 0) >= 1);
    assert.ok((value('srs_stack_callback_seconds_count', { action: 'on_publish' }) ?? 0) >= 1, "the user's callback was timed");
    assert.equal(value('srs_stack_callback_failures_total', { action: 'on_publish', reason: 'refused' }), 0);
    assert.equal(value('srs_stack_recordings', { state: 'recording' }), 1);
    assert.equal(value('srs_stack_recordings', { state: 'finishing' }), 0);
    assert.equal(value('srs_stack_record_segments_lost_total'), 0);
    assert.equal(value('srs_stack_tasks', { feature: 'forward', state: 'ready' }), 0);
    assert.equal(value('srs_stack_child_up', { name: 'nginx' }), 1);
    assert.equal(value('srs_stack_child_up', { name: 'redis' }), 1);
    assert.ok((value('srs_stack_process_resident_memory_bytes') ?? 0) > 10e6);
  });

  it("reports how late the stack's event loop ran since the previous scrape", async () => {
    await scrape(); // starts a new window
    // Frozen for 400 ms: its 10 ms timer runs that late once.
    process.kill(stack.proc.pid as number, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 400));
    process.kill(stack.proc.pid as number, 'SIGCONT');
    await new Promise((r) => setTimeout(r, 300)); // some 30 timely runs after the late one
    const late = await scrape();
    const delay = (families: Map<string, PromFamily>, quantile: string) =>
      sampleValue(families, 'srs_stack_event_loop_delay_seconds', { quantile }) ?? NaN;
    assert.ok(delay(late.families, '1') >= 0.3, `max ${delay(late.families, '1')} s after a 400 ms freeze`);
    assert.ok(delay(late.families, '0.5') < 0.3, `median ${delay(late.families, '0.5')} s`);
    await new Promise((r) => setTimeout(r, 300));
    const next = await scrape();
    assert.ok(delay(next.families, '1') < 0.3, `the next window starts anew: max ${delay(next.families, '1')} s`);
  });

  it('counts a refused publish and the finished record', async () => {
    const bad = publish(stackPublishUrl(stack, 'wrong-secret', 'm2'), 2);
    await bad.exited;
    await publisher.stop();
    reader.close();
    await waitFor(
      async () => ((await call('hooks/record/files')) as Array<{ status: string }>).every((r) => r.status === 'done'),
      30_000,
      () => 'the record done',
    );
    const { families } = await scrape();
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(families, name, labels);
    assert.ok((value('srs_stack_publish_hook_seconds_count', { result: 'rejected' }) ?? 0) >= 1);
    assert.equal(value('srs_stack_recordings_finished_total'), 1);
    assert.equal(value('srs_stack_recordings', { state: 'recording' }), 0);
    assert.equal(value('srs_stack_streams'), 0);
    assert.equal(value('srs_stack_record_finish_failures_total', { step: 'remux' }), 0);
    assert.equal(value('srs_stack_record_remuxes_total'), 0, 'the MP4 was written while recording, not remuxed');
  });
});
