// The TLS listener on HTTPS_LISTEN, serving the same request handler as the HTTP port. A new
// certificate is swapped in with setSecureContext: handshakes from then on get it, connections that
// are already open keep theirs, nothing restarts.
import https from 'node:https';
import type http from 'node:http';
import type { KeyPair } from './certificate.js';

export class HttpsListener {
  private server: https.Server | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** Without a pair, handshakes fail until setCertificate() (SRS Stack behaves the same). */
  async start(handler: http.RequestListener, pair: KeyPair | null): Promise<void> {
    const server = https.createServer(pair ? { key: pair.key, cert: pair.crt } : {}, handler);
    server.keepAliveTimeout = 65_000;
    server.requestTimeout = 0; // HTTP-FLV and uploads are long-lived
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Throws (keeping the current certificate) when TLS refuses the pair. */
  setCertificate(pair: KeyPair): void {
    this.server?.setSecureContext({ key: pair.key, cert: pair.crt });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2000).unref();
    await closed;
  }
}
