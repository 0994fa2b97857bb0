/**
 * The reference zone-image compiler: a frozen copy of src/image/compile.ts as it was before
 * the fast compiler (main at 83ed685), kept only as the oracle of image-identity.test.ts and
 * for bench/compile.ts's before/after figures. Every template is made by the answer engine
 * (`answerQuery` + `MessageWriter`), three times per shiftable template. Do not optimise this
 * file: its worth is that it is the slow, obviously-engine-made output. A deliberate format
 * change updates both compilers (and the test says which octets differ).
 * @module
 */

import {
  type AnswerOptions,
  type AnswerResult,
  answerQuery,
  isAuthoritative,
  rcodeOfKind,
} from '../../src/answer/answer.js';
import { Catalog } from '../../src/answer/catalog.js';
import {
  ANSWER_ENTRY_SIZE,
  AnswerEntryKind,
  CNAME_CHASE_TYPES,
  Fallback,
  fnv1aString,
  H,
  HEADER_SIZE,
  MAGIC,
  NAME_RECORD_SIZE,
  NameFlag,
  NONE,
  RRSET_RECORD_SIZE,
  SECTION_ENTRY_SIZE,
  SectionId,
  T,
  TEMPLATE_HEADER_SIZE,
  TemplateFlag,
  VERSION,
} from '../../src/image/format.js';
import { RRType } from '../../src/wire/constants.js';
import { MessageWriter, Section } from '../../src/wire/encode.js';
import type { RR } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { compressibleNameOffsets } from '../../src/wire/rdata.js';
import { NodeFlag, type RRset, Zone, type ZoneNode } from '../../src/zone/zone.js';

/** Compiler options. */
export interface CompileOptions {
  /** Allocates the image's bytes (default `new Uint8Array(n)`; pass one over a SharedArrayBuffer to share it). */
  allocate?: (bytes: number) => Uint8Array;
  /** Precompute answers (default true); without, the image holds names and RRsets only. */
  templates?: boolean;
  /** The answer options the Responder runs with (its `answer` option): templates must be made with the same. */
  answer?: AnswerOptions;
}

const MAX_MESSAGE = 65535;
/** A shiftable template's pointers must stay below 0x4000 whatever the QNAME length. */
const SHIFT_LIMIT = 0x4000 - 255 - 16;
const NO_NUMBERS: number[] = [];
const NO_STRINGS: string[] = [];
/** A type no zone holds: used to ask for a node's NODATA answer. */
const ABSENT_TYPE = 65534;

/** A template, already written to the TEMPLATES section (its body is not kept). */
interface Tpl {
  /** Offset inside the TEMPLATES section. */
  at: number;
  an: number;
  ns: number;
  ar: number;
  dnsFlags: number;
  watch: string[];
  tflags: number;
}

/** A template's parts, before it is written. */
interface TplParts extends Encoded {
  dnsFlags: number;
  qnameLength: number;
  anchorLength: number;
  patches: number[];
  watch: string[];
  tflags: number;
}

/** An answer-table entry before layout. */
interface Entry {
  qtype: number;
  tpl: Tpl | undefined;
  reason: number;
}

