#!/usr/bin/env node
// Operator commands. `reset-password [new]` sets the admin password without the console (FAQ:
// forgotten password); with no argument it prints a generated one.
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

const [command, arg] = process.argv.slice(2);
if (command === 'reset-password') {
  resetPassword(arg).catch((err: Error) => {
    process.stderr.write(`reset-password failed: ${err.message}\n`);
    process.exit(1);
  });
} else {
  process.stdout.write('usage: srs-stack reset-password [new-password]\n');
  process.exit(command ? 2 : 0);
}
