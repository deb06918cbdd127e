// The child supervisor with real processes: what it says about a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ffmpegErrorLine } from '../../server/core/ffmpeg/progress.js';
import { setLogLevel } from '../../server/core/logger.js';
import { isAlive } from '../../server/core/process/reaper.js';
import { STOP_ORDER, Supervisor } from '../../server/core/process/supervisor.js';
import { App } from '../../server/app.js';
import { buildConfig } from '../../server/config.js';
import { startInProcess } from '../helpers/in-process.js';
import { freePort, tempDir, waitFor } from '../helpers/stack.js';

describe('supervisor: failure reasons', function () {
  this.timeout(20_000);
  // The supervisor logs to this process's output: keep the test report readable.
  before(() => setLogLevel('error'));
  after(() => setLogLevel('info'));

  it('explains a failed run by its own output, not by an earlier run still in the tail', async () => {
    const dir = tempDir('supervisor-');
    const runs = path.join(dir, 'runs');
    // Run 1 cannot connect; run 2 connects but reads garbage; both exit 1.
    const script = [
      `n=$(cat '${runs}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${runs}'`,
      'if [ $n -eq 1 ]; then echo "rtmp://10.0.0.1/live/x: Connection refused" >&2; exit 1; fi',
      'echo "Input #0, flv, from rtmp://10.0.0.1/live/x:" >&2',
      'echo "Error while decoding stream #0:0: Invalid data found when processing input" >&2',
      'exec sleep 30',
    ].join('\n');
    const supervisor = new Supervisor(path.join(dir, 'run'));
    await supervisor.start();
    const child = supervisor.add({
      name: 'failing',
      command: 'sh',
      args: ['-c', script],
      restart: 'always',
      backoff: { initialMs: 50, maxMs: 50, resetAfterMs: 60_000 },
      errorLine: ffmpegErrorLine,
    });
    child.start();
    try {
      await waitFor(
        () => /Connection refused/.test(child.state.lastError ?? ''),
        5000,
        () => JSON.stringify(child.state),
      );
      await waitFor(
        () => fs.existsSync(runs) && fs.readFileSync(runs, 'utf8').trim() === '2',
        5000,
        () => 'second run',
      );
      await waitFor(
        () => child.state.tail.some((l) => l.includes('Invalid data')),
        5000,
        () => JSON.stringify(child.state.tail),
      );
      // Killed from outside (the OOM killer, say): the supervisor did not choose it, so it explains it.
      process.kill(child.state.pid as number, 'SIGKILL');
      await waitFor(
        () => child.state.restarts >= 2,
        5000,
        () => JSON.stringify(child.state),
      );
      assert.match(child.state.lastError ?? '', /Invalid data found/);
      assert.ok(
        child.state.tail.some((l) => l.includes('Connection refused')),
        'the earlier run is still in the tail',
      );
    } finally {
      await supervisor.remove('failing');
    }
  });
});

describe('supervisor: stop order', function () {
  this.timeout(20_000);
  before(() => setLogLevel('error'));
  after(() => setLogLevel('info'));

  it('stops children by the stopOrder their spec gives, whatever their names or the order they were added in', async () => {
    const dir = tempDir('supervisor-');
    const log = path.join(dir, 'stopped');
    const supervisor = new Supervisor(path.join(dir, 'run'));
    await supervisor.start();
    // Each child notes when it is asked to stop and when it is done (a moment later, as Redis saving).
    const child = (name: string, stopOrder?: number) =>
      supervisor.add({
        name,
        command: 'sh',
        args: [
          '-c',
          `trap 'echo "stop ${name}" >> "${log}"; sleep 0.2; echo "exit ${name}" >> "${log}"; exit 0' TERM; echo up; while :; do sleep 0.05; done`,
        ],
        stopOrder,
        readiness: async () => supervisor.get(name)?.state.tail.includes('up') ?? false,
      });
    // Named like the stack's own children, on purpose: the names must not decide anything.
    const added = [child('redis'), child('store', STOP_ORDER.store), child('server', STOP_ORDER.server), child('nginx')];
    for (const c of added) c.start();
    await Promise.all(added.map((c) => c.waitReady(5000)));
    await supervisor.stop();
    const events = fs.readFileSync(log, 'utf8').trim().split('\n');
    const sorted = (part: string[]) => [...part].sort();
    assert.deepEqual(
      [sorted(events.slice(0, 2)), sorted(events.slice(2, 4)), events.slice(4)],
      [
        ['stop nginx', 'stop redis'],
        ['exit nginx', 'exit redis'],
        ['stop server', 'exit server', 'stop store', 'exit store'],
      ],
      'tasks first, together; the server once they are gone; the store last',
    );
    assert.ok(added.every((c) => !c.isRunning));
  });
});

