/**
 * kdig's transfer output (AXFR/IXFR) as comparable lines, for e2e tests.
 * @module
 */

/** The records of a kdig transfer output, as `name ttl type rdata` (TSIG left out, names folded). */
export function kdigRecords(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(';'))
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 5 && f[3] !== 'TSIG')
    .map((f) => `${f[0].toLowerCase()} ${f[1]} ${f[3]} ${f.slice(4).join(' ')}`);
}

/** The serial of a SOA line of `kdigRecords`. */
export function soaSerialOf(soaLine: string): number {
  return Number(soaLine.split(' ')[5]);
}
