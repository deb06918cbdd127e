// The first-boot self-signed certificate, built with node:crypto and a few lines of DER (RFC 5280)
// rather than @peculiar/x509: that library (with its ASN.1 schemas, tsyringe and reflect-metadata)
// stayed loaded for the life of the process after the one certificate a data dir ever makes, about
// 2.5 MB of the idle stack's heap (docs/architecture.md, "Memory at idle"). The structure is fixed:
// only the name, the dates and the key vary, and node:crypto checks the result in the unit tests.
import crypto from 'node:crypto';

/** DER: a tag, its length (short or long form), the content. */
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  if (n > 0xffff) throw new Error('DER content too long');
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}

const sequence = (...items: Buffer[]) => der(0x30, ...items);
const octets = (content: Buffer) => der(0x04, content);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always in UTC with seconds. */
function time(at: Date): Buffer {
  const iso = at.toISOString(); // 2026-12-06T17:00:00.000Z
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return at.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(digits.slice(2), 'ascii')) : der(0x18, Buffer.from(digits, 'ascii'));
}

/** A Name of one CN (UTF8String). */
const commonName = (name: string) => sequence(der(0x31, sequence(oid('2.5.4.3'), der(0x0c, Buffer.from(name, 'utf8')))));

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), octets(value));
}

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

export interface SelfSignedRequest {
  /** CN and the one DNS subjectAltName. */
  readonly name: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** An EC P-256 key pair: the certificate's key and its signer. */
  readonly publicKey: crypto.KeyObject;
  readonly privateKey: crypto.KeyObject;
}

/**
 * An X.509 v3 certificate, DER, signed by its own key: serial 1, ECDSA with SHA-256, subject and
 * issuer CN=name, basicConstraints (not a CA), keyUsage digitalSignature and keyEncipherment
 * (critical), extKeyUsage serverAuth, subjectAltName DNS:name.
 */
export function selfSignedCertificateDer(req: SelfSignedRequest): Buffer {
  const subject = commonName(req.name);
  const tbs = sequence(
    der(0xa0, der(0x02, Buffer.from([2]))), // version v3
    der(0x02, Buffer.from([1])), // serial number 1
    ECDSA_WITH_SHA256,
    subject, // issuer: itself
    sequence(time(req.notBefore), time(req.notAfter)),
    subject,
    req.publicKey.export({ type: 'spki', format: 'der' }),
    der(
      0xa3,
      sequence(
        extension('2.5.29.19', false, sequence()), // basicConstraints: cA FALSE (the default, omitted)
        extension('2.5.29.15', true, der(0x03, Buffer.from([0x05, 0xa0]))), // keyUsage: bits 0 and 2
        extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
        extension('2.5.29.17', false, sequence(der(0x82, Buffer.from(req.name, 'ascii')))), // SAN: dNSName
      ),
    ),
  );
  const signature = crypto.sign('sha256', tbs, { key: req.privateKey, dsaEncoding: 'der' });
  return sequence(tbs, ECDSA_WITH_SHA256, der(0x03, Buffer.from([0]), signature));
}

/** PEM of a DER block, 64 characters a line, ending in a newline. */
export function pem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
