/**
 * A big zone's image compiled into memory (`compileZone`, what a compile thread transferred
 * to the primary, which then wrote it into a pack) against compiled straight into a pack
 * folder (`writePackedImage` + `compileZoneToFile`, what `serve`'s compile thread does now,
 * CRC-32 included), alternated in one process over the
 * same ColumnZone, `--runs` rounds: CPU ms (user + system, every thread of the process) and
 * wall ms of each, and the memory-path's pack write timed apart (`PackWriter.add` of the
 * image: the primary's write before). The images are compared octet for octet.
 *
 *   node --expose-gc dist/bench/compile-file.js [--records 1000000] [--runs 4]
 * @module
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileZone, compileZoneToFile } from '../src/image/compile.js';
import { PackWriter, writePackedImage } from '../src/image/pack.js';
import { loadZoneTextColumns } from '../src/zone/load.js';
import { cpuMillis, median } from './stats.js';
import { BIG_ORIGIN, generateBigZone } from './zone-load.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const records = arg('records', 1_000_000);
const runs = arg('runs', 4);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const dir = mkdtempSync(join(tmpdir(), 'sb-compile-file-'));
try {
  const file = join(dir, 'big.zone');
  generateBigZone(file, records);
  let text = readFileSync(file, 'latin1');
  const { zone } = loadZoneTextColumns(text, { origin: BIG_ORIGIN, octets: true });
  text = '';
  const packs = join(dir, 'packs');
  const writer = new PackWriter(packs);
  const mem: number[] = [];
  const write: number[] = [];
  const toFile: number[] = [];
  const fileWall: number[] = [];
  let same = true;
  const ways = ['memory', 'file'];
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < ways.length; k++) {
      const way = ways[(r + k) % ways.length];
      gc();
      if (way === 'memory') {
        let c = cpuMillis();
        const image = compileZone(zone);
        mem.push(cpuMillis() - c);
        c = cpuMillis();
        const ref = writer.add(image);
        write.push(cpuMillis() - c);
        writer.release(ref);
      } else {
        const c = cpuMillis();
        const t = performance.now();
        const packed = writePackedImage(packs, (fd, base) => compileZoneToFile(zone, fd, base, {}));
        toFile.push(cpuMillis() - c);
        fileWall.push(performance.now() - t);
        const ref = writer.adopt(packed);
        if (r < 2) {
          const want = compileZone(zone);
          const got = new Uint8Array(ref.length);
          const fd = openSync(join(packs, ref.pack), 'r');
          let done = 0;
          while (done < got.length) done += readSync(fd, got, done, got.length - done, ref.offset + done);
          closeSync(fd);
          same &&= Buffer.from(got).equals(Buffer.from(want));
        }
        writer.release(ref);
      }
    }
  }
  writer.close();
  console.log(
    `one zone of ${records} records, ${runs} runs alternated, median CPU ms (load ${loadavg()[0].toFixed(1)}):`,
  );
  console.log(
    `  into memory: compileZone ${median(mem).toFixed(0)} + the pack write ${median(write).toFixed(0)} = ${(median(mem) + median(write)).toFixed(0)}`,
  );
  console.log(
    `  into the pack folder (compileZoneToFile, CRC-32 included): ${median(toFile).toFixed(0)} (wall ${median(fileWall).toFixed(0)} ms)`,
  );
  console.log(same ? '  the images are identical' : '  THE IMAGES DIFFER');
  if (!same) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
