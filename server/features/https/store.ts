// Where HTTPS state lives: SRS Stack's Redis strings SRS_HTTPS ("ssl" | "lets") and SRS_HTTPS_DOMAIN,
// the installed pair <data>/config/nginx.key + nginx.crt (the files SRS Stack and the panel's nginx
// read), and the Let's Encrypt account key and issued copies under <data>/lego. Every file is
// replaced atomically, so a reader never sees half a certificate.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../../core/atomic-write.js';
import { KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';
import type { KeyPair } from './certificate.js';

export type Provider = 'ssl' | 'lets' | '';

export class HttpsStore {
  constructor(private readonly redis: RedisClient) {}

  async provider(): Promise<Provider> {
    const value = await this.redis.redis.get(KEYS.HTTPS);
    return value === 'ssl' || value === 'lets' ? value : '';
  }

  async domain(): Promise<string> {
    return (await this.redis.redis.get(KEYS.HTTPS_DOMAIN)) ?? '';
  }

  async setProvider(provider: Exclude<Provider, ''>, domain?: string): Promise<void> {
    const tx = this.redis.redis.multi().set(KEYS.HTTPS, provider);
    if (domain !== undefined) tx.set(KEYS.HTTPS_DOMAIN, domain);
    await tx.exec();
  }

  /** Marks the installed files as "ssl" when nobody recorded where they came from (first boot). */
  async adoptUnlabelled(): Promise<void> {
    await this.redis.redis.setnx(KEYS.HTTPS, 'ssl');
  }
}

function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export class CertificateFiles {
  readonly keyFile: string;
  readonly crtFile: string;

  constructor(configDir: string) {
    this.keyFile = path.join(configDir, 'nginx.key');
    this.crtFile = path.join(configDir, 'nginx.crt');
  }

  read(): { key: string | null; crt: string | null } {
    return { key: readIfExists(this.keyFile), crt: readIfExists(this.crtFile) };
  }

  /** Size and mtime of both files: changes when someone replaces them by hand. */
  stamp(): string {
    return [this.keyFile, this.crtFile]
      .map((f) => {
        try {
          const s = fs.statSync(f);
          return `${s.size}:${s.mtimeMs}`;
        } catch {
          return '-';
        }
      })
      .join('|');
  }

  /** The certificate first: a crash between the two renames leaves an old key and a new
   * certificate, which the next load refuses loudly rather than serving a mismatched pair. */
  write(pair: KeyPair): void {
    writeFileAtomicSync(this.crtFile, pair.crt, { mode: 0o644 });
    writeFileAtomicSync(this.keyFile, pair.key, { mode: 0o600 });
  }
}

/** The ACME account key and a copy of each issued certificate, as lego kept them. */
export class AcmeFiles {
  readonly accountKeyFile: string;
  private readonly certDir: string;

  constructor(legoDir: string) {
    this.accountKeyFile = path.join(legoDir, 'account.key');
    this.certDir = path.join(legoDir, 'certificates');
  }

  accountKey(): string | null {
    return readIfExists(this.accountKeyFile);
  }

  saveAccountKey(pem: string): void {
    writeFileAtomicSync(this.accountKeyFile, pem, { mode: 0o600 });
  }

  saveIssued(firstDomain: string, pair: KeyPair): void {
    fs.mkdirSync(this.certDir, { recursive: true, mode: 0o700 });
    writeFileAtomicSync(path.join(this.certDir, `${firstDomain}.crt`), pair.crt, { mode: 0o644 });
    writeFileAtomicSync(path.join(this.certDir, `${firstDomain}.key`), pair.key, { mode: 0o600 });
  }
}
