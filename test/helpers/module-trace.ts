// `node --import <this> …`: writes every module the program loads, ES modules and CommonJS alike
// (those `require`d inside packages never reach the ES loader's hooks), one file URL per line, to
// MODULE_TRACE_OUT. Tests read it to check what a program loads at boot (docs/architecture.md,
// "Memory at idle").
import fs from 'node:fs';
import { Module, register } from 'node:module';
import { pathToFileURL } from 'node:url';

type Loader = (module: unknown, filename: string) => void;
const out = process.env.MODULE_TRACE_OUT as string;
register('./module-trace-hooks.js', import.meta.url);
const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
for (const ext of ['.js', '.json', '.cjs']) {
  const load = extensions[ext];
  if (!load) continue;
  extensions[ext] = function traced(this: unknown, module: unknown, filename: string) {
    fs.appendFileSync(out, `${pathToFileURL(filename).href}\n`);
    return load.call(this, module, filename);
  };
}
