// Module customization hooks (node:module register) for module-trace.ts: every ES module resolved
// is appended to the file MODULE_TRACE_OUT names. They run on the loader's own thread, hence a file.
import fs from 'node:fs';

type Resolve = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Resolve): Promise<{ url: string }> {
  const resolved = await next(specifier, context);
  fs.appendFileSync(process.env.MODULE_TRACE_OUT as string, `${resolved.url}\n`);
  return resolved;
}
