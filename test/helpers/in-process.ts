// The real App (real redis-server, real listeners) inside the test process, for tests that must
// raise in-process events (core/events.ts) the way the media engine will.
import { App } from '../../server/app.js';
import { buildConfig } from '../../server/config.js';
import { setLogLevel } from '../../server/core/logger.js';
import { ADMIN_PASSWORD, apiClient, consoleSession, freePort, tempDir, waitFor, type ApiCall } from './stack.js';

export interface InProcessStack {
  app: App;
  url: string;
  dataDir: string;
  ports: { http: number; https: number };
  api: ApiCall;
  /** Completes setup and returns the API secret and a console session cookie. */
  init(): Promise<{ bearer: string; cookie: string }>;
  stop(): Promise<void>;
}

export async function startInProcess(env: Record<string, string> = {}): Promise<InProcessStack> {
  setLogLevel('error'); // the app logs to this process's output
  const dataDir = tempDir();
  const ports = { http: await freePort(), https: await freePort() };
  const config = buildConfig({
    DATA_DIR: dataDir,
    MGMT_LISTEN: String(ports.http),
    HTTPS_LISTEN: String(ports.https),
    RTMP_LISTEN: String(await freePort()),
    TAP_LISTEN: String(await freePort()),
    LISTEN_HOST: '127.0.0.1',
    NODE_ENV: 'test',
    ...env,
  });
  const app = new App(config, '1.0.0');
  await app.start();
  const url = `http://127.0.0.1:${ports.http}`;
  const api = apiClient(url);
  await waitFor(
    async () => (await api('/terraform/v1/mgmt/check')).status === 200,
    30_000,
    () => 'in-process stack ready',
  );
  return {
    app,
    url,
    dataDir,
    ports,
    api,
    async init() {
      const cookie = await consoleSession(url, '/mgmt/setup');
      const login = await api('/terraform/v1/mgmt/login', { password: ADMIN_PASSWORD });
      return { bearer: (login.json.data as { bearer: string }).bearer, cookie };
    },
    async stop() {
      await app.stop();
      setLogLevel('info');
    },
  };
}