/** Growing little-endian byte buffer. */
class Bytes {
  buf = new Uint8Array(1024);
  len = 0;
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf[this.len++] = v & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
  }
  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.len++] = v & 0xff;
    b[this.len++] = (v >>> 8) & 0xff;
    b[this.len++] = (v >>> 16) & 0xff;
    b[this.len++] = (v >>> 24) & 0xff;
  }
  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.len);
    this.len += src.length;
  }
  latin1(s: string): void {
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
  }
  pad4(): void {
    while (this.len & 3) this.u8(0);
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * Compiles a zone given as records (the control plane's path: no master-file text), through
 * the same `Zone.build` as every other zone. Throws ZoneBuildError as `Zone.build` does.
 */
export function referenceCompileRecords(
  origin: Name,
  records: Iterable<RR>,
  opts: CompileOptions = {},
): Uint8Array {
  return referenceCompileZone(Zone.build(origin, records), opts);
}

/** Compiles `zone` into an image. Never changes the zone. */
export function referenceCompileZone(zone: Zone, opts: CompileOptions = {}): Uint8Array {
  const nodes = canonicalOrder(zone);
  const ctx = new TemplateBuilder(zone, opts.answer ?? {});
  const perNode: { entries: Entry[]; nodata: Tpl | undefined; referral: Tpl | undefined }[] = [];
  const withTemplates = opts.templates !== false;
  for (const node of nodes)
    perNode.push(withTemplates ? ctx.forNode(node) : { entries: [], nodata: undefined, referral: undefined });

  // Sections, each built relative to its own start, then laid out.
  const originKey = zone.origin.key;
  const names = new Bytes();
  const namedata = new Bytes();
  const rrsets = new Bytes();
  const rdata = new Bytes();
  const answers = new Bytes();
  const templates = ctx.out;

  // Hash table: open addressing, load ≤ 1/2.
  let slots = 8;
  while (slots < nodes.length * 2) slots *= 2;
  const hash = new Uint32Array(slots);
  for (let i = 0; i < nodes.length; i++) {
    let s = fnv1aString(nodes[i].name.key) & (slots - 1);
    while (hash[s] !== 0) s = (s + 1) & (slots - 1);
    hash[s] = i + 1;
  }

  let rrsetCount = 0;
  let answerCount = 0;
  // Offsets of the variable sections are known only after layout: record fix-ups.
  const namedataRel: number[] = [];
  const rdataRel: number[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    namedataRel.push(namedata.len);
    namedata.u8(node.name.key.length);
    namedata.latin1(node.name.key);
    for (const set of node.rrsets) {
      rdataRel.push(rdata.len);
      for (const d of set.rdata) {
        rdata.u8(d.length >> 8);
        rdata.u8(d.length & 0xff);
        rdata.bytes(d);
      }
    }
  }
  namedata.pad4();
  rdata.pad4();
  // SPELLING (only when some owner is not spelled in lower case): per name an offset, then names.
  const spelled = nodes.some((n) => n.name.wire !== n.name.key);
  const spellNames = new Bytes();
  const spellRel: number[] = [];
  if (spelled)
    for (const node of nodes) {
      if (node.name.wire === node.name.key) spellRel.push(-1);
      else {
        spellRel.push(spellNames.len);
        spellNames.u8(node.name.wire.length);
        spellNames.latin1(node.name.wire);
      }
    }
  spellNames.pad4();

  // Layout.
  const sectionIds: number[] = [
    SectionId.ORIGIN,
    SectionId.NAMES,
    SectionId.NAMEDATA,
    SectionId.HASH,
    SectionId.RRSETS,
    SectionId.RDATA,
    SectionId.ANSWERS,
    SectionId.TEMPLATES,
  ];
  if (spelled) sectionIds.push(SectionId.SPELLING);
  const totalRrsets = nodes.reduce((n, x) => n + x.rrsets.length, 0);
  const totalEntries = perNode.reduce((n, x) => n + x.entries.length, 0);
  const sizes = [
    (originKey.length + 3) & ~3,
    nodes.length * NAME_RECORD_SIZE,
    namedata.len,
    8 + slots * 4,
    totalRrsets * RRSET_RECORD_SIZE,
    rdata.len,
    totalEntries * ANSWER_ENTRY_SIZE,
    templates.len,
  ];
  if (spelled) sizes.push(nodes.length * 4 + spellNames.len);
  // A signed zone's proof index (format version 2), last.
  const proof = referenceProofSection(zone.apex, nodes, zone.origin.labelCount);
  if (proof !== undefined) {
    sectionIds.push(proof.id);
    sizes.push(proof.bytes.length);
  }
  const starts: number[] = [];
  let at = HEADER_SIZE + sectionIds.length * SECTION_ENTRY_SIZE;
  for (const s of sizes) {
    starts.push(at);
    at += s;
  }
  const total = at;
  const [oOrigin, oNames, oNamedata, oHash, oRrsets, oRdata, oAnswers, oTemplates] = starts;
  const absTpl = (t: Tpl | undefined): number => (t === undefined ? NONE : oTemplates + t.at);

  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    const p = perNode[i];
    let flags = node.flags & 31;
    if (node.get(RRType.CNAME)) flags |= NameFlag.HAS_CNAME;
    if (node.name.isWildcard) flags |= NameFlag.IS_WILDCARD;
    if (node.rrsets.length === 0) flags |= NameFlag.EMPTY;
    names.u32(oNamedata + namedataRel[i]);
    names.u32(flags);
    names.u32(rrsetCount);
    names.u32(node.rrsets.length);
    names.u32(answerCount);
    names.u32(p.entries.length);
    names.u32(absTpl(p.nodata));
    names.u32(absTpl(p.referral));
    for (const set of node.rrsets) {
      rrsets.u32(i);
      rrsets.u16(set.type);
      rrsets.u16(set.rdata.length);
      rrsets.u32(set.ttl);
      rrsets.u32(oRdata + rdataRel[rrsetCount]);
      rrsetCount++;
    }
    for (const e of p.entries) {
      answers.u16(e.qtype);
      answers.u8(e.tpl ? AnswerEntryKind.TEMPLATE : AnswerEntryKind.FALLBACK);
      answers.u8(e.tpl ? 0 : e.reason);
      answers.u32(absTpl(e.tpl));
      answerCount++;
    }
  }

  const out = (opts.allocate ?? ((n: number) => new Uint8Array(n)))(total);
  if (out.length !== total) throw new RangeError(`allocator returned ${out.length} octets, ${total} asked`);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint32(H.MAGIC, MAGIC, true);
  dv.setUint16(H.VERSION, VERSION, true);
  dv.setUint16(H.HEADER_SIZE, HEADER_SIZE, true);
  dv.setUint32(H.TOTAL_LENGTH, total, true);
  dv.setUint32(H.SECTION_COUNT, sectionIds.length, true);
  dv.setUint32(H.SECTION_TABLE, HEADER_SIZE, true);
  dv.setUint16(H.CLASS, zone.class, true);
  dv.setUint16(H.ORIGIN_LENGTH, originKey.length, true);
  dv.setUint32(H.SERIAL, zone.serial, true);
  dv.setUint32(H.NAME_COUNT, nodes.length, true);
  dv.setUint32(H.RRSET_COUNT, totalRrsets, true);
  dv.setUint32(H.RECORD_COUNT, zone.recordCount, true);
  dv.setUint32(H.NEGATIVE_TEMPLATE, absTpl(ctx.negative), true);
  dv.setUint32(H.FLAGS, withTemplates ? 1 : 0, true);
  for (let s = 0; s < sectionIds.length; s++) {
    const e = HEADER_SIZE + s * SECTION_ENTRY_SIZE;
    dv.setUint32(e, sectionIds[s], true);
    dv.setUint32(e + 4, starts[s], true);
    dv.setUint32(e + 8, sizes[s], true);
  }
  for (let i = 0; i < originKey.length; i++) out[oOrigin + i] = originKey.charCodeAt(i);
  out.set(names.view(), oNames);
  out.set(namedata.view(), oNamedata);
  dv.setUint32(oHash, slots, true);
  dv.setUint32(oHash + 4, 0, true);
  for (let s = 0; s < slots; s++) dv.setUint32(oHash + 8 + s * 4, hash[s], true);
  out.set(rrsets.view(), oRrsets);
  out.set(rdata.view(), oRdata);
  out.set(answers.view(), oAnswers);
  // Template bodies hold absolute message offsets only; the record itself is position-free.
  out.set(templates.view(), oTemplates);
  if (spelled) {
    const oSpell = starts[8];
    const oSpellNames = oSpell + nodes.length * 4;
    for (let i = 0; i < nodes.length; i++)
      dv.setUint32(oSpell + i * 4, spellRel[i] < 0 ? NONE : oSpellNames + spellRel[i], true);
    out.set(spellNames.view(), oSpellNames);
  }
  if (proof !== undefined) out.set(proof.bytes, starts[starts.length - 1]);
  return out;
}

/**
 * NSEC_INDEX / NSEC3_INDEX of a signed zone (DNSKEY and RRSIG at the apex), the plain way:
 * NSEC owners' indexes in name order; or the chain of the apex's first usable NSEC3PARAM
 * (SHA-1, salt length matching), its owners one label below the apex with a 32-character
 * base32hex first label, sorted by the hash's hex text.
 */
function referenceProofSection(
  apex: ZoneNode,
  nodes: ZoneNode[],
  apexLabels: number,
): { id: number; bytes: Uint8Array } | undefined {
  if (!apex.get(RRType.DNSKEY) || !apex.get(RRType.RRSIG)) return undefined;
  const param = (apex.get(RRType.NSEC3PARAM)?.rdata ?? []).find(
    (rd) => rd.length >= 5 && rd[0] === 1 && rd.length === 5 + rd[4],
  );
  if (param === undefined) {
    const idx = nodes.flatMap((n, i) => (n.get(RRType.NSEC) ? [i] : []));
    const b = Buffer.alloc(4 + idx.length * 4);
    b.writeUInt32LE(idx.length, 0);
    for (let k = 0; k < idx.length; k++) b.writeUInt32LE(idx[k], 4 + k * 4);
    return { id: SectionId.NSEC_INDEX, bytes: new Uint8Array(b) };
  }
  const salt = Buffer.from(param.subarray(5));
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  const chain: { hex: string; index: number }[] = [];
  nodes.forEach((n, index) => {
    const rd = n.get(RRType.NSEC3)?.rdata[0];
    if (rd === undefined || n.name.labelCount !== apexLabels + 1) return;
    if (rd.length < 5 || rd[0] !== 1 || rd[2] !== param[2] || rd[3] !== param[3] || rd.length < 5 + rd[4])
      return;
    if (!Buffer.from(rd.subarray(5, 5 + rd[4])).equals(salt)) return;
    const label = n.name.key.slice(1, 1 + n.name.key.charCodeAt(0)).toLowerCase();
    if (label.length !== 32 || [...label].some((c) => !alphabet.includes(c))) return;
    const bits = [...label].map((c) => alphabet.indexOf(c).toString(2).padStart(5, '0')).join('');
    let hex = '';
    for (let i = 0; i < 160; i += 8)
      hex += parseInt(bits.slice(i, i + 8), 2)
        .toString(16)
        .padStart(2, '0');
    chain.push({ hex, index });
  });
  chain.sort((a, b) => (a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0));
  const at0 = 8 + ((salt.length + 3) & ~3);
  const b = Buffer.alloc(at0 + chain.length * 24);
  b.writeUInt32LE(chain.length, 0);
  b.writeUInt16LE((param[2] << 8) | param[3], 4);
  b[6] = 1;
  b[7] = salt.length;
  salt.copy(b, 8);
  chain.forEach((e, k) => {
    Buffer.from(e.hex, 'hex').copy(b, at0 + k * 24);
    b.writeUInt32LE(e.index, at0 + k * 24 + 20);
  });
  return { id: SectionId.NSEC3_INDEX, bytes: new Uint8Array(b) };
}

/** Writes a template record at the end of `b`; returns its offset. */
function writeTemplate(b: Bytes, t: TplParts): number {
  const start = b.len;
  let watchBytes = 0;
  for (const w of t.watch) watchBytes += w.length;
  const bodyOffset = (TEMPLATE_HEADER_SIZE + t.patches.length * 2 + watchBytes + 3) & ~3;
  const size = (bodyOffset + t.body.length + 3) & ~3;
  b.ensure(size);
  b.u32(size);
  b.u32(bodyOffset);
  b.u32(t.requiredLength);
  b.u32(t.body.length);
  b.u16(t.an);
  b.u16(t.ns);
  b.u16(t.arRequired);
  b.u16(t.arOptional);
  b.u16(t.dnsFlags);
  b.u8(t.qnameLength);
  b.u8(t.anchorLength);
  b.u16(t.patches.length);
  b.u8(t.watch.length);
  b.u8(t.tflags);
  for (const p of t.patches) b.u16(p);
  for (const w of t.watch) b.latin1(w);
  const buf = b.buf;
  while (b.len < start + bodyOffset) buf[b.len++] = 0;
  const body = t.body;
  const n = body.length;
  if (n <= 64) for (let i = 0; i < n; i++) buf[b.len + i] = body[i];
  else buf.set(body, b.len);
  b.len += n;
  while (b.len < start + size) buf[b.len++] = 0;
  return start;
}

/** An encoded answer: the message after the question, and its parts. */
interface Encoded {
  body: Uint8Array;
  requiredLength: number;
  an: number;
  ns: number;
  arRequired: number;
  arOptional: number;
}

/** Encodes `result` as respond.ts does, without a size limit or OPT; undefined when over 65535 octets. */
function encode(qname: Name, qtype: number, result: AnswerResult): Encoded | undefined {
  const w = new MessageWriter(MAX_MESSAGE);
  w.header(0, 0);
  if (!w.question({ name: qname, type: qtype, class: 1 })) return undefined;
  const put = (section: Section, sets: RRset[]): boolean => {
    for (const s of sets) if (!w.rrset(section, s.name, s.type, s.class, s.ttl, s.rdata)) return false;
    return true;
  };
  if (!put(Section.Answer, result.answer) || !put(Section.Authority, result.authority)) return undefined;
  if (!put(Section.Additional, result.glue)) return undefined;
  const requiredEnd = w.length;
  if (!put(Section.Additional, result.additional)) return undefined;
  const msg = w.finish();
  const qEnd = 12 + qname.length + 4;
  const count = (at: number): number => (msg[at] << 8) | msg[at + 1];
  let arRequired = 0;
  for (const g of result.glue) arRequired += g.rdata.length;
  return {
    body: msg.subarray(qEnd),
    requiredLength: requiredEnd - qEnd,
    an: count(6),
    ns: count(8),
    arRequired,
    arOptional: count(10) - arRequired,
  };
}

function dnsFlagsOf(result: AnswerResult): number {
  return (isAuthoritative(result) ? 0x0400 : 0) | rcodeOfKind(result.kind);
}

function isExternal(result: AnswerResult): boolean {
  return result.absent.length > 0 || result.zones.length > 1;
}

/** The last label of `key`'s part above the suffix `anchor` (key strictly under anchor). */
function labelBelow(key: string, anchorLength: number): string {
  const stop = key.length - anchorLength;
  let i = 0;
  let last = 0;
  while (i < stop) {
    last = i;
    i += key.charCodeAt(i) + 1;
  }
  return key.slice(last, stop);
}

function isUnder(key: string, anchor: string): boolean {
  if (key.length <= anchor.length || !key.endsWith(anchor)) return false;
  let i = 0;
  const stop = key.length - anchor.length;
  while (i < stop) i += key.charCodeAt(i) + 1;
  return i === stop;
}

/** Every name a response of `result` writes that the encoder may compress (owners and RFC 1035 RDATA names). */
function namesOf(result: AnswerResult): string[] {
  const out: string[] = [];
  for (const list of [result.answer, result.authority, result.glue, result.additional])
    for (const set of list) {
      out.push(set.name.key);
      for (const d of set.rdata)
        for (const off of compressibleNameOffsets(set.type, d)) {
          let p = off;
          while (p < d.length && d[p] !== 0) p += d[p] + 1;
          let s = '';
          for (let k = off; k <= p && k < d.length; k++) {
            const c = d[k];
            s += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
          }
          out.push(s);
        }
    }
  return out;
}

/** Builds the templates of one zone. */
class TemplateBuilder {
  readonly zone: Zone;
  readonly catalog: Catalog;
  /** The TEMPLATES section, written as templates are made. */
  readonly out = new Bytes();
  readonly negative: Tpl | undefined;
  readonly #negativeWatch: Set<string>;

  readonly #answerOpts: AnswerOptions;

  constructor(zone: Zone, answerOpts: AnswerOptions) {
    this.zone = zone;
    this.#answerOpts = answerOpts;
    this.catalog = new Catalog([zone]);
    this.negative = this.#negativeTemplate();
    this.#negativeWatch = new Set(this.negative?.watch ?? []);
  }

  #place(parts: TplParts): Tpl {
    const at = writeTemplate(this.out, parts);
    return {
      at,
      an: parts.an,
      ns: parts.ns,
      ar: parts.arRequired + parts.arOptional,
      dnsFlags: parts.dnsFlags,
      watch: parts.watch,
      tflags: parts.tflags,
    };
  }

  /** Clears the RCODE of a placed template (negative bodies serve NXDOMAIN and NODATA). */
  #clearRcode(t: Tpl): void {
    t.dnsFlags &= ~0x000f;
    this.out.buf[t.at + T.DNS_FLAGS] = t.dnsFlags & 0xff;
    this.out.buf[t.at + T.DNS_FLAGS + 1] = t.dnsFlags >> 8;
  }

  #answer(name: Name, qtype: number): AnswerResult {
    return answerQuery(this.catalog, name, qtype, this.#answerOpts);
  }

  /** A template for exactly `name` (the QNAME it will be used for). */
  #exact(name: Name, qtype: number): Entry {
    const result = this.#answer(name, qtype);
    const enc = encode(name, qtype, result);
    if (!enc) return { qtype, tpl: undefined, reason: Fallback.TOO_LARGE };
    const tpl = this.#place({
      body: enc.body,
      requiredLength: enc.requiredLength,
      an: enc.an,
      ns: enc.ns,
      arRequired: enc.arRequired,
      arOptional: enc.arOptional,
      dnsFlags: dnsFlagsOf(result),
      qnameLength: name.length,
      anchorLength: name.length,
      patches: NO_NUMBERS,
      watch: NO_STRINGS,
      tflags: isExternal(result) ? TemplateFlag.EXTERNAL : 0,
    });
    return { qtype, tpl, reason: 0 };
  }

  /**
   * A template for any QNAME under `anchor` that the engine answers the same way: built with
   * placeholder QNAMEs (labels of octets 0xfe/0xff no zone data holds). `solve` maps the
   * placeholder to the engine's result for it.
   */
  #shiftable(anchor: Name, qtype: number, solve: (q: Name) => AnswerResult): Entry {
    const a = anchor.wire;
    if (a.length + 5 > 255) return { qtype, tpl: undefined, reason: Fallback.UNPATCHABLE };
    const p1 = Name.fromWire(`\x01\xff${a}`);
    const p2 = Name.fromWire(`\x02\xff\xff${a}`);
    const p3 = Name.fromWire(`\x02\xff\xfe\x01\xfe${a}`);
    const r1 = solve(p1);
    const e1 = encode(p1, qtype, r1);
    if (!e1) return { qtype, tpl: undefined, reason: Fallback.TOO_LARGE };
    const tpl: TplParts = {
      body: e1.body.slice(),
      requiredLength: e1.requiredLength,
      an: e1.an,
      ns: e1.ns,
      arRequired: e1.arRequired,
      arOptional: e1.arOptional,
      dnsFlags: dnsFlagsOf(r1),
      qnameLength: p1.length,
      anchorLength: a.length,
      patches: [],
      watch: [],
      tflags: isExternal(r1) ? TemplateFlag.EXTERNAL : 0,
    };
    // Labels just below the anchor of every name the response writes: a QNAME through one of
    // them would be compressed against by the encoder, so the reader falls back for it.
    const watch = new Set<string>();
    for (const key of namesOf(r1))
      if (key !== p1.key && isUnder(key, anchor.key)) watch.add(labelBelow(key, a.length));
    if (watch.size > 255 || 12 + 255 + 4 + e1.body.length > SHIFT_LIMIT)
      return { qtype, tpl: this.#place(tpl), reason: 0 };
    tpl.watch = [...watch];
    const e2 = encode(p2, qtype, solve(p2));
    const e3 = encode(p3, qtype, solve(p3));
    const patches = e2 && e3 ? findPatches(e1.body, e2.body) : undefined;
    if (
      patches !== undefined &&
      e3 !== undefined &&
      e3.requiredLength === e1.requiredLength &&
      sameBytes(applyPatches(tpl.body, patches, p3.length - p1.length), e3.body)
    ) {
      tpl.patches = patches;
      tpl.tflags |= TemplateFlag.SHIFTABLE;
    }
    return { qtype, tpl: this.#place(tpl), reason: 0 };
  }

  #negativeTemplate(): Tpl | undefined {
    const zone = this.zone;
    const origin = zone.origin.toLowerCase();
    // The engine's NXDOMAIN for a name under the apex (the placeholder itself) when there is
    // no wildcard or DNAME at the apex; else the apex's NODATA. Either is the SOA with the negative TTL
    // in authority, the body of both NXDOMAIN and NODATA (the reader sets the RCODE).
    const atApex = (zone.apex.flags & (NodeFlag.WILDCARD_CHILD | NodeFlag.DNAME)) !== 0;
    const e = this.#shiftable(origin, ABSENT_TYPE, (q) => this.#answer(atApex ? origin : q, ABSENT_TYPE));
    if (!e.tpl) return undefined;
    // Only a plain SOA-in-authority answer will do (an apex CNAME would chase instead).
    if (e.tpl.an !== 0 || e.tpl.ns !== 1 || e.tpl.ar !== 0) return undefined;
    this.#clearRcode(e.tpl);
    return e.tpl;
  }

  /** A NODATA template valid for exactly `node`'s name. */
  #nodataFor(node: ZoneNode, qtype = ABSENT_TYPE): Tpl | undefined {
    const neg = this.negative;
    const key = node.name.key;
    const originKey = this.zone.origin.key;
    if (neg && (neg.tflags & TemplateFlag.SHIFTABLE) !== 0) {
      if (key === originKey || !this.#negativeWatch.has(labelBelow(key, originKey.length))) return neg;
    }
    // The shared one would compress differently for this name: one of its own.
    const e = this.#exact(node.name.toLowerCase(), qtype);
    if (!e.tpl) return undefined;
    this.#clearRcode(e.tpl);
    return e.tpl;
  }

  /** Referral templates of cuts, by cut name key (built once each). */
  readonly #referrals = new Map<string, Tpl | undefined>();

  #referralOf(cut: ZoneNode): Tpl | undefined {
    const key = cut.name.key;
    if (!this.#referrals.has(key)) {
      const name = cut.name.toLowerCase();
      this.#referrals.set(key, this.#shiftable(name, RRType.A, (q) => this.#answer(q, RRType.A)).tpl);
    }
    return this.#referrals.get(key);
  }

  /**
   * A name below a cut (glue, mostly) whose label under the cut is one the cut's referral
   * writes (its NS target): asked by its own name, the engine's referral compresses against
   * the question; an exact referral of its own keeps it off the fallback path.
   */
  #glueReferral(node: ZoneNode): Tpl | undefined {
    const zone = this.zone;
    const depth = node.name.labelCount;
    let cut: ZoneNode | undefined;
    for (let labels = zone.origin.labelCount + 1; labels < depth; labels++) {
      const n = zone.nodes.get(node.name.suffix(labels).key);
      if (n === undefined) return undefined;
      if ((n.flags & NodeFlag.DNAME) !== 0 && (n.flags & NodeFlag.DELEGATION) === 0) return undefined;
      if ((n.flags & NodeFlag.DELEGATION) !== 0) {
        cut = n;
        break;
      }
    }
    if (cut === undefined) return undefined;
    const shared = this.#referralOf(cut);
    if (shared === undefined || !shared.watch.includes(labelBelow(node.name.key, cut.name.key.length)))
      return undefined;
    const e = this.#exact(node.name.toLowerCase(), RRType.A);
    return e.tpl !== undefined && e.tpl.dnsFlags === shared.dnsFlags ? e.tpl : undefined;
  }

  forNode(node: ZoneNode): { entries: Entry[]; nodata: Tpl | undefined; referral: Tpl | undefined } {
    const entries: Entry[] = [];
    const res = { entries, nodata: undefined as Tpl | undefined, referral: undefined as Tpl | undefined };
    if ((node.flags & NodeFlag.BELOW_CUT) !== 0) {
      res.referral = this.#glueReferral(node);
      return res;
    }
    const name = node.name.toLowerCase();
    if ((node.flags & NodeFlag.DELEGATION) !== 0) {
      res.referral = this.#referralOf(node);
      // A wildcard owning NS refers when asked by its own name, and is plain data when it
      // stands in for another name (answer.ts solveNode): it needs both.
      if (node.name.isWildcard) return { ...this.#dataEntries(node, name), referral: res.referral };
      if (node.get(RRType.DS)) entries.push(this.#exact(name, RRType.DS));
      // Only DS is answered from a cut's own data: its NODATA is the one for DS.
      if (!node.get(RRType.CNAME) && !node.get(RRType.DS)) res.nodata = this.#nodataFor(node, RRType.DS);
      return res;
    }
    return this.#dataEntries(node, name);
  }

  #dataEntries(
    node: ZoneNode,
    name: Name,
  ): { entries: Entry[]; nodata: Tpl | undefined; referral: Tpl | undefined } {
    const entries: Entry[] = [];
    const res = { entries, nodata: undefined as Tpl | undefined, referral: undefined as Tpl | undefined };
    const wild = node.name.isWildcard ? node.name.parent().toLowerCase() : undefined;
    const make = (qtype: number): Entry =>
      wild !== undefined
        ? this.#shiftable(wild, qtype, (q) => this.#answer(q, qtype))
        : this.#exact(name, qtype);
    if (node.rrsets.length === 0) {
      res.nodata = wild !== undefined ? this.negative : this.#nodataFor(node);
      return res;
    }
    let lowest = node.rrsets[0];
    for (const set of node.rrsets) {
      entries.push(make(set.type));
      if (set.type < lowest.type) lowest = set;
    }
    // RFC 8482 answer to ANY: the lowest type's RRset, the same bytes as asking for it.
    const any = entries.find((e) => e.qtype === lowest.type)!;
    entries.push({ qtype: RRType.ANY, tpl: any.tpl, reason: any.reason });
    if (node.get(RRType.CNAME)) {
      for (const t of CNAME_CHASE_TYPES) if (!node.get(t)) entries.push(make(t));
    } else if (wild !== undefined) {
      res.nodata = this.negative;
    } else {
      res.nodata = this.#nodataFor(node);
    }
    entries.sort((x, y) => x.qtype - y.qtype);
    return res;
  }
}

