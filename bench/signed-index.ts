/**
 * The NSEC/NSEC3 proof index of a big signed zone (issue 9, not a test): how long a DNS
 * worker's loop is held by the first DO query after the zone changed, before (main: the index
 * built by that query from the image's name table) and after (this build: read from the
 * image's NSEC_INDEX/NSEC3_INDEX section), and what the section costs the compile (octets,
 * CPU). Per zone file (signed by ldns-signzone; generate once and keep them, signing 1,000,000
 * names takes minutes):
 *
 * - the zone is loaded as columns and compiled by this build (the image with the section);
 * - "before": the same octets with the version field set to 1, read by main's build
 *   (`BASE`, default /tmp/main-base: a copy of main's dist; it skips the section ids it does not
 *   know), so its `ImageZone` builds the index at the first DO query — exactly main's worker;
 * - "after": this build's `ImageZone` over the image;
 * - each round makes a fresh ImageZone for both (a changed zone is a new object) and times
 *   the first DO query (a random NXDOMAIN name: its proof needs the index) in wall and CPU
 *   time, then a second one; before and after alternate in one process; medians.
 * - the section's own build: `proofSection` over the image's names (the compiler runs the same
 *   function over the zone's columns), CPU ms; its size; the whole compile's CPU for scale.
 *
 * Run: `node dist/bench/signed-index.js [rounds=5] FILE...` (origin from the file name
 * `big100000.test.nsec` → `big100000.test.`; `.nsec3-nosig`: a signed file with the RRSIGs
 * below the apex left out, for a 1,000,000-name NSEC3 zone whose text with them is past V8's
 * longest string: the answer engine never validates, and the index does not read them).
 * @module
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Catalog } from '../src/answer/catalog.js';
import { Responder } from '../src/answer/respond.js';
import { compileZone } from '../src/image/compile.js';
import { H, SectionId } from '../src/image/format.js';
import { proofSection } from '../src/image/proof-index.js';
import { openImage } from '../src/image/reader.js';
import { ImageZone } from '../src/image/zone-view.js';
import { EDNS_DO, RRType } from '../src/wire/constants.js';
import { encodeMessage } from '../src/wire/encode.js';
import { Name } from '../src/wire/name.js';
import { loadZoneTextColumns } from '../src/zone/index.js';

const rounds = Number(process.argv[2] ?? 5);
const files = process.argv.slice(3);
const BASE = process.env.BASE ?? '/tmp/main-base';

interface Base {
  openImage(b: Uint8Array): unknown;
  ImageZone: new (img: unknown, onNodes?: unknown, origin?: unknown) => unknown;
  Catalog: new (zones: unknown[]) => unknown;
  Responder: new (
    c: unknown,
    o: { cache: boolean },
  ) => { respond(q: Uint8Array, ctx: { transport: 'tcp' }): unknown };
  Name: { parse(s: string): unknown };
}

async function loadBase(): Promise<Base> {
  const m = async (p: string) => import(pathToFileURL(`${BASE}/dist/src/${p}`).href);
  const [reader, view, catalog, respond, name] = await Promise.all([
    m('image/reader.js'),
    m('image/zone-view.js'),
    m('answer/catalog.js'),
    m('answer/respond.js'),
    m('wire/name.js'),
  ]);
  return {
    openImage: reader.openImage,
    ImageZone: view.ImageZone,
    Catalog: catalog.Catalog,
    Responder: respond.Responder,
    Name: name.Name,
  };
}

function query(name: string, id: number): Uint8Array {
  return Uint8Array.from(
    encodeMessage({
      id,
      flags: 0,
      questions: [{ name: Name.parse(name), type: RRType.A, class: 1 }],
      answers: [],
      authority: [],
      additional: [],
      edns: { udpSize: 1232, extendedRcode: 0, version: 0, flags: EDNS_DO, options: [] },
    }),
  );
}

const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Wall and CPU ms of `f()`. */
function timed(f: () => void): [number, number] {
  const w = performance.now();
  const c = cpu();
  f();
  return [performance.now() - w, cpu() - c];
}

