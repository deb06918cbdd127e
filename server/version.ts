import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './app.js';

export function readVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
