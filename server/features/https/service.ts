// What certificate the stack serves, and how it changes: the self-signed one of a fresh install, an
// uploaded pair (mgmt/ssl), or one issued by Let's Encrypt. Every change goes through install():
// validate, write the files, record the provider, swap the listener's context — in that order, so
// an invalid pair never touches what already works.
import type http from 'node:http';
import tls from 'node:tls';
import { errorMessage } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { createSelfSignedCertificate, describeCertificate, validateKeyPair, type CertificateInfo, type KeyPair } from './certificate.js';
import type { HttpsListener } from './listener.js';
import type { CertificateFiles, HttpsStore, Provider } from './store.js';

const log = createLogger('https');
/** SRS Stack reloads the files hourly too, so a pair replaced by hand (or by a panel) is picked up. */
const RELOAD_INTERVAL_MS = 3600_000;

export interface CertificateQuery {
  provider: Provider;
  domain: string;
  key: string;
  crt: string;
  /** Ours, beside SRS Stack's fields: what the console shows. */
  info: CertificateInfo | null;
}

export class HttpsService {
  private loaded: { pair: KeyPair; info: CertificateInfo; stamp: string } | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  /** Installs run one at a time: two interleaved writes could pair one upload's key with another's certificate. */
  private installing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: HttpsStore,
    private readonly files: CertificateFiles,
    private readonly listener: HttpsListener,
    private readonly autoSelfSigned: boolean,
  ) {}

  /** Makes the first-boot certificate if allowed and needed, then listens with what is installed. */
  async start(handler: http.RequestListener): Promise<void> {
    // A first-boot certificate that cannot be made (openssl missing or failing) leaves HTTPS without
    // one, as an unusable installed pair does: the stack still starts, and says why.
    const created =
      this.autoSelfSigned &&
      (await this.createSelfSignedIfMissing().catch((err: unknown) => {
        log.warn(`cannot make the first-boot self-signed certificate: ${errorMessage(err)}`);
        return false;
      }));
    if (created) await this.store.adoptUnlabelled().catch(() => undefined); // Redis may not be up yet: onRedisReady does it then
    this.loaded = this.readInstalled();
    if (!this.loaded) log.warn('no usable certificate installed: HTTPS handshakes fail until one is uploaded or issued');
    await this.listener.start(handler, this.loaded?.pair ?? null);
    this.reloadTimer = setInterval(() => this.reloadIfChanged(), RELOAD_INTERVAL_MS);
    this.reloadTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.reloadTimer) clearInterval(this.reloadTimer);
    this.reloadTimer = null;
    await this.listener.stop();
  }

  /** Files written before Redis was up (first boot), or by hand, get their provider recorded now. */
  async onRedisReady(): Promise<void> {
    const { key, crt } = this.files.read();
    if (key !== null && crt !== null) await this.store.adoptUnlabelled();
  }

  /**
   * The certificate handshakes get right now, or the installed one before the listener started:
   * the renewal check may run first at boot, and must not renew a valid certificate (Let's
   * Encrypt limits duplicate certificates per week).
   */
  current(): CertificateInfo | null {
    return (this.loaded ?? this.readInstalled())?.info ?? null;
  }

  /** mgmt/ssl: an uploaded key + certificate (chain allowed). */
  async upload(key: string, crt: string): Promise<CertificateInfo> {
    return this.install(validateKeyPair(key, crt), 'ssl');
  }

  /** A pair issued by the ACME client, checked by the same rules as an upload. */
  async installIssued(pair: KeyPair, domain: string): Promise<CertificateInfo> {
    return this.install(validateKeyPair(pair.key, pair.crt), 'lets', domain);
  }

  /** mgmt/auto-self-signed-certificate: only when no certificate exists at all (SRS Stack's rule). */
  async autoSelfSignedCertificate(): Promise<boolean> {
    if (!(await this.createSelfSignedIfMissing())) return false;
    this.reloadIfChanged();
    await this.store.setProvider('ssl');
    return true;
  }

  /** mgmt/cert/query: exactly the files on disk, with the facts of the certificate they hold. */
  async query(): Promise<CertificateQuery> {
    const [provider, domain] = await Promise.all([this.store.provider(), this.store.domain()]);
    const { key, crt } = this.files.read();
    let info: CertificateInfo | null = null;
    try {
      info = crt ? describeCertificate(crt) : null;
    } catch {
      /* unreadable file: reported as no info */
    }
    return provider ? { provider, domain, key: key ?? '', crt: crt ?? '', info } : { provider, domain, key: '', crt: '', info };
  }

  private install(pair: KeyPair & { info: CertificateInfo }, provider: 'ssl' | 'lets', domain?: string): Promise<CertificateInfo> {
    const run = this.installing.then(() => this.installNow(pair, provider, domain));
    this.installing = run.catch(() => undefined);
    return run;
  }

  private async installNow(pair: KeyPair & { info: CertificateInfo }, provider: 'ssl' | 'lets', domain?: string): Promise<CertificateInfo> {
    this.files.write(pair);
    this.listener.setCertificate(pair);
    this.loaded = { pair, info: pair.info, stamp: this.files.stamp() };
    await this.store.setProvider(provider, domain);
    log.info(`installed ${provider} certificate ${pair.info.subject} [${pair.info.altNames.join(', ')}] valid to ${pair.info.validTo}`);
    return pair.info;
  }

  private async createSelfSignedIfMissing(): Promise<boolean> {
    const { key, crt } = this.files.read();
    if (key !== null || crt !== null) return false;
    this.files.write(await createSelfSignedCertificate());
    log.info(`created a self-signed certificate in ${this.files.crtFile}`);
    return true;
  }

  /** Reads the installed pair; null (with the reason logged) when missing or unusable. */
  private readInstalled(): { pair: KeyPair; info: CertificateInfo; stamp: string } | null {
    const stamp = this.files.stamp();
    const { key, crt } = this.files.read();
    if (key === null || crt === null) return null;
    try {
      tls.createSecureContext({ key, cert: crt });
      return { pair: { key, crt }, info: describeCertificate(crt), stamp };
    } catch (err) {
      log.error(`cannot use ${this.files.crtFile} with ${this.files.keyFile}`, errorMessage(err));
      return null;
    }
  }

  private reloadIfChanged(): void {
    if (this.loaded && this.files.stamp() === this.loaded.stamp) return;
    const fresh = this.readInstalled();
    if (!fresh) return;
    this.listener.setCertificate(fresh.pair);
    this.loaded = fresh;
    log.info(`reloaded the certificate from disk: ${fresh.info.subject}`);
  }
}
