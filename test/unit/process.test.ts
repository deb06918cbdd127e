// The process gate: the supervisor's decisions as pure functions of the time, the one-shot runner
// and the reaper with real (tiny) processes: sh and sleep.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AppError, ValidationError } from '../../server/core/errors.js';
import { ffmpegVersion, probe } from '../../server/core/ffmpeg/probe.js';
import { registerSecret } from '../../server/core/logger.js';
import { lineSplitter } from '../../server/core/process/output.js';
import {
  afterExit,
  DEFAULT_BACKOFF,
  needsWatchdog,
  planRestart,
  readyTimedOut,
  watchdogVerdict,
  type BackoffPolicy,
  type ExitFacts,
} from '../../server/core/process/policy.js';
import { groupMembers, isAlive, killGroupLeftovers, reapStalePids, writePidFile } from '../../server/core/process/reaper.js';
import { describeExit, runOnce } from '../../server/core/process/run-once.js';
import { Supervisor } from '../../server/core/process/supervisor.js';
import { NginxRtmpEngine } from '../../server/engine/nginx-rtmp/engine.js';
import { downloadVideo } from '../../server/features/restream/vlive/downloader.js';
import { tempDir, waitFor } from '../helpers/stack.js';

describe('supervisor decisions: restart after an exit', () => {
  const exit = (over: Partial<ExitFacts>): ExitFacts => ({
    desired: 'running',
    policy: 'always',
    code: 1,
    killedBySupervisor: false,
    ...over,
  });

  it('restarts under `always` whatever the exit, a clean one included', () => {
    assert.equal(afterExit(exit({ code: 0 })), 'restart');
    assert.equal(afterExit(exit({ code: 1 })), 'restart');
    assert.equal(afterExit(exit({ code: null, killedBySupervisor: true })), 'restart');
  });

  it('under `on-failure` leaves a clean finish stopped, but not one the supervisor killed', () => {
    assert.equal(afterExit(exit({ policy: 'on-failure', code: 0 })), 'stopped');
    assert.equal(afterExit(exit({ policy: 'on-failure', code: 2 })), 'restart');
    // A planned restart (maxRunMs) may end in exit 0 after SIGKILL of a wrapper: still a restart.
    assert.equal(afterExit(exit({ policy: 'on-failure', code: 0, killedBySupervisor: true })), 'restart');
  });

  it('under `never` runs once: stopped after exit 0, failed otherwise', () => {
    assert.equal(afterExit(exit({ policy: 'never', code: 0 })), 'stopped');
    assert.equal(afterExit(exit({ policy: 'never', code: 1 })), 'failed');
    assert.equal(afterExit(exit({ policy: 'never', code: null, killedBySupervisor: true })), 'failed');
  });

  it('never restarts a child that was asked to stop', () => {
    for (const policy of ['always', 'on-failure', 'never'] as const) {
      assert.equal(afterExit(exit({ desired: 'stopped', policy, code: 1 })), 'stopped', policy);
    }
  });
});

