/**
 * The numbered test zones of the pipelined-transfer tests (test/e2e/xfr-pipeline.test.ts,
 * test/e2e/secondary-connections.test.ts): zone `i` has serial 100 + i, `ns1` and `www` (A) and
 * `hosts` TXT records, enough that some transfers take several messages and reads.
 * @module
 */

/** The master-file text of numbered test zone `i` named `origin`. */
export function txtZoneText(origin: string, i: number, hosts: number): string {
  return [
    `$ORIGIN ${origin}`,
    '$TTL 300',
    `@ IN SOA ns1 hostmaster ${100 + i} 3600 600 86400 300`,
    '@ NS ns1',
    'ns1 A 192.0.2.1',
    `www A 192.0.2.${i + 10}`,
    ...Array.from({ length: hosts }, (_, k) => `h${k} TXT "zone ${i} host ${k}"`),
    '',
  ].join('\n');
}
