// The rules of authentication (docs/compatibility.md §0.2, §2): first-run password, login with per-client
// throttling, JWTs signed with the API secret, the Bearer API secret, and the console's cookie
// session with a CSRF token derived from it.
import crypto from 'node:crypto';
import type { Config } from '../../config.js';
import { ConflictError, NotReadyError, TooManyRequestsError, UnauthorizedError, ValidationError } from '../../core/errors.js';
import { createLogger, registerSecret } from '../../core/logger.js';
import { secretsEqual } from '../../core/secrets.js';
import { signToken, verifyToken } from './jwt.js';
import type { LoginThrottle } from './login-throttle.js';
import { hashPassword, validateNewPassword, verifyPassword } from './password.js';
import type { AuthStore } from './store.js';

const log = createLogger('auth');

export interface IssuedToken {
  token: string;
  createAt: string;
  expireAt: string;
}

export interface Credentials {
  authorization?: string;
  bodyToken?: string;
  sessionToken?: string;
  csrfToken?: string;
}

export class AuthService {
  private apiSecret = '';

  constructor(
    private readonly config: Config,
    private readonly store: AuthStore,
    private readonly throttle: LoginThrottle,
  ) {
    registerSecret(config.mgmtPassword);
  }

  /** Runs on every Redis (re)connect: adopts or creates the API secret (`srs-v2-<32 hex>`). */
  async onRedisReady(): Promise<void> {
    const candidate = this.config.platformSecret || `srs-v2-${crypto.randomBytes(16).toString('hex')}`;
    this.apiSecret = await this.store.initApiSecret(candidate);
    registerSecret(this.apiSecret);
  }

  get secret(): string {
    if (!this.apiSecret) throw new NotReadyError('the API secret is not loaded yet: Redis is not ready');
    return this.apiSecret;
  }

  isInitialized(): boolean {
    return Boolean(this.config.mgmtPassword || this.store.readPasswordHash());
  }

  async init(password: string): Promise<IssuedToken & { bearer: string }> {
    if (this.isInitialized()) throw new ConflictError('already initialized: log in with the existing password');
    const problem = validateNewPassword(password);
    if (problem) throw new ValidationError(problem);
    this.store.writePasswordHash(await hashPassword(password));
    log.info('admin password set by first-run setup');
    return { ...(await this.issueToken()), bearer: this.secret };
  }

  async login(password: string, client: string): Promise<IssuedToken & { bearer: string }> {
    if (!this.isInitialized()) throw new ConflictError('not init: set the admin password first');
    if (!password) throw new ValidationError('no password');
    const wait = this.throttle.waitFor(client);
    if (wait > 0) {
      throw new TooManyRequestsError(`too many wrong passwords from ${client}, wait ${Math.ceil(wait / 1000)}s`, wait / 1000);
    }
    if (!(await this.checkPassword(password))) {
      const delay = this.throttle.recordFailure(client);
      log.warn(`wrong password from ${client}; next attempt allowed in ${delay} ms`);
      throw new UnauthorizedError(`invalid password, wait ${Math.ceil(delay / 1000)}s before trying again`);
    }
    this.throttle.recordSuccess(client);
    return { ...(await this.issueToken()), bearer: this.secret };
  }

  private async checkPassword(password: string): Promise<boolean> {
    const hash = this.store.readPasswordHash();
    if (hash && (await verifyPassword(password, hash))) return true;
    return Boolean(this.config.mgmtPassword) && secretsEqual(password, this.config.mgmtPassword);
  }

  async issueToken(): Promise<IssuedToken> {
    const { token, claims } = await signToken(this.secret);
    return {
      token,
      createAt: new Date(claims.iat * 1000).toISOString(),
      expireAt: new Date(claims.exp * 1000).toISOString(),
    };
  }

  /**
   * SRS Stack's rule: an Authorization header, when present, decides alone and must be exactly
   * `Bearer <api secret>`; otherwise a JWT in the body `token`. The console adds a third way: its
   * session cookie, accepted only with the matching CSRF token.
   */
  async authenticate(creds: Credentials): Promise<void> {
    const secret = this.secret;
    if (creds.authorization !== undefined) {
      const parts = creds.authorization.split(' ');
      if (parts.length !== 2 || parts[0]?.toLowerCase() !== 'bearer' || !secretsEqual(parts[1] ?? '', secret)) {
        throw new UnauthorizedError('invalid Authorization header: expected Bearer <api secret>');
      }
      return;
    }
    if (creds.bodyToken) {
      const result = await verifyToken(secret, creds.bodyToken);
      if (!result.ok) throw new UnauthorizedError(`invalid token: ${result.reason}`);
      return;
    }
    if (creds.sessionToken) {
      if (!(await this.isValidSession(creds.sessionToken))) throw new UnauthorizedError('console session expired: log in again');
      if (!creds.csrfToken || !secretsEqual(creds.csrfToken, this.csrfTokenFor(creds.sessionToken))) {
        throw new UnauthorizedError('missing or invalid CSRF token for the console session');
      }
      return;
    }
    throw new UnauthorizedError('no Authorization or token: send Authorization: Bearer <api secret> or a token');
  }

  async isValidSession(sessionToken: string | undefined): Promise<boolean> {
    if (!sessionToken || !this.apiSecret) return false;
    return (await verifyToken(this.apiSecret, sessionToken)).ok;
  }

  /** CSRF token bound to one session: HMAC of the session token, so nothing is stored. */
  csrfTokenFor(sessionToken: string): string {
    return crypto.createHmac('sha256', this.secret).update(`csrf:${sessionToken}`).digest('base64url');
  }
}
