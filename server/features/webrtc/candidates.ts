// Which addresses an SDP answer names as ICE candidates: SRS Stack's rules (reference "/rtc/*"
// proxy and candidate.go), as one pure function of the request and the host; the DNS lookup and
// the interface list are handed in, so tests need neither.
//
// Order, first that gives an address wins:
//  1. `?eip=<ip>[:port]` in the WHIP/WHEP URL (the user or a proxy says it outright);
//  2. the `X-Real-Host` header (a reverse proxy's view of the host the browser used);
//  3. `CANDIDATE` in the config (the server's public IP);
//  4. the `Host` header the browser used: an IP literal as is; a name resolved by DNS unless
//     NAME_LOOKUP is off; `localhost` means this machine (its addresses, below);
//  5. this host's non-internal IPv4 addresses (loopback when it has none).
import net from 'node:net';

export interface CandidateInputs {
  readonly eip: string;
  readonly xRealHost: string;
  /** The Host header. */
  readonly host: string;
  readonly configCandidate: string;
  readonly nameLookup: boolean;
}

export interface CandidateEnv {
  /** DNS: the first IPv4 address of a name, or null. */
  readonly lookup: (name: string) => Promise<string | null>;
  /** This host's non-internal IPv4 addresses. */
  readonly interfaces: () => string[];
}

/** `1.2.3.4:8080` → `1.2.3.4`; `[::1]:80` → `::1`; `example.com` → `example.com`. */
export function hostOnly(hostHeader: string): string {
  const h = hostHeader.trim();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  if (net.isIPv6(h)) return h;
  return h.split(':')[0] ?? '';
}

async function resolveHost(name: string, nameLookup: boolean, env: CandidateEnv): Promise<string[]> {
  if (!name) return [];
  if (net.isIP(name)) return [name];
  if (name === 'localhost') return [];
  if (!nameLookup || !/^[a-z0-9.-]+$/i.test(name)) return [];
  const ip = await env.lookup(name).catch(() => null);
  return ip ? [ip] : [];
}

export async function candidateAddresses(inputs: CandidateInputs, env: CandidateEnv): Promise<string[]> {
  const eip = hostOnly(inputs.eip);
  if (eip && net.isIP(eip)) return [eip];
  const fromProxy = await resolveHost(hostOnly(inputs.xRealHost), inputs.nameLookup, env);
  if (fromProxy.length) return fromProxy;
  if (inputs.configCandidate) return [inputs.configCandidate];
  const fromHost = await resolveHost(hostOnly(inputs.host), inputs.nameLookup, env);
  if (fromHost.length) return fromHost;
  const own = env.interfaces();
  return own.length ? own : ['127.0.0.1'];
}
