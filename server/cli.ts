#!/usr/bin/env node
// Operator commands. `reset-password [new]` sets the admin password without the console (FAQ:
// forgotten password); with no argument it prints a generated one. `health` is the container
// image's HEALTHCHECK (docs/container.md): it asks this stack's mgmt/check over loopback.
import path from 'node:path';
import { loadConfig } from './config.js';
import { passwordFilePath, writePasswordHash } from './features/auth/password-file.js';
import { hashPassword, randomPassword, validateNewPassword } from './features/auth/password.js';

async function resetPassword(given: string | undefined): Promise<void> {
  const config = loadConfig();
  const password = given ?? randomPassword();
  const problem = validateNewPassword(password);
  if (problem) throw new Error(problem);
  writePasswordHash(passwordFilePath(path.join(config.dataDir, 'config')), await hashPassword(password));
  process.stdout.write(`Admin password reset for ${config.dataDir}.\n`);
  if (!given) process.stdout.write(`New password: ${password}\n`);
  process.stdout.write('It takes effect at the next login; no restart is needed.\n');
}

/** Exit 0 when mgmt/check answers code 0 (Redis up, boot done), 1 otherwise, saying why. */
async function health(): Promise<void> {
  const config = loadConfig();
  const url = `http://127.0.0.1:${config.mgmtListen}/terraform/v1/mgmt/check`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
    const body = (await res.json().catch(() => ({}))) as { code?: number; data?: unknown };
    if (res.ok && body.code === 0) {
      process.stdout.write(`healthy: ${url}\n`);
      return;
    }
    process.stdout.write(`unhealthy: ${url} answered HTTP ${res.status} ${JSON.stringify(body)}\n`);
  } catch (err) {
    process.stdout.write(`unhealthy: ${url}: ${(err as Error).message}\n`);
  }
  process.exit(1);
}

const [command, arg] = process.argv.slice(2);
if (command === 'health') {
  void health();
} else if (command === 'reset-password') {
  resetPassword(arg).catch((err: Error) => {
    process.stderr.write(`reset-password failed: ${err.message}\n`);
    process.exit(1);
  });
} else {
  process.stdout.write('usage: srs-stack reset-password [new-password] | srs-stack health\n');
  process.exit(command ? 2 : 0);
}