/**
 * The zone's nodes in RFC 4034 §6.1 canonical order. Sorting with a precomputed key (labels
 * right to left, each octet + 1, label ends as 0) compares plain strings, several times faster
 * than comparing names label by label.
 */
function canonicalOrder(zone: Zone): ZoneNode[] {
  const items: { key: string; node: ZoneNode }[] = [];
  for (const node of zone.nodes.values()) {
    const k = node.name.key;
    const starts: number[] = [];
    for (let i = 0; k.charCodeAt(i) !== 0; i += k.charCodeAt(i) + 1) starts.push(i);
    let key = '';
    for (let j = starts.length - 1; j >= 0; j--) {
      const p = starts[j];
      const n = k.charCodeAt(p);
      for (let c = p + 1; c <= p + n; c++) key += String.fromCharCode(k.charCodeAt(c) + 1);
      key += '\x00';
    }
    items.push({ key, node });
  }
  items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return items.map((x) => x.node);
}

/** Offsets in `a` of the compression pointers whose target differs by one in `b`. */
function findPatches(a: Uint8Array, b: Uint8Array): number[] | undefined {
  if (a.length !== b.length) return undefined;
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    // The pointer starts here (its high octet changed by a carry) or one octet before.
    let p = i;
    if (!((a[i] & 0xc0) === 0xc0 && i + 1 < a.length && ptr(b, i) === ptr(a, i) + 1)) p = i - 1;
    if (p < 0 || (a[p] & 0xc0) !== 0xc0 || ptr(b, p) !== ptr(a, p) + 1) return undefined;
    out.push(p);
    i = p + 1;
  }
  return out;
}

function ptr(b: Uint8Array, p: number): number {
  return ((b[p] & 0x3f) << 8) | b[p + 1];
}

function applyPatches(body: Uint8Array, patches: number[], delta: number): Uint8Array {
  const out = body.slice();
  for (const p of patches) {
    const t = ptr(body, p) + delta;
    out[p] = 0xc0 | (t >> 8);
    out[p + 1] = t & 0xff;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
