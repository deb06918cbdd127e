// Pure rules for Let's Encrypt: which domain lists are acceptable (FAQ: several names separated by
// ";" in one certificate) and how a failed validation is explained in the FAQ's terms.
import net from 'node:net';
import { domainToASCII } from 'node:url';
import { ValidationError } from '../../core/errors.js';

/** Let's Encrypt accepts at most 100 names per certificate. */
export const MAX_DOMAINS = 100;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function checkDomain(raw: string): string {
  const shown = raw.length > 80 ? `${raw.slice(0, 80)}…` : raw;
  if (/\s/.test(raw)) throw new ValidationError(`"${shown}" contains a space: separate several domains with ";"`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) || /[/:?#@]/.test(raw)) {
    throw new ValidationError(`"${shown}" is not a bare domain name: enter only the host name, without http://, a port or a path`);
  }
  if (raw.includes('*')) {
    throw new ValidationError(`"${shown}": wildcard certificates need DNS validation, which is not supported; list each name instead`);
  }
  const name = raw.replace(/\.$/, '');
  if (net.isIP(name) || /^\[.*\]$/.test(name)) {
    throw new ValidationError(
      `"${shown}" is an IP address: Let's Encrypt issues certificates for domain names only; point a domain at this server first (FAQ: How to Set a Domain)`,
    );
  }
  const ascii = domainToASCII(name);
  const labels = ascii.split('.');
  if (!ascii || ascii.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels.at(-1) ?? '')) {
    throw new ValidationError(`"${shown}" is not a valid domain name (expected something like example.com or live.example.com)`);
  }
  return ascii;
}

/** Splits "a.com; www.a.com;" into ["a.com", "www.a.com"]: trimmed, lower case, no empties or repeats. */
export function parseDomainList(input: string): string[] {
  const names = input
    .split(';')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
    .map(checkDomain);
  if (!names.length) {
    throw new ValidationError('no domain: enter one or more domain names separated by ";", e.g. example.com;www.example.com');
  }
  const unique = [...new Set(names)];
  if (unique.length > MAX_DOMAINS) throw new ValidationError(`too many domains: ${unique.length}, Let's Encrypt allows ${MAX_DOMAINS}`);
  return unique;
}

const CAUSE = {
  dns: 'the domain does not resolve to this server. Add a DNS A record pointing it at the server\'s public IP (FAQ "How to Set a Domain"); an /etc/hosts entry does not count',
  port: "the server is not reachable from the internet on port 80. Let's Encrypt validates over port 80, not 2022: map it to the stack's HTTP port (docker -p 80:2022) and open the firewall",
  elsewhere:
    'port 80 of that address is answered by another server, not this stack: check the DNS record, or make the proxy in front forward /.well-known/acme-challenge/ to the stack',
  rateLimit: "Let's Encrypt's rate limit was hit: wait an hour before trying again",
  generic:
    'check that the domain resolves to this server\'s public IP, that the IP is reachable from the internet, and that port 80 (not 2022) reaches the stack (FAQ "How to Set up Free HTTPS")',
} as const;

export type FailureCause = keyof typeof CAUSE;

/** Maps a CA or self-check error text to the FAQ's likely cause. */
export function classifyFailure(detail: string): FailureCause {
  if (/rate.?limit|too many/i.test(detail)) return 'rateLimit';
  if (/NXDOMAIN|could not resolve|no valid (A|AAAA)|DNS problem|ENOTFOUND|EAI_AGAIN|SERVFAIL|no such host/i.test(detail)) return 'dns';
  if (/timeout|timed out|connection refused|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ECONNRESET|no route|unreachable|firewall/i.test(detail)) {
    return 'port';
  }
  if (/invalid response|returned \d{3}|status code|Non-200|unauthorized|404|key authorization/i.test(detail)) return 'elsewhere';
  return 'generic';
}

/** "Let's Encrypt could not validate b.example.com: <detail>. Likely cause: …" */
export function explainFailure(domain: string, detail: string, who = "Let's Encrypt"): string {
  return `${who} could not validate ${domain}: ${detail.trim().replace(/\.$/, '')}. Likely cause: ${CAUSE[classifyFailure(detail)]}.`;
}