describe('stack: a download in flight when the stack stops', function () {
  this.timeout(60_000);

  it('is killed with what it started, and its partial file removed, before stop() returns', async () => {
    // A stand-in for yt-dlp that writes its partial file, starts a helper (yt-dlp runs ffmpeg) and hangs.
    const binDir = tempDir('fake-ytdl-');
    const bin = path.join(binDir, 'yt-dlp');
    const helperPidFile = path.join(binDir, 'helper.pid');
    fs.writeFileSync(
      bin,
      [
        '#!/bin/sh',
        'out=""',
        'while [ $# -gt 0 ]; do [ "$1" = --output ] && out="$2"; shift; done',
        'echo partial > "$(printf %s "$out" | sed "s/%(ext)s/mp4/").part"',
        'sleep 1000 &',
        `echo $! > '${helperPidFile}'`,
        'wait',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const stack = await startInProcess({ YTDL_BIN: bin });
    let stopped = false;
    let helper = 0;
    try {
      const { bearer } = await stack.init();
      const answer = stack
        .api('/terraform/v1/ffmpeg/vlive/ytdl', { url: 'http://127.0.0.1:9/show.mp4' }, { bearer })
        .catch((err: Error) => err);
      const upload = path.join(stack.dataDir, 'upload');
      await waitFor(
        () => fs.existsSync(helperPidFile) && fs.readFileSync(helperPidFile, 'utf8').endsWith('\n'),
        10_000,
        () => 'the download running',
      );
      helper = Number(fs.readFileSync(helperPidFile, 'utf8'));
      assert.ok(
        fs.readdirSync(upload).some((f) => f.endsWith('.part')),
        'the partial file exists',
      );
      const began = Date.now();
      await stack.stop();
      stopped = true;
      // The HTTP server gives open requests 2 s; the download must not hold the stop any longer.
      assert.ok(Date.now() - began < 15_000, `stop took ${Date.now() - began} ms`);
      assert.equal(isAlive(helper), false, 'the helper the downloader started is gone');
      assert.deepEqual(fs.readdirSync(upload), [], 'the partial file is removed');
      await answer;
    } finally {
      if (!stopped) await stack.stop();
      // Should the test fail, leave no stray behind (the fake downloader exits with its helper).
      if (helper && isAlive(helper)) process.kill(helper, 'SIGKILL');
    }
  });
});

describe('stack: a stop that arrives while it is starting', function () {
  this.timeout(60_000);
  before(() => setLogLevel('error'));
  after(() => setLogLevel('info'));

  it('leaves no redis-server or nginx behind (a SIGTERM right after boot, as systemd may send)', async () => {
    const dataDir = tempDir();
    const config = buildConfig({
      DATA_DIR: dataDir,
      MGMT_LISTEN: String(await freePort()),
      HTTPS_LISTEN: String(await freePort()),
      RTMP_LISTEN: String(await freePort()),
      TAP_LISTEN: String(await freePort()),
      LISTEN_HOST: '127.0.0.1',
      NODE_ENV: 'test',
    });
    const app = new App(config, '1.0.0');
    const started = app.start();
    await app.stop();
    await started;
    const ours = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(dataDir));
    assert.deepEqual(ours, [], 'every child of the stack is gone');
  });
});
