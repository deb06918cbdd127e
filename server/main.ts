// Entry point: load config, start everything, stop cleanly on SIGTERM/SIGINT.
import { App } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { EdgeApp } from './edge-app.js';
import { createLogger } from './core/logger.js';
import { readVersion } from './version.js';

const log = createLogger('main');

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`SRS Stack cannot start: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // EDGE_ORIGIN set: the edge role (docs/architecture.md#edges), the same program without Redis or console.
  const app = config.edge ? new EdgeApp(config, config.edge, readVersion()) : new App(config, readVersion());
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping`);
    const force = setTimeout(() => {
      log.error('shutdown took more than 30 s, exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    await app.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await app.start();
}

main().catch((err) => {
  process.stderr.write(`SRS Stack failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
