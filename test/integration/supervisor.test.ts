// The child supervisor with real processes: what it says about a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ffmpegErrorLine } from '../../server/core/ffmpeg/progress.js';
import { setLogLevel } from '../../server/core/logger.js';
import { Supervisor } from '../../server/core/process/supervisor.js';
import { App } from '../../server/app.js';
import { buildConfig } from '../../server/config.js';
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
