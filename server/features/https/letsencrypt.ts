// Let's Encrypt with acme-client, HTTP-01 only: one certificate for every name of the ";" list,
// challenges written under <data>/.well-known/acme-challenge/ (served on the HTTP port), the
// account key kept under <data>/lego, a daily renewal when fewer than 30 days remain, and a
// progress record the console polls. One issuance at a time.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import type { Client as AcmeClient } from 'acme-client';
import { AppError, ConflictError, NotReadyError, UpstreamError, errorMessage } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { daysLeft, type CertificateInfo } from './certificate.js';
import { explainFailure, parseDomainList } from './domains.js';
import { selfCheckChallenge } from './self-check.js';
import type { HttpsService } from './service.js';
import type { AcmeFiles, HttpsStore } from './store.js';

const log = createLogger('letsencrypt');

type Acme = typeof import('acme-client');
let acmeModule: Promise<Acme> | null = null;
/** acme-client (with its axios) holds ~26 MB once loaded and only an issuance needs it: loaded then (idle RSS). */
function loadAcme(): Promise<Acme> {
  return (acmeModule ??= import('acme-client').then((acme) => {
    acme.setLogger((message: string) => log.debug(message));
    return acme;
  }));
}
export const RENEW_WHEN_DAYS_LEFT = 30;
const RENEW_CHECK_INTERVAL_MS = 24 * 3600_000;
const ACME_TIMEOUT_MS = 30_000;
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export interface LetsEncryptOptions {
  directoryUrl: string;
  caFile: string;
  email: string;
  /** 0: skip the self-check. */
  selfCheckPort: number;
  /** <data>/.well-known, served at /.well-known/ on the HTTP port. */
  wellKnownDir: string;
}

export interface IssueProgress {
  state: 'idle' | 'running' | 'done' | 'failed';
  reason: 'request' | 'renewal' | '';
  domains: string[];
  startedAt: string;
  finishedAt: string;
  steps: Array<{ at: string; text: string }>;
  error: string;
}

const IDLE: IssueProgress = { state: 'idle', reason: '', domains: [], startedAt: '', finishedAt: '', steps: [], error: '' };

export class LetsEncryptService {
  private running: Promise<CertificateInfo> | null = null;
  private progress: IssueProgress = IDLE;
  private timer: NodeJS.Timeout | null = null;
  private checkedOnce = false;
  private stopped = false;
  private readonly challengeDir: string;

