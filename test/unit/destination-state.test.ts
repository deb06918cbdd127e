import assert from 'node:assert/strict';
import { DestinationMeter, LIVE_CONFIRM_MS, type DestinationFacts } from '../../server/core/ffmpeg/destination-meter.js';
import { parseProgress } from '../../server/core/ffmpeg/progress.js';
import { STALL_AFTER_MS, destinationState, type DestinationInput } from '../../server/features/restream/destination-state.js';
import { QUIET, alarmStep, type Alarm } from '../../server/features/restream/destinations.js';
import { destinationView } from '../../server/features/restream/routes.js';

// ffmpeg 5.1's own lines (a forward to nginx-rtmp), `\r`-separated stats as the supervisor splits them.
const stats = (size: string, time: string) => `frame=  250 fps= 25 q=-1.0 size=${size} time=${time} bitrate= 838.9kbits/s speed=   1x    `;

const facts = (f: Partial<DestinationFacts> = {}): DestinationFacts => ({
  bytesOut: 0,
  lastProgressAtMs: null,
  liveSinceMs: null,
  inputOpened: false,
  lastRunWasLive: false,
  reconnects: 0,
  ...f,
});

const task = (t: Omit<Partial<DestinationInput>, 'destination'> & { destination?: Partial<DestinationFacts> } = {}): DestinationInput => ({
  status: 'starting',
  restarts: 0,
  lastError: null,
  tail: [],
  nextRestartAt: null,
  ...t,
  destination: facts(t.destination),
});

describe('ffmpeg progress: what the destination received', () => {
  it('reads size= in kB (ffmpeg 5/6), KiB (7) and MiB as bytes, null for N/A', () => {
    assert.equal(parseProgress(stats('    1024kB', '00:00:10.00'))?.sizeBytes, 1024 * 1024);
    assert.equal(parseProgress(stats('   12KiB', '00:00:10.00'))?.sizeBytes, 12 * 1024);
    assert.equal(parseProgress(stats('3MiB', '00:00:10.00'))?.sizeBytes, 3 * 1024 * 1024);
    assert.equal(parseProgress(stats('N/A', '00:00:10.00'))?.sizeBytes, null);
  });

  it('counts bytes over runs, marks the input opened, live since the first progress, and a drop after live', () => {
    const m = new DestinationMeter();
    m.line("Input #0, flv, from 'http://127.0.0.1:8080/live/livestream.flv':", 1000);
    assert.equal(m.facts.inputOpened, true);
    assert.equal(m.facts.liveSinceMs, null);
    m.line(stats('100kB', '00:00:01.00'), 2000);
    m.line(stats('400kB', '00:00:05.00'), 2000 + LIVE_CONFIRM_MS);
    m.line(stats('400kB', '00:00:05.00'), 9000); // the same time again: no progress
    assert.deepEqual(
      m.facts,
      facts({ bytesOut: 400 * 1024, lastProgressAtMs: 2000 + LIVE_CONFIRM_MS, liveSinceMs: 2000, inputOpened: true }),
    );
    m.exit();
    assert.deepEqual(m.facts, facts({ bytesOut: 400 * 1024, lastRunWasLive: true, reconnects: 1 }));
    m.line(stats('50kB', '00:00:01.00'), 20_000);
    assert.equal(m.facts.bytesOut, 450 * 1024, 'a counter: the next run adds to it');
  });

  it('a run that took media only for a moment (a refused key, the closing Lsize= line) was not live', () => {
    const m = new DestinationMeter();
    m.line('frame=   48 fps= 25 q=-1.0 Lsize=      12kB time=00:00:01.80 bitrate=  56.6kbits/s speed=0.932x    ', 5000);
    m.exit();
    assert.equal(m.facts.lastRunWasLive, false);
    assert.equal(m.facts.reconnects, 0);
  });
});