describe('supervisor decisions: backoff', () => {
  const backoff: BackoffPolicy = { initialMs: 500, maxMs: 4000, resetAfterMs: 30_000 };

  /** Feeds planRestart a sequence of runs (ms, or null for a spawn failure); returns the delays. */
  const delays = (runs: Array<number | null>, policy = backoff): number[] => {
    let failures = 0;
    return runs.map((ranMs) => {
      const plan = planRestart(failures, ranMs, policy);
      failures = plan.consecutiveFailures;
      return plan.delayMs;
    });
  };

  it('doubles after each consecutive failure up to the cap', () => {
    assert.deepEqual(delays([100, 100, 100, 100, 100, 100]), [500, 1000, 2000, 4000, 4000, 4000]);
  });

  it('starts again from the initial delay after a run of exactly resetAfterMs, not one ms less', () => {
    assert.deepEqual(delays([100, 100, 100, 29_999]), [500, 1000, 2000, 4000]);
    assert.deepEqual(delays([100, 100, 100, 30_000, 100]), [500, 1000, 2000, 500, 1000]);
  });

  it('counts a process that cannot start as a failure that never resets the backoff', () => {
    assert.deepEqual(delays([null, null, null]), [500, 1000, 2000]);
  });

  it('has defaults that back off from half a second to half a minute', () => {
    assert.deepEqual(delays(Array(8).fill(0), DEFAULT_BACKOFF), [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });
});

describe('supervisor decisions: watchdog and readiness', () => {
  const stallTimeoutMs = 10_000;
  const started = 1_000_000;

  it('detects a stall at exactly stallTimeoutMs without a new progress marker, and not a ms before', () => {
    const lastProgress = { atMs: started + 5000, marker: '00:00:05.00' };
    const at = (now: number) => watchdogVerdict({ stallTimeoutMs }, { now, startedAtMs: started, lastProgress });
    assert.equal(at(started + 5000 + stallTimeoutMs - 1), null);
    assert.equal(at(started + 5000 + stallTimeoutMs), 'progress stalled for 10 s (last: 00:00:05.00)');
  });

  it('allows three stall periods for the first marker unless told otherwise', () => {
    const at = (now: number, firstProgressTimeoutMs?: number) =>
      watchdogVerdict({ stallTimeoutMs, firstProgressTimeoutMs }, { now, startedAtMs: started, lastProgress: null });
    assert.equal(at(started + 29_999), null);
    assert.equal(at(started + 30_000), 'no progress within 30 s of start');
    assert.equal(at(started + 4999, 5000), null);
    assert.equal(at(started + 5000, 5000), 'no progress within 5 s of start');
  });

  it('plans a restart at exactly maxRunMs, even while progress flows', () => {
    const lastProgress = { atMs: started + 59_999, marker: 'x' };
    const at = (now: number) => watchdogVerdict({ maxRunMs: 60_000, stallTimeoutMs }, { now, startedAtMs: started, lastProgress });
    assert.equal(at(started + 59_999), null);
    assert.equal(at(started + 60_000), 'planned restart after 60 s');
  });

  it('arms no watchdog without a stall timeout or a maximum run time', () => {
    assert.equal(needsWatchdog({}), false);
    assert.equal(needsWatchdog({ stallTimeoutMs }), true);
    assert.equal(needsWatchdog({ maxRunMs: 1 }), true);
    assert.equal(watchdogVerdict({}, { now: started + 1e9, startedAtMs: started, lastProgress: null }), null);
  });

  it('gives up waiting for readiness at exactly the ready timeout', () => {
    assert.equal(readyTimedOut(started + 9999, started, 10_000), false);
    assert.equal(readyTimedOut(started + 10_000, started, 10_000), true);
    assert.equal(readyTimedOut(started + 14_999, started), false, 'default 15 s');
    assert.equal(readyTimedOut(started + 15_000, started), true, 'default 15 s');
  });
});

describe('child output lines', () => {
  it('ends a line at \\r (progress) or \\n, across chunks, skips blank ones, and flushes the last at the end', () => {
    const lines: string[] = [];
    const splitter = lineSplitter((l) => lines.push(l));
    splitter.push('frame=1 time=00:00:01\rframe=2 ti');
    splitter.push('me=00:00:02\r\n\nError: x\nlast');
    assert.deepEqual(lines, ['frame=1 time=00:00:01', 'frame=2 time=00:00:02', 'Error: x']);
    splitter.end();
    assert.deepEqual(lines.at(-1), 'last');
  });
});

/** Pids of processes a test started, killed afterwards whatever happened. */
const strays = new Set<number>();
function killStrays(): void {
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  strays.clear();
}

/** Waits until `pid` is dead (zombies count as dead: their parent may not have reaped them yet). */
async function waitDead(pid: number, timeoutMs = 3000): Promise<void> {
  await waitFor(
    () => !isAlive(pid),
    timeoutMs,
    () => `pid ${pid} to die`,
  );
}

describe('one-shot runner', function () {
  this.timeout(15_000);
  afterEach(killStrays);

  it('passes argv as is, never through a shell', async () => {
    const dir = tempDir('run-once-');
    const hostile = `$(touch ${path.join(dir, 'pwned')}); echo injected`;
    const res = await runOnce('printf', ['%s', hostile], { timeoutMs: 5000, stdoutLimit: 1000 });
    assert.equal(res.code, 0);
    assert.equal(res.stdout, hostile);
    assert.equal(fs.existsSync(path.join(dir, 'pwned')), false);
  });

  it('returns the exit code, stdout, and the stderr tail with secrets masked', async () => {
    registerSecret('registered-secret-42');
    const script = 'echo out; echo "rtmp://h/live/s?secret=abc123 key-XYZ registered-secret-42" >&2; exit 3';
    const res = await runOnce('sh', ['-c', script], { timeoutMs: 5000, stdoutLimit: 1000, secrets: ['key-XYZ'] });
    assert.deepEqual(
      { code: res.code, signal: res.signal, timedOut: res.timedOut, aborted: res.aborted, stdout: res.stdout },
      { code: 3, signal: null, timedOut: false, aborted: false, stdout: 'out\n' },
    );
    assert.equal(res.stderr, 'rtmp://h/live/s?secret=****** ****** ******');
    assert.equal(describeExit(res), 'exited with code 3');
  });

  it('kills the whole process group at the deadline, grandchildren included', async () => {
    // The background sleep holds stdout open: without a group kill the run could not end before it.
    const started = Date.now();
    let grandchild = 0;
    const res = await runOnce('sh', ['-c', 'sleep 100 & echo $!; sleep 100'], {
      timeoutMs: 500,
      onLine: (line) => {
        grandchild = Number(line);
        strays.add(grandchild);
      },
    });
    assert.ok(Date.now() - started < 5000, `ended ${Date.now() - started} ms after the start`);
    assert.equal(res.timedOut, true);
    assert.equal(res.aborted, false);
    assert.equal(res.signal, 'SIGKILL');
    assert.equal(describeExit(res, 500), 'timed out after 1 s');
    assert.ok(grandchild > 1, 'the script said its background pid');
    await waitDead(grandchild);
  });

  it('kills what the process left running when it exits by itself', async () => {
    const res = await runOnce('sh', ['-c', 'sleep 100 & echo $!'], { timeoutMs: 10_000, stdoutLimit: 100 });
    const grandchild = Number(res.stdout.trim());
    strays.add(grandchild);
    assert.equal(res.code, 0);
    assert.equal(res.timedOut, false);
    await waitDead(grandchild);
  });

  it('kills the whole group on abort, and starts nothing for a signal already aborted', async () => {
    const controller = new AbortController();
    let grandchild = 0;
    const res = await runOnce('sh', ['-c', 'sleep 100 & echo $!; sleep 100'], {
      timeoutMs: 10_000,
      signal: controller.signal,
      onLine: (line) => {
        grandchild = Number(line);
        strays.add(grandchild);
        controller.abort();
      },
    });
    assert.equal(res.aborted, true);
    assert.equal(res.timedOut, false);
    assert.equal(describeExit(res), 'cancelled');
    await waitDead(grandchild);

    const dir = tempDir('run-once-');
    const again = await runOnce('touch', [path.join(dir, 'ran')], { timeoutMs: 5000, signal: controller.signal });
    assert.equal(again.aborted, true);
    assert.equal(again.code, null);
    assert.equal(fs.existsSync(path.join(dir, 'ran')), false, 'nothing was started');
  });

  it('keeps stdout up to its limit and the end of stderr, however much is printed', async () => {
    const script = 'head -c 100000 /dev/zero | tr "\\0" a; head -c 20000 /dev/zero | tr "\\0" b >&2; echo END >&2';
    const res = await runOnce('sh', ['-c', script], { timeoutMs: 10_000, stdoutLimit: 1000 });
    assert.equal(res.code, 0);
    assert.equal(res.stdout, 'a'.repeat(1000));
    assert.equal(res.stdoutTruncated, true);
    assert.equal(res.stderr.length, 4096 - 1, 'the default tail, trailing newline trimmed');
    assert.ok(res.stderr.endsWith('bbbEND'));
    const nothing = await runOnce('sh', ['-c', 'echo ignored'], { timeoutMs: 5000 });
    assert.deepEqual([nothing.stdout, nothing.stdoutTruncated], ['', true], 'no stdoutLimit: nothing kept, and it says so');
  });

  it('hands every line of both outputs to onLine as it comes, progress lines (\\r) included', async () => {
    const lines: string[] = [];
    const res = await runOnce('sh', ['-c', `printf '[download]  1.0%%\\r[download]  2.0%%\\nlast'; echo oops >&2`], {
      timeoutMs: 5000,
      onLine: (line, stream) => lines.push(`${stream}: ${line}`),
    });
    assert.equal(res.code, 0);
    assert.deepEqual(lines.sort(), ['stderr: oops', 'stdout: [download]  1.0%', 'stdout: [download]  2.0%', 'stdout: last']);
  });

  it('rejects only when the program cannot start, with the spawn error as cause', async () => {
    await assert.rejects(runOnce('/nonexistent/ffprobe', ['-v'], { timeoutMs: 5000 }), (err: Error & { cause?: NodeJS.ErrnoException }) => {
      assert.equal(err.cause?.code, 'ENOENT');
      assert.match(err.message, /^cannot run \/nonexistent\/ffprobe: /);
      return true;
    });
    const failing = await runOnce('sh', ['-c', 'exit 7'], { timeoutMs: 5000 });
    assert.equal(failing.code, 7, 'a failing program resolves');
  });
});

/** Starts `sh -c script` as the leader of a new process group; its pid is the group id. */
function startGroup(script: string): { pgid: number; output: () => string } {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  const pgid = child.pid as number;
  strays.add(-pgid);
  return { pgid, output: () => output };
}

describe('reaper', function () {
  this.timeout(20_000);
  afterEach(killStrays);

  it('kills what is left of a process group, only the processes running the named command', async () => {
    const { pgid } = startGroup('sleep 100 & sleep 100 & wait');
    await waitFor(
      () => groupMembers(pgid, 'sleep').length === 2,
      3000,
      () => 'two sleeps in the group',
    );
    const sleeps = groupMembers(pgid, '/bin/sleep');
    assert.equal(killGroupLeftovers(pgid, 'nginx'), 0, 'nothing of that name in the group');
    assert.ok(sleeps.every(isAlive), 'another name is left alone');
    assert.equal(killGroupLeftovers(pgid, '/usr/bin/sleep'), 2);
    for (const pid of sleeps) await waitDead(pid);
    assert.equal(killGroupLeftovers(0, 'sleep'), 0, 'no group id: nothing');
  });

  it('reaps the processes of stale pid files whose command still matches, with their groups, and removes the files', async () => {
    const runDir = tempDir('reaper-');
    // A stale child still running, with the command its pid file names.
    const stale = startGroup('exec sleep 100');
    // A live process whose pid was recycled: its pid file names another command.
    const recycled = startGroup('exec sleep 100');
    // A leader that died before the stack, leaving a process of its own name in its group (the nginx
    // master killed with -9 leaves its workers): the inner sh cannot exec away, it runs two commands.
    const orphaned = startGroup(`sh -c 'sleep 100; :' & echo $!`);
    await waitFor(
      () => orphaned.output().trim() !== '' && !isAlive(orphaned.pgid) && isAlive(stale.pgid) && isAlive(recycled.pgid),
      3000,
      () => 'the three groups in place',
    );
    const innerShell = Number(orphaned.output().trim());
    writePidFile(path.join(runDir, 'forward-a.pid'), stale.pgid, '/usr/bin/sleep');
    writePidFile(path.join(runDir, 'redis.pid'), recycled.pgid, 'redis-server');
    writePidFile(path.join(runDir, 'nginx.pid'), orphaned.pgid, '/bin/sh');
    fs.writeFileSync(path.join(runDir, 'garbage.pid'), 'not a pid\n');

    const reaped = await reapStalePids(runDir, 1000);
    assert.deepEqual(reaped, ['forward-a.pid']);
    await waitDead(stale.pgid);
    await waitDead(innerShell);
    assert.equal(isAlive(recycled.pgid), true, 'a process of another command is not touched');
    assert.deepEqual(fs.readdirSync(runDir), [], 'every pid file is consumed');
  });
});

describe('yt-dlp download', function () {
  this.timeout(15_000);
  afterEach(killStrays);

  /** A stand-in for yt-dlp: writes its partial file, reports progress and the pid of a helper, then hangs. */
  function fakeDownloader(dir: string): string {
    const bin = path.join(dir, 'fake-yt-dlp');
    const script = [
      '#!/bin/sh',
      'out=""',
      'while [ $# -gt 0 ]; do [ "$1" = --output ] && out="$2"; shift; done',
      'part="$(printf %s "$out" | sed "s/%(ext)s/mp4/").part"',
      'echo partial > "$part"',
      'sleep 1000 &',
      // Beside the script, not in upload/: the test must see upload/ empty afterwards.
      'echo $! > "$(dirname "$0")/helper.pid"',
      'echo "[download]   1.0% of 10.00MiB at 1.00MiB/s ETA 00:09"',
      'wait',
    ].join('\n');
    fs.writeFileSync(bin, `${script}\n`, { mode: 0o755 });
    return bin;
  }

  it('stops on abort: the downloader and its helpers die and the partial file is removed', async () => {
    const dir = tempDir('ytdl-');
    const uploadDir = path.join(dir, 'upload');
    const controller = new AbortController();
    const download = downloadVideo('http://127.0.0.1:9/show.mp4', {
      bin: fakeDownloader(dir),
      proxy: '',
      uploadDir,
      maxBytes: 1 << 20,
      signal: controller.signal,
    });
    const failed = download.then(
      () => null,
      (err: unknown) => err,
    );
    await waitFor(
      () => fs.existsSync(uploadDir) && fs.readdirSync(uploadDir).some((f) => f.endsWith('.part')),
      5000,
      () => 'the partial file',
    );
    const helperPidFile = path.join(dir, 'helper.pid');
    await waitFor(
      () => fs.existsSync(helperPidFile) && fs.readFileSync(helperPidFile, 'utf8').endsWith('\n'),
      5000,
      () => 'the helper pid',
    );
    const helper = Number(fs.readFileSync(helperPidFile, 'utf8'));
    strays.add(helper);
    controller.abort();
    const err = await failed;
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.status, 503);
    assert.match(err.message, /was stopped: the server is shutting down/);
    assert.deepEqual(fs.readdirSync(uploadDir), [], 'the partial file is gone');
    await waitDead(helper);
  });

  it('answers 501 with how to install it when the downloader is missing', async () => {
    const dir = tempDir('ytdl-');
    await assert.rejects(
      downloadVideo('https://example.com/watch?v=x', { bin: '/nonexistent/yt-dlp', proxy: '', uploadDir: dir, maxBytes: 1 }),
      (err: unknown) => err instanceof AppError && err.status === 501 && /apt install yt-dlp/.test(err.message),
    );
  });
});

/** Writes an executable sh script named `name` into `dir`. */
function script(dir: string, name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, ['#!/bin/sh', ...lines, ''].join('\n'), { mode: 0o755 });
  return file;
}

