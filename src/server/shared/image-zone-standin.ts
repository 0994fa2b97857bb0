/**
 * TEMPORARY stand-in for `ImageZone` (src/image/zone-view.ts, the `izone` helper's, contract 1
 * of issue 7) so the image wiring can be tested before that lands: it rebuilds a plain Zone
 * from the image's names and RRsets (owner names come back case-folded). It reads no zone
 * text, but it does make per-record JS objects — the thing ImageZone avoids. Delete once
 * zone-view.ts is in main and point `images.ts` at `new ImageZone(image)`.
 * @module
 */
import { NAME_RECORD_SIZE, RRSET_RECORD_SIZE, SectionId } from '../../image/format.js';
import type { ZoneImage } from '../../image/reader.js';
import type { RR } from '../../wire/message.js';
import { Name } from '../../wire/name.js';
import { Zone } from '../../zone/zone.js';

function section(image: ZoneImage, id: number): number {
  const dv = image.dv;
  const count = dv.getUint32(12, true);
  const table = dv.getUint32(16, true);
  for (let i = 0; i < count; i++)
    if (dv.getUint32(table + i * 12, true) === id) return dv.getUint32(table + i * 12 + 4, true);
  throw new Error(`section ${id} missing`);
}

export function zoneFromImage(image: ZoneImage): Zone {
  const { dv, bytes } = image;
  const names = section(image, SectionId.NAMES);
  const rrsets = section(image, SectionId.RRSETS);
  const owners: Name[] = [];
  for (let i = 0; i < image.nameCount; i++) {
    const at = dv.getUint32(names + i * NAME_RECORD_SIZE, true);
    const len = bytes[at];
    owners.push(Name.fromWire(Buffer.from(bytes.subarray(at + 1, at + 1 + len)).toString('latin1')));
  }
  const records: RR[] = [];
  const total = dv.getUint32(32, true);
  for (let r = 0; r < total; r++) {
    const e = rrsets + r * RRSET_RECORD_SIZE;
    const owner = owners[dv.getUint32(e, true)];
    const type = dv.getUint16(e + 4, true);
    const count = dv.getUint16(e + 6, true);
    const ttl = dv.getUint32(e + 8, true);
    let at = dv.getUint32(e + 12, true);
    for (let k = 0; k < count; k++) {
      const n = (bytes[at] << 8) | bytes[at + 1];
      records.push({ name: owner, type, class: 1, ttl, rdata: bytes.slice(at + 2, at + 2 + n) });
      at += 2 + n;
    }
  }
  return Zone.build(Name.fromWire(Buffer.from(image.origin).toString('latin1')), records);
}
