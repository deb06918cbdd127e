// Runs every bench/*.bench.ts (compiled) one after the other; each prints its own figures.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
for (const file of fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .sort()) {
  if (only && file !== `${only}.bench.js`) continue;
  process.stdout.write(`\n# ${file}\n`);
  const res = spawnSync(process.execPath, [path.join(dir, file)], { stdio: 'inherit' });
  if (res.status !== 0) process.exitCode = 1;
}