describe('short-lived children of the stack go through the runner', function () {
  this.timeout(15_000);
  afterEach(killStrays);

  it('ffprobe: reads its JSON, says when it hangs (killing what it started), and when it is missing', async () => {
    const dir = tempDir('probe-');
    const json = JSON.stringify({ streams: [{ codec_type: 'video', codec_name: 'h264', width: 640 }], format: { bit_rate: '800000' } });
    const answering = script(dir, 'ffprobe', [`echo '${json}'`]);
    const result = await probe(answering, '/data/x.mp4');
    assert.deepEqual(result.video, { codec_type: 'video', codec_name: 'h264', width: 640 });
    assert.equal(result.format.bit_rate, '800000');

    const helperPidFile = path.join(dir, 'helper.pid');
    const hanging = script(dir, 'hanging-ffprobe', ['sleep 100 &', `echo $! > '${helperPidFile}'`, 'wait']);
    await assert.rejects(
      probe(hanging, 'rtmp://h/live/s?secret=abc123', 500),
      (err: unknown) =>
        err instanceof ValidationError && err.message === 'ffprobe gave no answer within 0.5 s for rtmp://h/live/s?secret=******',
    );
    const helper = Number(fs.readFileSync(helperPidFile, 'utf8'));
    strays.add(helper);
    await waitDead(helper);

    await assert.rejects(probe(path.join(dir, 'missing'), '/data/x.mp4'), /^Error: ffprobe binary not found: /);
  });

  it('ffmpeg -version: the version from its first line, or why there is none', async () => {
    const dir = tempDir('ffmpeg-');
    const ffmpeg = script(dir, 'ffmpeg', [
      'echo "ffmpeg version 9.9-test Copyright (c) the FFmpeg developers"',
      'echo "configuration: --x"',
    ]);
    assert.deepEqual(await ffmpegVersion(ffmpeg), { binary: ffmpeg, version: '9.9-test' });
    const broken = script(dir, 'broken-ffmpeg', ['echo "libavcodec.so.99: cannot open shared object file" >&2', 'exit 127']);
    assert.deepEqual(await ffmpegVersion(broken), {
      binary: broken,
      version: null,
      error: '-version exited with code 127: libavcodec.so.99: cannot open shared object file',
    });
    const missing = await ffmpegVersion(path.join(dir, 'missing'));
    assert.equal(missing.version, null);
    assert.match(missing.error ?? '', /^cannot run .*missing: spawn .* ENOENT$/);
  });

  it('nginx -V and -t: a refused config says what nginx said; a missing nginx says how to install it', async () => {
    const dir = tempDir('engine-');
    const engine = (nginxBinary: string) =>
      new NginxRtmpEngine({
        prefix: path.join(dir, 'engine'),
        nginxBinary,
        rtmpModule: '',
        rtmpPort: 1935,
        callbackOrigin: 'http://127.0.0.1:2022',
        supervisor: new Supervisor(path.join(dir, 'run')),
      });
    const refusing = script(dir, 'nginx', [
      // -V on stderr, as nginx prints it; the module is built in, so no .so is looked for.
      'if [ "$1" = -V ]; then echo "nginx version: nginx/1.0-test" >&2; echo "configure arguments: --add-module=../nginx-rtmp-module" >&2; exit 0; fi',
      'echo "nginx: [emerg] unknown directive rtmp in $4:12" >&2',
      'exit 1',
    ]);
    await assert.rejects(engine(refusing).start(), (err: Error) => {
      assert.match(
        err.message,
        /^the generated engine config .*nginx\.conf is refused by nginx: nginx: \[emerg\] unknown directive rtmp in .*nginx\.conf:12$/,
      );
      return true;
    });
    await assert.rejects(
      engine(path.join(dir, 'no-nginx')).start(),
      /^Error: cannot run .*no-nginx -V: .*ENOENT; install nginx and libnginx-mod-rtmp or set NGINX_BIN$/,
    );
  });
});