function sectionOf(b: Uint8Array): { id: number; size: number } | undefined {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < dv.getUint32(H.SECTION_COUNT, true); i++) {
    const e = dv.getUint32(H.SECTION_TABLE, true) + i * 12;
    const id = dv.getUint32(e, true);
    if (id === SectionId.NSEC_INDEX || id === SectionId.NSEC3_INDEX)
      return { id, size: dv.getUint32(e + 8, true) };
  }
  return undefined;
}

const base = await loadBase();
let serial = 0;
for (const file of files) {
  const origin = `${basename(file).replace(/\.(nsec3?(-nosig)?|zone)$/, '')}.`;
  const text = readFileSync(file, 'latin1');
  const zone = loadZoneTextColumns(text, { origin: Name.parse(origin), strict: false }).zone;
  let image: Uint8Array = new Uint8Array(0);
  const [compileWall, compileCpuMs] = timed(() => {
    image = compileZone(zone);
  });
  const section = sectionOf(image);
  const old = image.slice();
  new DataView(old.buffer).setUint16(H.VERSION, 1, true);
  const img = openImage(image);
  const oldImg = base.openImage(old);
  const names = new ImageZone(img, undefined, Name.parse(origin));
  const build: number[] = [];
  const r: Record<string, number[]> = {};
  const note = (k: string, v: number) => {
    r[k] ??= [];
    r[k].push(v);
  };
  for (let round = 0; round < rounds; round++) {
    build.push(
      timed(() =>
        proofSection(names, {
          length: names.nodeCount,
          key: (i) => {
            const nd = img.dv.getUint32(img.names + i * 32, true);
            return img.bytes.subarray(nd + 1, nd + 1 + img.bytes[nd]);
          },
          rdata: (i, t) => names.firstRdataAt(i, t),
        }),
      )[1],
    );
    for (const mode of round % 2 === 0 ? ['before', 'after'] : ['after', 'before']) {
      const responder =
        mode === 'after'
          ? new Responder(new Catalog([new ImageZone(img, undefined, Name.parse(origin))]), { cache: false })
          : new base.Responder(
              new base.Catalog([new base.ImageZone(oldImg, undefined, base.Name.parse(origin))]),
              {
                cache: false,
              },
            );
      const q1 = query(`nx${round}-${Math.random().toString(36).slice(2, 8)}.${origin}`, ++serial & 0xffff);
      const q2 = query(`nx${round}b-${Math.random().toString(36).slice(2, 8)}.${origin}`, ++serial & 0xffff);
      const [w1, c1] = timed(() => responder.respond(q1, { transport: 'tcp' }));
      const [w2] = timed(() => responder.respond(q2, { transport: 'tcp' }));
      note(`${mode} first wall`, w1);
      note(`${mode} first cpu`, c1);
      note(`${mode} second wall`, w2);
    }
  }
  console.log(
    `${basename(file)}: ${img.nameCount} names, image ${(image.length / 1e6).toFixed(1)} MB, ` +
      `section ${section?.id === SectionId.NSEC3_INDEX ? 'NSEC3_INDEX' : 'NSEC_INDEX'} ${((section?.size ?? 0) / 1e6).toFixed(2)} MB ` +
      `(${(((section?.size ?? 0) / image.length) * 100).toFixed(1)}%), compile ${compileCpuMs.toFixed(0)} ms CPU ` +
      `(${compileWall.toFixed(0)} ms wall), section build ${median(build).toFixed(0)} ms CPU (median of ${rounds})`,
  );
  for (const mode of ['before', 'after'])
    console.log(
      `  ${mode.padEnd(6)} first DO query after the change: ${median(r[`${mode} first wall`]).toFixed(2)} ms wall, ` +
        `${median(r[`${mode} first cpu`]).toFixed(1)} ms CPU; the next: ${median(r[`${mode} second wall`]).toFixed(3)} ms wall ` +
        `(medians of ${rounds})`,
    );
}
