/**
 * A DNS worker's cost per image zone (issue 7): the time a worker takes to apply a snapshot of
 * `--zones` image references (batches of 2,000, as the primary's image shipper sends them) into
 * its zone table and Responder, and the memory it then holds; then the first query of every
 * zone (each opens its image when zones are opened on first query) and the memory after.
 *
 *   node --expose-gc dist/bench/worker-apply.js [--zones 100000] [--runs 3] [--cpu-prof]
 *     [--snapshot file|json|chunks|columns|both|ab]
 *
 * `--snapshot`: how the snapshot reaches the worker, timed apart as `shipMs` (CPU of both
 * ends, in this one process): `file` (the servers' way since issue 7's cold-start work) — the
 * primary encodes one snapshot file (src/server/shared/snapshot-file.ts), the worker reads and
 * decodes it; `json` (before) — batches of 2,000 refs, each `JSON.stringify`d (as the cluster
 * IPC channel does) and parsed back; `chunks` (the workers' way until manyzones6) — the file encoded as
 * `file`, then read, decoded and applied 2,000 zones at a time (`decodeSnapshotChunks`), all
 * timed as the apply; `columns` (the workers' way now) — the file read and its columns made
 * the table's base (`ServedZoneTable.applySnapshotFile`, each zone made on first use), timed
 * as the apply; `both` alternates `file` and `json`, `ab` `chunks` and `columns`, run by run.
 * The apply ends with the origin keys joined as a worker hands them to the native answers
 * (`Catalog.keys`).
 *
 * The images are compiled once by this process into a temporary pack (removed at the end);
 * each run is a
 * fresh child process (`--child`), so its RSS is a worker's; the figures are medians of the
 * runs (`--cpu-prof`: each child writes a CPU profile into ./prof; SWITCHBOARD_OPEN_ZONES and
 * SWITCHBOARD_OPEN_NODES bound the open images as in a worker). Not counted: the IPC decoding of the snapshot messages (the batches are built in the
 * child as plain objects) and the sockets. PSS is from /proc/self/smaps_rollup (pack pages
 * shared with other mappers count in part).
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Responder } from '../src/answer/respond.js';
import { compileZone } from '../src/image/compile.js';
import { type ImageRef, PackReader, PackWriter } from '../src/image/pack.js';
import { imageZoneLoader, type LoadCounters, openImageLimits } from '../src/server/shared/images.js';
import {
  decodeSnapshot,
  decodeSnapshotChunks,
  encodeSnapshot,
  readSnapshotColumns,
} from '../src/server/shared/snapshot-file.js';
import type { ZonePush } from '../src/server/start/protocol.js';
import { ServedZoneTable } from '../src/server/start/zones.js';
import { loadZoneText } from '../src/zone/load.js';
import { manyZoneOrigin, manyZoneText } from './many-zones.js';
import { median } from './stats.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const gc = (globalThis as { gc?: () => void }).gc;

interface Figures {
  /** The snapshot's way to the worker: encoding by the primary and decoding by the worker. */
  shipMs: number;
  applyMs: number;
  /** CPU time of the apply (with `chunks`: the file's read and decoding too). */
  applyCpuMs: number;
  rssMB: number;
  heapMB: number;
  pssMB: number;
  firstQueryUs: number;
  allFirstMs: number;
  allSecondMs: number;
  rssAfterMB: number;
  heapAfterMB: number;
  pssAfterMB: number;
  opened: number;
}

function pssMB(): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'latin1'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function memory(): { rssMB: number; heapMB: number; pssMB: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rssMB: m.rss / 2 ** 20, heapMB: m.heapUsed / 2 ** 20, pssMB: pssMB() };
}

/** An SOA query for `origin` (presentation form, absolute), no EDNS. */
function soaQuery(origin: string, id: number): Uint8Array {
  let wire = '';
  for (const l of origin.split('.')) if (l !== '') wire += String.fromCharCode(l.length) + l;
  wire += '\0';
  const out = new Uint8Array(12 + wire.length + 4);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  out[5] = 1;
  for (let i = 0; i < wire.length; i++) out[12 + i] = wire.charCodeAt(i);
  out[12 + wire.length + 1] = 6;
  out[12 + wire.length + 3] = 1;
  return out;
}

