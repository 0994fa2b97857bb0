/**
 * The compile thread's work for a one-record change to a big zone, in one process, side by
 * side: the delta path (src/image/patch.ts `patchImage`: only the changed names, the apex and
 * the names reading them compiled again, the rest copied from the base image), the text path (the zone's served text parsed — as columns from 1 MiB, as
 * compile-thread does — and compiled) and the diff path (the served image opened, the records
 * read back with the change in place, built and compiled whole: src/image/patch.ts with
 * SWITCHBOARD_DELTA_IMAGE=off). Rounds rotate the order of the three; medians, wall and CPU. The serving side (DB read and render before the text
 * path, the workers' open of the new image after both) is not in these figures: bench/zone-change.ts.
 *
 * `--op add`: the change adds a name (n0, n1 …) instead of replacing h1's address; `--op
 * remove`: it removes h2, h3 … (their only RRset): names added and removed (ixfrdelta).
 *
 * Usage: node --expose-gc dist/bench/patch-compile.js [--records 100000,1000000] [--rounds 5] [--op replace|add|remove]
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
function servedText(records: number, serial: number, h1: string, op = 'replace', r = 0): string {
  const lines = [
    `${ORIGIN}\t3600\tIN\tSOA\tns1.example.net. h.${ORIGIN} ${serial} 7200 900 1209600 300`,
    `${ORIGIN}\t3600\tIN\tNS\tns1.example.net.`,
  ];
  if (op === 'add') lines.push(`n${r}.${ORIGIN}\t300\tIN\tA\t10.201.0.${r}`);
  for (let i = 0; i < records; i++)
    if (op !== 'remove' || i !== 2 + r)
      lines.push(
        `h${i}.${ORIGIN}\t300\tIN\tA\t${i === 1 && op === 'replace' ? h1 : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`}`,
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
  const op = arg('--op', 'replace');
  for (const records of sizes) {
    const base = compileText(servedText(records, 1, '10.0.0.1'));
    const text: number[] = [];
    const patch: number[] = [];
    const delta: number[] = [];
    const textCpu: number[] = [];
    const patchCpu: number[] = [];
    const deltaCpu: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const h1 = `10.200.0.${r}`;
      const newText = servedText(records, 2 + r, h1, op, r);
      const changed =
        op === 'add'
          ? { name: `n${r}.${ORIGIN}`, line: `n${r}.${ORIGIN} 300 IN A 10.201.0.${r}` }
          : op === 'remove'
            ? { name: `h${2 + r}.${ORIGIN}`, line: '' }
            : { name: `h1.${ORIGIN}`, line: `h1.${ORIGIN} 300 IN A ${h1}` };
      const patches: RRsetPatch[] = [
        {
          name: Name.parse(changed.name),
          type: 1,
          ttl: 300,
          rdata:
            changed.line === '' ? [] : parseZoneText(changed.line, { origin: ORIGIN }).map((x) => x.rdata),
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
      const order = [
        ['text', 'whole', 'delta'],
        ['delta', 'text', 'whole'],
        ['whole', 'delta', 'text'],
      ][r % 3];
      let a: Uint8Array | undefined;
      let b: Uint8Array | undefined;
      let c: Uint8Array | undefined;
      for (const which of order) {
        gc();
        const t = performance.now();
        const c0 = process.cpuUsage();
        if (which === 'text') a = compileText(newText);
        else if (which === 'whole') {
          process.env.SWITCHBOARD_DELTA_IMAGE = 'off';
          b = compilePatched(openImage(base, { validated: true }), patches);
          delete process.env.SWITCHBOARD_DELTA_IMAGE;
        } else c = compilePatched(openImage(base, { validated: true }), patches);
        const cpu = process.cpuUsage(c0);
        (which === 'text' ? text : which === 'whole' ? patch : delta).push(performance.now() - t);
        (which === 'text' ? textCpu : which === 'whole' ? patchCpu : deltaCpu).push(
          (cpu.user + cpu.system) / 1000,
        );
      }
      if (!a || !b || Buffer.compare(a, b) !== 0) throw new Error('the patched image differs from the text');
      if (!c || Buffer.compare(a, c) !== 0) throw new Error('the delta image differs from the text');
    }
    const ms = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    console.log(
      `${records} records, ${op === 'add' ? 'a name added' : op === 'remove' ? 'a name removed' : 'one A record replaced'} + the SOA changed: text parsed + compiled ${median(text).toFixed(0)} ms, ` +
        `image patched + compiled whole ${median(patch).toFixed(0)} ms (ratio ${(median(patch) / median(text)).toFixed(2)}), ` +
        `delta image ${median(delta).toFixed(1)} ms (ratio ${(median(delta) / median(text)).toFixed(3)}); ` +
        `CPU ms text ${median(textCpu).toFixed(0)}, whole ${median(patchCpu).toFixed(0)}, delta ${median(deltaCpu).toFixed(1)} ` +
        `(medians of ${rounds}; wall text ${ms(text)}; whole ${ms(patch)}; delta ${ms(delta)}; CPU delta ${ms(deltaCpu)})`,
    );
  }
}

main();
