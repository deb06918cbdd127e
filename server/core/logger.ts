// The one module-level singleton allowed by the house rules. Lines are `time level [scope] message`,
// and every string passes through maskSecrets so stream keys and API secrets never reach a log.
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: number = ORDER[(process.env.LOG_LEVEL as Level) ?? 'info'] ?? ORDER.info;
const knownSecrets = new Set<string>();

/** Registers a value (API secret, publish secret, passwords) that must never be printed. */
export function registerSecret(secret: string): void {
  if (secret && secret.length >= 6) knownSecrets.add(secret);
}

/** Masks `secret=` query values, bearer tokens and every registered secret. */
export function maskSecrets(text: string): string {
  let out = text
    .replace(/([?&,]secret=)[^&\s,"']+/gi, '$1******')
    .replace(/(Bearer\s+)\S+/gi, '$1******')
    .replace(/srs-v2-[0-9a-f]{32}/g, 'srs-v2-******');
  for (const s of knownSecrets) out = out.split(s).join('******');
  return out;
}

function write(level: Level, scope: string, message: string, err?: unknown): void {
  if (ORDER[level] < threshold) return;
  const detail = err instanceof Error ? ` (${err.message})` : err !== undefined ? ` (${String(err)})` : '';
  const line = `${new Date().toISOString()} ${level.toUpperCase()} [${scope}] ${maskSecrets(message + detail)}\n`;
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line);
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string, err?: unknown): void;
  error(message: string, err?: unknown): void;
}

export function createLogger(scope: string): Logger {
  return {
    debug: (m) => write('debug', scope, m),
    info: (m) => write('info', scope, m),
    warn: (m, e) => write('warn', scope, m, e),
    error: (m, e) => write('error', scope, m, e),
  };
}

export function setLogLevel(level: Level): void {
  threshold = ORDER[level];
}
