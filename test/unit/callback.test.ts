import assert from 'node:assert/strict';
import { isAccepted } from '../../server/features/callback/client.js';
import {
  diskLowBody,
  EXAMPLE_PATH,
  destinationBody,
  publishBody,
  recordBeginBody,
  recordEndBody,
  selfTargetProblem,
  unpublishBody,
} from '../../server/features/callback/service.js';

const stream = { vhost: '__defaultVhost__', app: 'live', stream: 'livestream', param: '?secret=abc', update: '2024-11-16T08:00:00Z' };
const record = { vhost: '__defaultVhost__', app: 'live', stream: 'livestream', uuid: 'u-1' };

describe('callback bodies (docs/compatibility.md §4, exact fields)', () => {
  it('on_publish carries the param; on_unpublish does not', () => {
    assert.deepEqual(publishBody('r1', 'tok', stream), {
      request_id: 'r1',
      action: 'on_publish',
      opaque: 'tok',
      vhost: '__defaultVhost__',
      app: 'live',
      stream: 'livestream',
      param: '?secret=abc',
    });
    assert.deepEqual(unpublishBody('r2', 'tok', stream), {
      request_id: 'r2',
      action: 'on_unpublish',
      opaque: 'tok',
      vhost: '__defaultVhost__',
      app: 'live',
      stream: 'livestream',
    });
  });

  it('leaves empty fields out, as SRS Stack’s omitempty does', () => {
    assert.deepEqual(Object.keys(publishBody('r', '', { ...stream, param: '' })), ['request_id', 'action', 'vhost', 'app', 'stream']);
  });

  it('on_record_begin has the uuid; on_record_end adds the artifact code, path and URL', () => {
    assert.deepEqual(recordBeginBody('r3', 'o', record), { request_id: 'r3', action: 'on_record_begin', opaque: 'o', ...record });
    assert.deepEqual(
      recordEndBody('r4', 'o', { ...record, artifact_path: '/d/record/u-1/index.mp4' }, 'https://live.example.com', '/unused'),
      {
        request_id: 'r4',
        action: 'on_record_end',
        opaque: 'o',
        ...record,
        artifact_code: 0,
        artifact_path: '/d/record/u-1/index.mp4',
        artifact_url: 'https://live.example.com/terraform/v1/hooks/record/hls/u-1/index.mp4',
      },
    );
    const defaulted = recordEndBody('r5', 'o', { ...record, artifact_code: 100 }, 'http://h', '/data/record');
    assert.equal(defaulted.artifact_path, '/data/record/u-1/index.mp4');
    assert.equal(defaulted.artifact_code, 100);
  });

  it('on_disk_low (ours) names the directory, its free space and the threshold crossed', () => {
    assert.deepEqual(diskLowBody('r5', '', { dir: '/data/record', free_mb: 900, threshold_mb: 1024 }), {
      request_id: 'r5',
      action: 'on_disk_low',
      dir: '/data/record',
      free_mb: 900,
      threshold_mb: 1024,
    });
  });

  it('on_forward_error and on_forward_recovered name the destination, its state and why', () => {
    const d = {
      feature: 'forward',
      platform: 'wx',
      state: 'retrying',
      reason: 'exited with code 1: Broken pipe',
      source: 'live/livestream',
      output: 'rtmp://a.rtmp.youtube.com/live2/******',
    };
    assert.deepEqual(destinationBody('r6', 'o', 'on_forward_error', d), {
      request_id: 'r6',
      action: 'on_forward_error',
      opaque: 'o',
      ...d,
    });
    assert.deepEqual(Object.keys(destinationBody('r7', 'o', 'on_forward_recovered', { ...d, state: 'live', reason: '' })), [
      'request_id',
      'action',
      'opaque',
      'feature',
      'platform',
      'state',
      'source',
      'output',
    ]);
  });
});

describe('callback answers', () => {
  it('accepts only HTTP 200 with 0 or {"code":0}', () => {
    assert.ok(isAccepted({ status: 200, body: '{"code":0,"data":null}' }));
    assert.ok(isAccepted({ status: 200, body: ' 0\n' }));
    assert.ok(!isAccepted({ status: 200, body: '{"code":1}' }));
    assert.ok(!isAccepted({ status: 200, body: '{"code":"0"}' }));
    assert.ok(!isAccepted({ status: 200, body: 'ok' }));
    assert.ok(!isAccepted({ status: 200, body: '' }));
    assert.ok(!isAccepted({ status: 500, body: '{"code":0}' }));
    assert.ok(!isAccepted({ status: 204, body: '0' }));
  });
});

describe('callback targets pointing at the stack itself', () => {
  const self = { ports: [2022, 2443], requestHost: 'live.example.com' };
  const problem = (url: string) => selfTargetProblem(new URL(url), self);

  it('allows the built-in example receiver and other machines', () => {
    assert.equal(problem(`http://127.0.0.1:2022${EXAMPLE_PATH}?fail=true`), null);
    assert.equal(problem(`https://live.example.com${EXAMPLE_PATH}`), null);
    assert.equal(problem('https://hooks.example.net/srs'), null);
    assert.equal(problem('http://127.0.0.1:8085/hook'), null, 'another service on this host');
    assert.equal(problem('https://live.example.com/my-receiver.php'), null, 'a receiver beside the stack behind the same name');
  });

  it('refuses the stack’s own API and pages, by loopback or by its public name', () => {
    assert.match(problem('http://localhost:2022/terraform/v1/mgmt/hooks/apply') ?? '', /is this stack itself/);
    assert.match(problem('https://[::1]:2443/anything') ?? '', /is this stack itself/);
    assert.match(problem('http://127.0.0.5:2022/') ?? '', /is this stack itself/);
    assert.match(problem('http://live.example.com/terraform/v1/mgmt/status') ?? '', /is this stack itself/);
    assert.match(problem('https://LIVE.example.com/mgmt/system') ?? '', /is this stack itself/);
  });
});
