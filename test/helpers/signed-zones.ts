/**
 * Signed test zones for the DNSSEC tests (test/interop/dnssec-differential.test.ts,
 * test/e2e/dnssec-delv.test.ts): one zone text with every case a proof covers (wildcards, an
 * empty non-terminal, CNAME chains, a DNAME, delegations with and without DS, glue), signed in
 * a temp folder with fresh keys by ldns-signzone (NSEC, NSEC3) or dnssec-signzone (NSEC3
 * opt-out).
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The zone every signer signs (origin substituted). */
export function testZoneText(origin: string): string {
  return `$ORIGIN ${origin}
$TTL 3600
@ IN SOA ns1 hostmaster 2026120501 7200 3600 1209600 300
@ NS ns1
@ NS ns2
@ MX 10 mail
@ A 192.0.2.1
ns1 A 192.0.2.53
ns2 A 192.0.2.54
ns2 AAAA 2001:db8::54
mail A 192.0.2.25
www A 192.0.2.80
www AAAA 2001:db8::80
alias CNAME www
chain1 CNAME chain2
chain2 CNAME www
dangling CNAME nothere
out CNAME www.example.net.
*.wild TXT "wildcard"
*.wild A 192.0.2.99
a.b.ent TXT "deep"
secure NS ns.secure
ns.secure A 192.0.2.200
secure DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
insecure NS ns.insecure
ns.insecure A 192.0.2.201
ext NS ns.other.net.
dn DNAME example.net.
txt TXT "hello" "world"
`;
}

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * Signs `testZoneText(origin)` into `out`: 'nsec' and 'nsec3' with ldns (keys from
 * ldns-keygen), 'optout' with dnssec-signzone -3 -A (keys from dnssec-keygen).
 */
export function signTestZone(
  dir: string,
  origin: string,
  kind: 'nsec' | 'nsec3' | 'optout',
  out: string,
): void {
  const work = join(dir, `keys-${kind}`);
  mkdirSync(work, { recursive: true });
  const plain = join(work, 'plain.zone');
  const bare = origin.replace(/\.$/, '');
  if (kind === 'optout') {
    const ksk = run('dnssec-keygen', ['-q', '-a', 'ECDSAP256SHA256', '-f', 'KSK', bare], work);
    const zsk = run('dnssec-keygen', ['-q', '-a', 'ECDSAP256SHA256', bare], work);
    writeFileSync(
      plain,
      `${testZoneText(origin)}$INCLUDE ${join(work, `${ksk}.key`)}\n$INCLUDE ${join(work, `${zsk}.key`)}\n`,
    );
    run(
      'dnssec-signzone',
      [
        '-q',
        '-3',
        'beef',
        '-H',
        '1',
        '-A',
        '-O',
        'text',
        '-e',
        '20300101000000',
        '-o',
        bare,
        '-f',
        out,
        plain,
        `${ksk}.key`,
        `${zsk}.key`,
      ],
      work,
    );
    return;
  }
  const ksk = run('ldns-keygen', ['-a', 'ECDSAP256SHA256', '-k', bare], work);
  const zsk = run('ldns-keygen', ['-a', 'ECDSAP256SHA256', bare], work);
  writeFileSync(plain, testZoneText(origin));
  const args = ['-e', '20300101000000', '-f', out, '-o', bare];
  if (kind === 'nsec3') args.push('-n', '-t', '3', '-s', 'c0ffee');
  run('ldns-signzone', [...args, plain, ksk, zsk], work);
}
