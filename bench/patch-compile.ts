/**
 * The compile thread's work for a one-record change to a big zone, in one process, side by
 * side: the text path (the zone's served text parsed — as columns from 1 MiB, as
 * compile-thread does — and compiled) and the diff path (the served image opened, the records
 * read back with the change in place, built and compiled: src/image/patch.ts). Rounds
 * alternate between the two; medians. The serving side (DB read and render before the text
 * path, the workers' open of the new image after both) is not in these figures: bench/zone-change.ts.
 *
 * Usage: node --expose-gc dist/bench/patch-compile.js [--records 100000,1000000] [--rounds 5]
 * @module
 */
import { compileZone } from '../src/image/compile.js';
import { compilePatched, type RRsetPatch } from '../src/image/patch.js';
import { openImage } from '../src/image/reader.js';
import { Name } from '../src/wire/name.js';
import { loadZoneText, loadZoneTextColumns, parseZoneText } from '../src/zone/index.js';
import { median } from './stats.js';

const ORIGIN = 'big.test.';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

/** The served text's form: the SOA first, then by owner key and type. */
function servedText(records: number, serial: number, h1: string): string {
  const lines = [
    `${ORIGIN}\t3600\tIN\tSOA\tns1.example.net. h.${ORIGIN} ${serial} 7200 900 1209600 300`,
    `${ORIGIN}\t3600\tIN\tNS\tns1.example.net.`,
  ];
  for (let i = 0; i < records; i++)
    lines.push(
      `h${i}.${ORIGIN}\t300\tIN\tA\t${i === 1 ? h1 : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`}`,
    );
  return `${lines.join('\n')}\n`;
}

function compileText(text: string): Uint8Array {
  const load = text.length >= 1 << 20 ? loadZoneTextColumns : loadZoneText;
  return compileZone(load(text, { origin: ORIGIN, strict: false }).zone);
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function main(): void {
  const sizes = arg('--records', '100000,1000000').split(',').map(Number);
  const rounds = Number(arg('--rounds', '5'));
  for (const records of sizes) {
    const base = compileText(servedText(records, 1, '10.0.0.1'));
    const text: number[] = [];
    const patch: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const h1 = `10.200.0.${r}`;
      const newText = servedText(records, 2 + r, h1);
      const patches: RRsetPatch[] = [
        {
          name: Name.parse(`h1.${ORIGIN}`),
          type: 1,
          ttl: 300,
          rdata: parseZoneText(`h1.${ORIGIN} 300 IN A ${h1}`, { origin: ORIGIN }).map((x) => x.rdata),
        },
        {
          name: Name.parse(ORIGIN),
          type: 6,
          ttl: 3600,
          rdata: parseZoneText(
            `${ORIGIN} 3600 IN SOA ns1.example.net. h.${ORIGIN} ${2 + r} 7200 900 1209600 300`,
            { origin: ORIGIN },
          ).map((x) => x.rdata),
        },
      ];
      const order = r % 2 === 0 ? ['text', 'patch'] : ['patch', 'text'];
      let a: Uint8Array | undefined;
      let b: Uint8Array | undefined;
      for (const which of order) {
        gc();
        const t = performance.now();
        if (which === 'text') a = compileText(newText);
        else b = compilePatched(openImage(base, { validated: true }), patches);
        (which === 'text' ? text : patch).push(performance.now() - t);
      }
      if (!a || !b || Buffer.compare(a, b) !== 0) throw new Error('the patched image differs from the text');
    }
    console.log(
      `${records} records, one A record + the SOA changed: text parsed + compiled ${median(text).toFixed(0)} ms, ` +
        `image patched + compiled ${median(patch).toFixed(0)} ms (ratio ${(median(patch) / median(text)).toFixed(2)}; medians of ${rounds}, ` +
        `text ${text.map((x) => x.toFixed(0)).join(', ')}; patch ${patch.map((x) => x.toFixed(0)).join(', ')})`,
    );
  }
}

main();
