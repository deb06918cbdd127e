// The first-boot self-signed certificate, made by the `openssl` command (a runtime package: the
// installer's SYSTEM_PACKAGES) rather than a library in this process: @peculiar/x509, with its ASN.1
// schemas, tsyringe and reflect-metadata, stayed loaded for the life of the process after the one
// certificate a data dir ever makes, about 2.5 MB of the idle stack's heap (docs/architecture.md,
// "Memory at idle"). One short run through the process gate (core/process/run-once.ts), argv only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runOnce } from '../../core/process/run-once.js';

const OPENSSL_TIMEOUT_MS = 20_000;

/**
 * A DNS name openssl's `-subj` and `-addext` take as is (no `/`, `=`, `,` or `+` to escape), of at
 * most 64 characters: a certificate's common name is no longer (RFC 5280, ub-common-name).
 */
const PLAIN_DNS_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

/**
 * `openssl req` argv (pure) for SRS Stack's first-boot certificate: ECDSA P-256, CN and SAN `name`,
 * serial 1, `days` from now, a server's key usages, not a CA; the key as unencrypted PKCS#8.
 */
export function selfSignedArgs(name: string, days: number, keyFile: string, crtFile: string): string[] {
  if (!PLAIN_DNS_NAME.test(name) || name.length > 64)
    throw new Error(`not a plain DNS name of at most 64 characters: ${JSON.stringify(name)}`);
  return [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-noenc'],
    ...['-keyout', keyFile, '-out', crtFile, '-days', String(days), '-set_serial', '1', '-subj', `/CN=${name}`],
    ...['-addext', `subjectAltName=DNS:${name}`, '-addext', 'basicConstraints=critical,CA:FALSE'],
    ...['-addext', 'keyUsage=critical,digitalSignature,keyEncipherment', '-addext', 'extendedKeyUsage=serverAuth'],
  ];
}

/** Runs openssl in a private temporary folder and returns the key and certificate PEMs. */
export async function opensslSelfSigned(name: string, days: number, openssl = 'openssl'): Promise<{ key: string; crt: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-stack-cert-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const crtFile = path.join(dir, 'crt.pem');
    const res = await runOnce(openssl, selfSignedArgs(name, days, keyFile, crtFile), { timeoutMs: OPENSSL_TIMEOUT_MS });
    if (res.code !== 0) throw new Error(`openssl could not make the self-signed certificate: ${res.stderr.trim() || `exit ${res.code}`}`);
    return { key: fs.readFileSync(keyFile, 'utf8'), crt: fs.readFileSync(crtFile, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
