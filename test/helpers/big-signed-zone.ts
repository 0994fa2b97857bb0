/**
 * Big "signed" zones for the proof-index fairness e2e (test/e2e/signed-fairness.test.ts): a
 * DNSKEY and RRSIG at the apex (what makes a zone signed to the answer engine, which never
 * validates: the signatures are filler) and a real NSEC chain or NSEC3 chain (0 iterations,
 * no salt) over `hosts` names, so that every proof is a real lookup in a big index. Made in
 * well under a second per 100,000 names, unlike a real signer.
 * @module
 */
import { nsec3Hash } from '../../src/answer/dnssec.js';
import { Name } from '../../src/wire/name.js';

const FILLER = Buffer.alloc(64, 7).toString('base64');

function sig(covered: string, origin: string): string {
  return `RRSIG ${covered} 13 ${origin.split('.').length - 1} 3600 20300101000000 20200101000000 1 ${origin} ${FILLER}`;
}

/** The zone text of `origin` with `hosts` names `h<i>` (A records), NSEC- or NSEC3-chained. */
export function bigSignedZoneText(
  origin: string,
  hosts: number,
  chain: 'nsec' | 'nsec3',
  serial = 1,
): string {
  const head = [
    `$ORIGIN ${origin}`,
    '$TTL 3600',
    `@ SOA ns1 hostmaster ${serial} 7200 3600 1209600 300`,
    `@ ${sig('SOA', origin)}`,
    '@ NS ns1',
    `@ DNSKEY 257 3 13 ${FILLER}`,
    `@ ${sig('DNSKEY', origin)}`,
    'ns1 A 192.0.2.1',
  ];
  const labels = ['ns1'];
  for (let i = 0; i < hosts; i++) labels.push(`h${i}`);
  const lines: string[] = [];
  for (let i = 0; i < hosts; i++) lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  if (chain === 'nsec') {
    // One label each, lower case: canonical order is the labels' octet order; the apex first.
    labels.sort();
    const owners = ['@', ...labels];
    for (let i = 0; i < owners.length; i++) {
      const next = i + 1 < owners.length ? owners[i + 1] : origin;
      const types = i === 0 ? 'NS SOA RRSIG NSEC DNSKEY' : 'A RRSIG NSEC';
      lines.push(`${owners[i]} 300 NSEC ${next === '@' ? origin : next} ${types}`);
    }
    return `${head.join('\n')}\n${lines.join('\n')}\n`;
  }
  head.push('@ 0 NSEC3PARAM 1 0 0 -');
  const hashes = ['@', ...labels]
    .map((l) => ({
      hash: nsec3Hash(Name.parse(l === '@' ? origin : `${l}.${origin}`).key, new Uint8Array(0), 0),
      apex: l === '@',
    }))
    .sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  for (let i = 0; i < hashes.length; i++) {
    const next = hashes[(i + 1) % hashes.length].hash;
    const types = hashes[i].apex ? 'NS SOA RRSIG DNSKEY NSEC3PARAM' : 'A RRSIG';
    lines.push(`${hashes[i].hash} 300 NSEC3 1 0 0 - ${next} ${types}`);
  }
  return `${head.join('\n')}\n${lines.join('\n')}\n`;
}