function child(dir: string): void {
  const { names, refs } = JSON.parse(readFileSync(join(dir, 'refs.json'), 'utf8')) as {
    names: string[];
    refs: ImageRef[];
  };
  const loads: LoadCounters = { textParses: 0, imageOpens: 0 };
  const reader = new PackReader(dir);
  // The batches as the worker receives them (built before the clock starts).
  const batches: ZonePush[][] = [];
  for (let i = 0; i < names.length; i += 2000)
    batches.push(
      names.slice(i, i + 2000).map((name, k) => ({
        name,
        version: 1,
        serial: 1,
        text: null,
        ref: refs[i + k],
      })),
    );
  gc?.();
  // The way from the primary's table to the worker's pushes, both ends timed (CPU, one process).
  const s0 = process.cpuUsage();
  let received: ZonePush[][];
  const how = arg('snapshot', 'file');
  const path = join(dir, 'snapshot-1.sbsnap');
  if (how === 'json') {
    const wire = batches.map((zones, b) =>
      JSON.stringify({ type: 'switchboard:zones', kind: 'snapshot', seq: b + 1, last: false, zones }),
    );
    received = wire.map((w) => (JSON.parse(w) as { zones: ZonePush[] }).zones);
  } else {
    writeFileSync(
      path,
      encodeSnapshot(names.map((name, i) => ({ name, version: 1, serial: 1, ref: refs[i] }))),
    );
    // `chunks`: read and decoded in the apply, chunk by chunk, as a worker does now.
    received = how === 'chunks' || how === 'columns' ? [] : [decodeSnapshot(readFileSync(path))];
  }
  const s1 = process.cpuUsage(s0);
  const shipMs = (s1.user + s1.system) / 1000;
  batches.length = 0;
  for (const b of received) batches.push(b);
  received = [];
  gc?.();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const images = imageZoneLoader(reader, loads, openImageLimits());
  const table = new ServedZoneTable(
    images.load,
    images.release,
    how === 'columns' ? images.deferred : undefined,
  );
  const responder = new Responder(table.catalog());
  if (how === 'columns') {
    const r = table.applySnapshotFile(readSnapshotColumns(readFileSync(path)), {
      type: 'switchboard:zones',
      kind: 'snapshot',
      seq: 1,
      last: true,
      zones: [],
    });
    if (r.errors.length > 0) throw new Error(r.errors[0]);
    if (r.changed) responder.setCatalog(table.catalog());
  }
  if (how === 'chunks') {
    const msg = {
      type: 'switchboard:zones' as const,
      kind: 'snapshot' as const,
      seq: 1,
      last: false,
      zones: [],
    };
    decodeSnapshotChunks(readFileSync(path), 2000, (zones) => {
      const r = table.apply({ ...msg, zones });
      if (r.errors.length > 0) throw new Error(r.errors[0]);
    });
    const r = table.apply({ ...msg, last: true });
    if (r.changed) responder.setCatalog(table.catalog());
  }
  batches.forEach((zones, b) => {
    const r = table.apply({
      type: 'switchboard:zones',
      kind: 'snapshot',
      seq: 1,
      last: b === batches.length - 1,
      zones,
    });
    if (r.errors.length > 0) throw new Error(r.errors[0]);
    if (r.changed) responder.setCatalog(table.catalog());
  });
  // The origins as a worker hands them to the native answers (NativeAnswers.sync).
  if (Buffer.from([...responder.catalog.keys].join(''), 'latin1').length === 0) throw new Error('no origins');
  const applyMs = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  const applyCpuMs = (c1.user + c1.system) / 1000;
  batches.length = 0;
  const m1 = memory();
  // The last zone's first query (a zone nobody asked yet).
  const last = names.length - 1;
  const t1 = performance.now();
  const res = responder.respond(soaQuery(names[last], 1), { transport: 'udp' });
  const firstQueryUs = (performance.now() - t1) * 1000;
  if (res === null || (res[3] & 0xf) !== 0 || res[7] !== 1)
    throw new Error('no SOA answer for the last zone');
  // Every zone's first query.
  const t2 = performance.now();
  for (let i = 0; i < names.length; i++) {
    const r = responder.respond(soaQuery(names[i], i & 0xffff), { transport: 'udp' });
    if (r === null || (r[3] & 0xf) !== 0) throw new Error(`no answer for ${names[i]}`);
  }
  const allFirstMs = performance.now() - t2;
  // And again: zones closed by the bound open again (header checks only), the others are open.
  const t3 = performance.now();
  for (let i = 0; i < names.length; i++) {
    const r = responder.respond(soaQuery(names[i], (i + 1) & 0xffff), { transport: 'udp' });
    if (r === null || (r[3] & 0xf) !== 0) throw new Error(`no answer for ${names[i]}`);
  }
  const allSecondMs = performance.now() - t3;
  const m2 = memory();
  const out: Figures = {
    shipMs,
    applyMs,
    applyCpuMs,
    ...m1,
    firstQueryUs,
    allFirstMs,
    allSecondMs,
    rssAfterMB: m2.rssMB,
    heapAfterMB: m2.heapMB,
    pssAfterMB: m2.pssMB,
    opened: images.pool.firstOpens,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** Compiles `n` zones into a pack of a new writer (its files live until `close`). */
function buildPack(n: number): PackWriter {
  const t = performance.now();
  const writer = new PackWriter();
  const names: string[] = [];
  const refs: ImageRef[] = [];
  for (let i = 0; i < n; i++) {
    const origin = manyZoneOrigin(i, n);
    const { zone } = loadZoneText(manyZoneText(origin, i), { origin, file: origin });
    names.push(origin);
    refs.push(writer.add(compileZone(zone)));
  }
  writeFileSync(join(writer.dir, 'refs.json'), JSON.stringify({ names, refs }));
  console.log(`compiled ${n} zones in ${Math.round(performance.now() - t)} ms`);
  return writer;
}

function main(): void {
  if (process.argv.includes('--child')) {
    child(arg('pack', ''));
    return;
  }
  const n = Number(arg('zones', '100000'));
  const runs = Number(arg('runs', '3'));
  const writer = buildPack(n);
  try {
    const self = fileURLToPath(import.meta.url);
    const all: Figures[] = [];
    const mode = arg('snapshot', 'file');
    const byMode = new Map<string, Figures[]>();
    for (let r = 0; r < runs * (mode === 'both' || mode === 'ab' ? 2 : 1); r++) {
      const how =
        mode === 'both'
          ? r % 2 === 0
            ? 'file'
            : 'json'
          : mode === 'ab'
            ? r % 2 === 0
              ? 'chunks'
              : 'columns'
            : mode;
      const flags = process.argv.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', 'prof'] : [];
      const out = execFileSync(
        process.execPath,
        ['--expose-gc', ...flags, self, '--child', '--pack', writer.dir, '--snapshot', how],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        },
      );
      const f = JSON.parse(out.trim().split('\n').at(-1) as string) as Figures;
      all.push(f);
      byMode.set(how, [...(byMode.get(how) ?? []), f]);
      console.log(
        `run ${r + 1} (${how}): ${JSON.stringify(f, (_k, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}`,
      );
    }
    const med = (k: keyof Figures, of = all) => Math.round(median(of.map((f) => f[k])) * 10) / 10;
    for (const [how, of] of byMode)
      console.log(
        `snapshot as ${how}: ship ${med('shipMs', of)} ms CPU, apply ${med('applyMs', of)} ms, ${med('applyCpuMs', of)} ms CPU (medians of ${of.length})`,
      );
    console.log(
      `${n} zones, medians of ${runs} runs: apply ${med('applyMs')} ms; after apply RSS ${med('rssMB')} MB, heap ${med('heapMB')} MB, PSS ${med('pssMB')} MB; ` +
        `last zone's first SOA ${med('firstQueryUs')} µs; every zone's first SOA ${med('allFirstMs')} ms, second ${med('allSecondMs')} ms; ` +
        `after RSS ${med('rssAfterMB')} MB, heap ${med('heapAfterMB')} MB, PSS ${med('pssAfterMB')} MB; images opened ${med('opened')}`,
    );
  } finally {
    writer.close();
  }
}

main();
