/**
 * A network namespace of the test's own, for what loopback cannot show: IPv6 sources in many
 * /56s (the shield's and RRL's IPv6 prefix logic). The namespace has only its loopback, with
 * 2001:db8::/48 (the documentation prefix, RFC 3849) routed to it as local and non-local
 * binds allowed, so a test inside binds any address of the /48 and nothing leaves the
 * namespace: it has no other interface. Needs root (CAP_SYS_ADMIN) and iproute2's `ip`.
 *
 * The test re-runs its own file inside the namespace (`ip netns exec`), with
 * `SWITCHBOARD_TEST_NETNS_PREFIX` set; the DNS client helpers then accept addresses of that
 * prefix as they accept loopback ones, but only in a process that really runs in a network
 * namespace other than the host's.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { isIP } from 'node:net';

/** The prefix routed to the namespace's loopback. */
export const NETNS_PREFIX = '2001:db8::/48';
/** The environment variable that tells a re-run test it runs inside the namespace. */
export const NETNS_ENV = 'SWITCHBOARD_TEST_NETNS_PREFIX';
/** The server's address inside the namespace (configured on `lo`, so source selection finds it). */
export const NETNS_SERVER = '2001:db8::53';

/** The environment variable with the network namespace of the process that made the test's. */
export const NETNS_HOST_ENV = 'SWITCHBOARD_TEST_HOST_NETNS';

/** This process's network namespace (`net:[INODE]`), or '' when /proc cannot tell. */
export function currentNetns(): string {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return '';
  }
}

/**
 * True in a process whose network namespace is not the one of the process that made the test
 * namespace (its `SWITCHBOARD_TEST_HOST_NETNS`; /proc/1's is not always readable).
 */
export function inOwnNetns(): boolean {
  const host = process.env[NETNS_HOST_ENV];
  const self = currentNetns();
  return host !== undefined && host !== '' && self !== '' && self !== host;
}

function expand6(a: string): number[] | undefined {
  if (isIP(a) !== 6 || a.includes('.')) return undefined;
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...Array(zeros).fill('0'), ...t].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 ? groups : undefined;
}

/**
 * True when `host` is an address of the test namespace's prefix and this process runs inside
 * a namespace of its own with that prefix announced: traffic to it cannot leave the machine.
 */
export function isNetnsTestAddress(host: string): boolean {
  if (process.env[NETNS_ENV] !== NETNS_PREFIX || !inOwnNetns()) return false;
  const g = expand6(host);
  return g !== undefined && g[0] === 0x2001 && g[1] === 0x0db8 && g[2] === 0;
}

/** Why a namespace cannot be made here, or false when it can (probed by making one). */
export function netnsMissing(): false | string {
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add)';
  const probe = `sbprobe${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.error) return `iproute2's ip is not installed (${r.error.message})`;
  if (r.status !== 0) return `ip netns add failed: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return false;
}

/** Makes the namespace `name` (see the module comment); throws with ip's message. */
export function createNetns(name: string): void {
  const steps: string[][] = [
    ['netns', 'add', name],
    ['-n', name, 'link', 'set', 'lo', 'up'],
    ['-n', name, '-6', 'addr', 'add', `${NETNS_SERVER}/128`, 'dev', 'lo'],
    ['-n', name, '-6', 'route', 'add', 'local', NETNS_PREFIX, 'dev', 'lo'],
  ];
  for (const s of steps) {
    const r = spawnSync('ip', s, { encoding: 'utf8' });
    if (r.status !== 0) {
      deleteNetns(name);
      throw new Error(`ip ${s.join(' ')}: ${r.stderr.trim() || r.error?.message}`);
    }
  }
  const r = spawnSync('ip', ['netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.ip_nonlocal_bind=1'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    deleteNetns(name);
    throw new Error(`sysctl net.ipv6.ip_nonlocal_bind=1 in ${name}: ${r.stderr.trim()}`);
  }
}

/** Removes the namespace (and with it every socket bound in it). */
export function deleteNetns(name: string): void {
  spawnSync('ip', ['netns', 'del', name]);
}
