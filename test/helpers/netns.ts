// Network namespaces made by a test (root only): two hosts joined by a veth pair, each also joined to
// the test's own namespace by a veth of its own so the test can publish, play and read stats. The
// hosts do not forward: traffic between them goes over their own link only.
import { execFileSync } from 'node:child_process';

export interface NetnsHost {
  readonly name: string;
  /** Its address on the link between the two hosts. */
  readonly linkIp: string;
  /** Its address as the test reaches it. */
  readonly controlIp: string;
  /** The argv prefix that runs a command inside it (it execs the command: same pid). */
  readonly exec: readonly string[];
}

export interface NetnsPair {
  readonly a: NetnsHost;
  readonly b: NetnsHost;
  destroy(): void;
}

/** Whether this process may make namespaces: root with iproute2. */
export function canMakeNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Makes two namespaces `<tag>a`, `<tag>b` (tag: a few letters, unique per test run) on 10.<net>.x.0/24. */
export function makeNetnsPair(tag: string, net: number): NetnsPair {
  const hosts = (['a', 'b'] as const).map((side, i) => ({
    name: `${tag}${side}`,
    linkIp: `10.${net}.0.${i + 1}`,
    controlIp: `10.${net}.${i + 1}.2`,
    hostSideIp: `10.${net}.${i + 1}.1`,
    exec: ['ip', 'netns', 'exec', `${tag}${side}`],
  }));
  const destroy = () => {
    for (const h of hosts) {
      try {
        ip('netns', 'del', h.name);
      } catch {
        /* not made */
      }
      try {
        ip('link', 'del', `${h.name}c0`);
      } catch {
        /* went with the namespace */
      }
    }
  };
  destroy();
  try {
    for (const h of hosts) {
      ip('netns', 'add', h.name);
      ip('-n', h.name, 'link', 'set', 'lo', 'up');
      // The control link: <name>c0 in the test's namespace, <name>c1 inside.
      ip('link', 'add', `${h.name}c0`, 'type', 'veth', 'peer', 'name', `${h.name}c1`);
      ip('link', 'set', `${h.name}c1`, 'netns', h.name);
      ip('addr', 'add', `${h.hostSideIp}/24`, 'dev', `${h.name}c0`);
      ip('link', 'set', `${h.name}c0`, 'up');
      ip('-n', h.name, 'addr', 'add', `${h.controlIp}/24`, 'dev', `${h.name}c1`);
      ip('-n', h.name, 'link', 'set', `${h.name}c1`, 'up');
    }
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    // The link between the two hosts.
    ip('link', 'add', `${a.name}l`, 'type', 'veth', 'peer', 'name', `${b.name}l`);
    ip('link', 'set', `${a.name}l`, 'netns', a.name);
    ip('link', 'set', `${b.name}l`, 'netns', b.name);
    for (const h of hosts) {
      ip('-n', h.name, 'addr', 'add', `${h.linkIp}/24`, 'dev', `${h.name}l`);
      ip('-n', h.name, 'link', 'set', `${h.name}l`, 'up');
    }
  } catch (err) {
    destroy();
    throw new Error(`cannot make network namespaces: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`, { cause: err });
  }
  const [a, b] = hosts.map((h): NetnsHost => ({ name: h.name, linkIp: h.linkIp, controlIp: h.controlIp, exec: h.exec }));
  return { a: a as NetnsHost, b: b as NetnsHost, destroy };
}