describe('a restream destination state', () => {
  const now = 100_000;

  it('starting, then connecting once the input is open', () => {
    assert.equal(destinationState(task(), now).state, 'starting');
    assert.equal(destinationState(task({ destination: { inputOpened: true } }), now).state, 'connecting');
  });

  it('live while the media time advances, stalled after STALL_AFTER_MS without, judged by progress not the process', () => {
    const running = (at: number) => task({ status: 'ready', destination: { lastProgressAtMs: at, liveSinceMs: 0 } });
    assert.deepEqual(destinationState(running(now - 500), now), { state: 'live', reason: null, problem: null, nextAttemptAt: null });
    const stalled = destinationState(running(now - STALL_AFTER_MS - 2000), now);
    assert.equal(stalled.state, 'stalled');
    assert.match(stalled.reason ?? '', /no progress for 6 s/);
  });

  it('retrying with the next attempt time after a drop or a destination that does not answer', () => {
    const next = '2026-12-06T12:00:08.000Z';
    const dropped = task({
      status: 'backoff',
      restarts: 3,
      nextRestartAt: next,
      lastError: 'exited with code 1: av_interleaved_write_frame(): Broken pipe',
      destination: { lastRunWasLive: true },
    });
    const s = destinationState(dropped, now);
    assert.equal(s.state, 'retrying', 'a broken pipe after live is a drop, not a refusal');
    assert.equal(s.nextAttemptAt, next);
    const down = task({ status: 'starting', restarts: 4, lastError: 'exited with code 1: rtmp://127.0.0.1:1935/live: Connection refused' });
    assert.deepEqual(destinationState(down, now), {
      state: 'retrying',
      reason: down.lastError,
      problem: { key: 'restream.problem.noAnswer', params: { address: '127.0.0.1:1935' } },
      nextAttemptAt: null,
    });
  });

  it('failed, with the plain reason, when the destination refuses what it was never given to play: key, name, codec', () => {
    const cases: Array<[string, string]> = [
      ['exited with code 1: Error writing trailer of rtmp://h/live/k: Broken pipe', 'refused'],
      ['exited with code 1: Failed to resolve hostname nowhere.invalid: Name or service not known', 'unknownHost'],
      ['exited with code 1: Server returned 403 Forbidden (access denied)', 'unauthorized'],
      ['exited with code 1: [flv @ 0x1] Video codec vp9 not compatible with flv', 'codec'],
    ];
    for (const [lastError, key] of cases) {
      const s = destinationState(task({ status: 'backoff', restarts: 1, lastError, nextRestartAt: 'x' }), now);
      assert.deepEqual([s.state, s.problem?.key, s.reason], ['failed', `restream.problem.${key}`, lastError], lastError);
    }
  });

  it('a first attempt that has not failed yet is not retrying, whatever its tail says', () => {
    assert.equal(destinationState(task({ tail: ['Connection refused'] }), now).state, 'starting');
  });
});

describe('on_forward_error / on_forward_recovered: once per transition', () => {
  const run = (steps: Array<[Parameters<typeof alarmStep>[1], number?]>) => {
    let alarm: Alarm = QUIET;
    return steps.map(([state, liveFor]) => {
      const r = alarmStep(alarm, state, liveFor ?? 0);
      alarm = r.alarm;
      return r.event;
    });
  };

  it('a drop after live: one error, then one recovered when it is live again', () => {
    const L = LIVE_CONFIRM_MS;
    assert.deepEqual(
      run([
        ['starting'],
        ['connecting'],
        ['live', 0],
        ['live', L],
        ['stalled'],
        ['retrying'],
        ['retrying'],
        ['retrying'],
        ['live', 0],
        ['live', L],
        ['live', L + 1000],
      ]),
      [null, null, null, null, null, null, 'error', null, null, 'recovered', null],
    );
  });

  it('a first connection still retrying is not news; failed is, once, when two looks in a row see it', () => {
    assert.deepEqual(run([['retrying'], ['retrying'], ['failed'], ['failed'], ['failed'], ['retrying'], ['failed'], ['failed']]), [
      null,
      null,
      null,
      'error',
      null,
      null,
      null,
      null,
    ]);
  });

  it('a stream that ends: its forward exits for a look before the task is removed, which is no drop', () => {
    assert.deepEqual(run([['live', LIVE_CONFIRM_MS], ['retrying']]), [null, null]);
  });

  it('a refused key that takes media for a moment each attempt never reads as recovered', () => {
    assert.deepEqual(run([['failed'], ['live', 500], ['failed'], ['live', 900], ['failed']]), [null, null, 'error', null, null]);
  });
});

describe('the console view of a destination', () => {
  it('badges live green, stalled amber, retrying and failed red, and sizes what it sent', () => {
    const v = (state: string, bytesOut = 0) => destinationView({ state, bytesOut, uptimeSeconds: 5, reconnects: 1, nextAttemptAt: null });
    assert.deepEqual(
      ['live', 'stalled', 'retrying', 'failed', 'connecting'].map((s) => v(s)?.badge),
      ['streaming', 'waiting', 'error', 'error', ''],
    );
    assert.equal(v('live', 12_400_000)?.sent, '12.4 MB');
    assert.equal(v('live', 52_000)?.sent, '52 kB');
    assert.equal(destinationView(undefined), null);
  });
});
