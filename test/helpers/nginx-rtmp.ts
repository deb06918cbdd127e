// A bare nginx-rtmp for gateway tests that must not depend on the stack's own engine.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, tempDir, waitFor } from './stack.js';

export interface BareNginx {
  port: number;
  pidFile: string;
  stop(): Promise<void>;
}

export async function startBareNginxRtmp(port?: number): Promise<BareNginx> {
  const prefix = tempDir('nginx-rtmp-');
  const rtmpPort = port ?? (await freePort());
  fs.mkdirSync(path.join(prefix, 'logs'));
  fs.writeFileSync(
    path.join(prefix, 'nginx.conf'),
    `load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 1024; }
rtmp { server { listen 127.0.0.1:${rtmpPort}; application live { live on; } } }
`,
  );
  const proc = spawn('nginx', ['-c', path.join(prefix, 'nginx.conf'), '-p', prefix], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(rtmpPort, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    10_000,
    () => 'nginx-rtmp to listen',
  );
  return {
    port: rtmpPort,
    pidFile: path.join(prefix, 'nginx.pid'),
    async stop() {
      proc.kill('SIGQUIT');
      await exited;
    },
  };
}
