import assert from 'node:assert/strict';
import { Metrics } from '../../server/core/metrics.js';
import { taskFeature } from '../../server/core/process/metrics.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';

describe('metrics exposition', () => {
  it('escapes label values so any stream name stays one valid line', async () => {
    const metrics = new Metrics();
    const hostile = 'a"b\\c\nd{e}=f,g';
    metrics.gauge('t_viewers', 'Players.', () => [{ labels: { stream: hostile }, value: 3 }]);
    const families = parsePrometheus(await metrics.render());
    assert.equal(sampleValue(families, 't_viewers', { stream: hostile }), 3);
  });

  it('renders histograms with cumulative buckets, +Inf equal to the count, per label set', async () => {
    const metrics = new Metrics();
    const h = metrics.histogram('t_seconds', 'Latency.');
    for (const s of [0.001, 0.02, 0.02, 3, 20]) h.observe(s, { result: 'ok' });
    h.observe(0.5, { result: 'no' });
    const families = parsePrometheus(await metrics.render());
    assert.equal(sampleValue(families, 't_seconds_count', { result: 'ok' }), 5);
    assert.equal(sampleValue(families, 't_seconds_bucket', { result: 'ok', le: '0.025' }), 3);
    assert.equal(sampleValue(families, 't_seconds_bucket', { result: 'ok', le: '+Inf' }), 5);
    assert.equal(sampleValue(families, 't_seconds_count', { result: 'no' }), 1);
  });

  it('reports a failing collector as a comment and keeps the scrape valid', async () => {
    const metrics = new Metrics();
    metrics.gauge('t_broken', 'Broken.', () => {
      throw new Error('redis down\nsecond line');
    });
    metrics.counter('t_ok', 'Fine.', () => [{ value: 1 }]);
    const text = await metrics.render();
    assert.match(text, /^# collector failed: redis down second line$/m);
    assert.equal(sampleValue(parsePrometheus(text), 't_ok'), 1);
  });

  it('the test parser refuses what Prometheus would refuse', () => {
    const bad = [
      't_x 1\n', // no TYPE/HELP: undeclared family
      '# TYPE t_x gauge\nt_x one\n',
      '# TYPE t_x gauge\nt_x{a="1"} 1\nt_x{a="1"} 2\n',
      '# TYPE t_x gauge\nt_x{a="unterminated} 1\n',
      '# TYPE t_x gauge\nt_x 1',
      '# TYPE t_h histogram\nt_h_bucket{le="1"} 2\nt_h_bucket{le="+Inf"} 1\nt_h_sum 1\nt_h_count 1\n',
      '# TYPE t_h histogram\nt_h_bucket{le="1"} 1\nt_h_sum 1\nt_h_count 1\n',
    ];
    for (const text of bad) assert.throws(() => parsePrometheus(text), Error, JSON.stringify(text));
  });

  it('maps supervised children to their feature', () => {
    assert.equal(taskFeature('forward-wx'), 'forward');
    assert.equal(taskFeature('vlive-vlive-1-a1b2c3'), 'vlive');
    assert.equal(taskFeature('camera-camera-2-abcdef'), 'camera');
    assert.equal(taskFeature('transcode-global'), 'transcode');
    assert.equal(taskFeature('nginx'), null);
    assert.equal(taskFeature('redis'), null);
  });
});
