// Entry point: load config, start everything, stop cleanly on SIGTERM/SIGINT.
// Only the memory settings are imported statically: the program (app.js, edge-app.js and the ~600
// modules behind them) loads after them, so its loading is part of the boot they cover
// (core/idle-memory.ts).
import {
  collectBootGarbage,
  holdYoungGenerationWhileBooting,
  releaseFreedMalloc,
  setMallocPolicy,
  trimFreedMallocEvery,
} from './core/idle-memory.js';

const mallocPolicyNotSet = setMallocPolicy();
const releaseYoungGeneration = holdYoungGenerationWhileBooting();
const { App } = await import('./app.js');
const { ConfigError, loadConfig } = await import('./config.js');
const { EdgeApp } = await import('./edge-app.js');
const { createLogger } = await import('./core/logger.js');
const { readVersion } = await import('./version.js');

const log = createLogger('main');
if (mallocPolicyNotSet) log.info(`malloc settings not applied (${mallocPolicyNotSet})`);

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
  releaseYoungGeneration();
  const gcMs = collectBootGarbage();
  releaseFreedMalloc();
  trimFreedMallocEvery();
  log.debug(`the boot's garbage collected in ${gcMs.toFixed(1)} ms`);
}

main().catch((err) => {
  process.stderr.write(`SRS Stack failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