  constructor(
    private readonly options: LetsEncryptOptions,
    private readonly files: AcmeFiles,
    private readonly https: HttpsService,
    private readonly store: HttpsStore,
  ) {
    this.challengeDir = path.join(options.wellKnownDir, 'acme-challenge');
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.renewIfDue(), RENEW_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** The first renewal check runs once Redis (where the provider and domains live) answers. */
  async onRedisReady(): Promise<void> {
    if (this.checkedOnce) return;
    this.checkedOnce = true;
    void this.renewIfDue();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // acme-client cannot be cancelled; its requests time out on their own, and an exit does not wait for them.
    const running = this.running;
    if (running) await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
  }

  status(): IssueProgress {
    return this.progress;
  }

  /** mgmt/letsencrypt: issues and installs one certificate for every name of `domainList`. */
  async request(domainList: string): Promise<CertificateInfo> {
    return this.issue(parseDomainList(domainList), 'request');
  }

  /** Renews the Let's Encrypt certificate when fewer than 30 days remain; true when it did. */
  async renewIfDue(now = new Date()): Promise<boolean> {
    if (this.stopped || this.running) return false;
    try {
      const [provider, domain] = await Promise.all([this.store.provider(), this.store.domain()]);
      if (provider !== 'lets' || !domain) return false;
      const current = this.https.current();
      const left = current ? daysLeft(current, now) : 0;
      if (current && left >= RENEW_WHEN_DAYS_LEFT) {
        log.info(`certificate for ${domain} has ${Math.floor(left)} days left: no renewal needed`);
        return false;
      }
      log.info(`certificate for ${domain} has ${Math.max(0, Math.floor(left))} days left: renewing`);
      await this.issue(parseDomainList(domain), 'renewal');
      return true;
    } catch (err) {
      if (err instanceof NotReadyError) this.checkedOnce = false;
      else log.error('renewal failed; the next check is in 24 hours', errorMessage(err));
      return false;
    }
  }

  private issue(domains: string[], reason: 'request' | 'renewal'): Promise<CertificateInfo> {
    if (this.running) {
      throw new ConflictError(`a certificate request is already running for ${this.progress.domains.join(';')}: wait for it to finish`);
    }
    this.progress = { ...IDLE, state: 'running', reason, domains, startedAt: new Date().toISOString(), steps: [] };
    const run = this.run(domains).then(
      (info) => {
        this.finish('done', '');
        return info;
      },
      (err: unknown) => {
        const message = errorMessage(err);
        this.step(`failed: ${message}`);
        this.finish('failed', message);
        throw err instanceof AppError ? err : new UpstreamError(message);
      },
    );
    this.running = run;
    void run.catch(() => undefined).finally(() => (this.running = null));
    return run;
  }

  private finish(state: 'done' | 'failed', error: string): void {
    this.progress = { ...this.progress, state, error, finishedAt: new Date().toISOString() };
  }

  private step(text: string): void {
    this.progress.steps.push({ at: new Date().toISOString(), text });
    log.info(text);
  }

  private async run(domains: string[]): Promise<CertificateInfo> {
    const { directoryUrl } = this.options;
    const acme = await loadAcme();
    this.configureHttpClient(acme);
    this.step(`contacting the ACME server ${directoryUrl}`);
    await this.checkDirectory(acme, directoryUrl);
    const client = new acme.Client({
      directoryUrl,
      accountKey: await this.accountKey(acme),
      backoffMin: 250,
      backoffMax: 5000,
      backoffAttempts: 12,
    });
    await this.ensureAccount(client);
    this.step(`ordering one certificate for ${domains.join(', ')}`);
    const order = await client.createOrder({ identifiers: domains.map((value) => ({ type: 'dns', value })) });
    const written: string[] = [];
    try {
      for (const authz of await client.getAuthorizations(order)) {
        const domain = authz.identifier.value;
        if (authz.status === 'valid') {
          this.step(`${domain}: already validated recently`);
          continue;
        }
        const challenge = authz.challenges.find((c) => c.type === 'http-01');
        if (!challenge || !TOKEN.test(challenge.token))
          throw new UpstreamError(`the ACME server offered no usable http-01 challenge for ${domain}`);
        const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
        written.push(this.writeChallenge(challenge.token, keyAuthorization));
        if (this.options.selfCheckPort) {
          const checked = await selfCheckChallenge(domain, this.options.selfCheckPort, challenge.token, keyAuthorization);
          this.step(
            checked.warning ? `${domain}: warning: ${checked.warning}` : `${domain}: self-check passed (${checked.addresses.join(', ')})`,
          );
        }
        this.step(`${domain}: asking the CA to validate http://${domain}/.well-known/acme-challenge/${challenge.token}`);
        try {
          await client.completeChallenge(challenge);
          await client.waitForValidStatus(challenge);
        } catch (err) {
          throw new UpstreamError(explainFailure(domain, errorMessage(err)));
        }
        this.step(`${domain}: validated`);
      }
      this.step('all names validated: finalizing the order');
      const [key, csr] = await acme.crypto.createCsr(
        { commonName: domains[0], altNames: domains },
        await acme.crypto.createPrivateEcdsaKey(),
      );
      const finalized = await client.finalizeOrder(order, csr);
      const crt = await client.getCertificate(finalized);
      const pair = { key: key.toString(), crt };
      const info = await this.https.installIssued(pair, domains.join(';'));
      this.files.saveIssued(domains[0] as string, pair);
      this.step(`installed: ${info.altNames.join(', ')}, issued by ${info.issuer}, valid to ${info.validTo}; HTTPS serves it now`);
      return info;
    } finally {
      for (const file of written) fs.rmSync(file, { force: true });
    }
  }

  /** acme-client sends everything through one axios instance: trust ACME_CA_FILE there. */
  private configureHttpClient(acme: Acme): void {
    let ca: string[] | undefined;
    if (this.options.caFile) {
      try {
        ca = [...tls.rootCertificates, fs.readFileSync(this.options.caFile, 'utf8')];
      } catch (err) {
        throw new AppError(500, `ACME_CA_FILE ${this.options.caFile} cannot be read: ${errorMessage(err)}`);
      }
    }
    acme.axios.defaults.httpsAgent = new https.Agent({ ca });
    acme.axios.defaults.timeout = ACME_TIMEOUT_MS;
  }

  /**
   * One plain request first: unreachable, acme-client retries for over a minute and then fails
   * with a TypeError that says nothing useful.
   */
  private async checkDirectory(acme: Acme, url: string): Promise<void> {
    const agent = acme.axios.defaults.httpsAgent as https.Agent;
    const status = await new Promise<number>((resolve, reject) => {
      const get = url.startsWith('https:') ? https.get : http.get;
      const req = get(url, { agent: url.startsWith('https:') ? agent : undefined, timeout: ACME_TIMEOUT_MS }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${ACME_TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
    }).catch((err: unknown) => {
      throw new UpstreamError(
        `cannot reach the ACME server ${url}: ${errorMessage(err)}. Check the server's outbound network` +
          `${this.options.caFile ? ', ACME_CA_FILE' : ''} and ACME_DIRECTORY_URL`,
      );
    });
    if (status !== 200) throw new UpstreamError(`the ACME server ${url} answered HTTP ${status}: check ACME_DIRECTORY_URL`);
  }

  /**
   * Looks the account up first: for a key already registered, acme-client would resend the
   * creation fields as an "update", which ACME servers refuse as an empty update.
   */
  private async ensureAccount(client: AcmeClient): Promise<void> {
    try {
      await client.createAccount({ onlyReturnExisting: true });
      return;
    } catch {
      /* no account for this key yet (or the lookup failed: the creation below reports it) */
    }
    await client.createAccount({
      termsOfServiceAgreed: true,
      ...(this.options.email ? { contact: [`mailto:${this.options.email}`] } : {}),
    });
    this.step('registered the account');
  }

  private async accountKey(acme: Acme): Promise<string> {
    const existing = this.files.accountKey();
    if (existing) return existing;
    const created = (await acme.crypto.createPrivateEcdsaKey()).toString();
    this.files.saveAccountKey(created);
    this.step(`created the account key ${this.files.accountKeyFile}`);
    return created;
  }

  private writeChallenge(token: string, keyAuthorization: string): string {
    fs.mkdirSync(this.challengeDir, { recursive: true });
    const file = path.join(this.challengeDir, token);
    fs.writeFileSync(file, keyAuthorization);
    return file;
  }
}
