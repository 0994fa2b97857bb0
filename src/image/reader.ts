/**
 * Reading compiled zone images: validation at load (`openImage`), zone lookup by longest
 * suffix (`ImageCatalog`), and responses written by copying templates (`respondFromImage`).
 * No per-record JS objects: the query path reads the image's bytes and a few scratch arrays.
 *
 * The lookup mirrors answer.ts's steps only as far as choosing a template (exact name, cut,
 * DNAME, closest encloser, wildcard); every answer itself was made by answer.ts at compile
 * time. Whatever the image does not hold comes back as a fallback reason (format.ts
 * `Fallback`) and the caller answers with the engine.
 * @module
 */

import { QueryView } from '../wire/query-view.js';
import {
  ANSWER_ENTRY_SIZE,
  AnswerEntryKind,
  Fallback,
  fnv1a,
  H,
  HEADER_SIZE,
  MAGIC,
  N,
  NAME_RECORD_SIZE,
  NameFlag,
  NONE,
  R,
  RRSET_RECORD_SIZE,
  SECTION_ENTRY_SIZE,
  SectionId,
  T,
  TEMPLATE_HEADER_SIZE,
  TemplateFlag,
  VERSION,
} from './format.js';
import { checkProofSection } from './proof-index.js';

/** Why an image was refused at load. */
export class ImageFormatError extends Error {
  readonly code = 'IMAGE_ERR_FORMAT';
  constructor(message: string) {
    super(`zone image: ${message}`);
    this.name = 'ImageFormatError';
  }
}

/** A validated image. Construct with `openImage`. */
export class ZoneImage {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  /** The origin, case-folded wire form (a view into the image). */
  readonly origin: Uint8Array;
  readonly nameCount: number;
  readonly names: number;
  /** Offset of the RRSETS section. */
  readonly rrsets: number;
  /** Offset of the SPELLING section's offset table, or -1 when the image has none. */
  readonly spelling: number;
  readonly hash: number;
  readonly slotMask: number;
  readonly answers: number;
  readonly negative: number;
  readonly serial: number;
  readonly recordCount: number;
  /** Offset of the proof index section (NSEC_INDEX or NSEC3_INDEX: proof-index.ts), or -1. */
  readonly proofs: number;
  /** Which proof index `proofs` is (its section id), 0 when none. */
  readonly proofsId: number;

  /** @internal use openImage */
  constructor(
    bytes: Uint8Array,
    f: Omit<ZoneImage, 'bytes' | 'dv' | 'origin' | 'spellingOf'> & { originAt: number; originLength: number },
  ) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.origin = bytes.subarray(f.originAt, f.originAt + f.originLength);
    this.nameCount = f.nameCount;
    this.names = f.names;
    this.rrsets = f.rrsets;
    this.spelling = f.spelling;
    this.hash = f.hash;
    this.slotMask = f.slotMask;
    this.answers = f.answers;
    this.negative = f.negative;
    this.serial = f.serial;
    this.recordCount = f.recordCount;
    this.proofs = f.proofs;
    this.proofsId = f.proofsId;
  }

  /**
   * Where the zone's own spelling of name `i` is (its length octet), or -1 when the folded
   * name in NAMEDATA is the spelling (or the image has no SPELLING section).
   */
  spellingOf(i: number): number {
    if (this.spelling < 0) return -1;
    const at = this.dv.getUint32(this.spelling + i * 4, true);
    return at === NONE ? -1 : at;
  }
}

/** Options of `openImage`. */
export interface OpenImageOptions {
  /**
   * The same octets passed a full `openImage` before in this process (an image reopened from
   * an append-only pack after it was let go, `LazyImageZone`): only the header and section
   * table are read again, not every name, RRset, answer and template. Never set it for bytes
   * that were not validated.
   */
  validated?: boolean;
}

/**
 * Validates `bytes` as a version-2 image and returns a reader over it. Every offset the
 * reader will follow is checked here, so reading never leaves the image; throws
 * ImageFormatError otherwise. Cost: one pass over the image (the header only, with
 * `validated`).
 */
export function openImage(bytes: Uint8Array, opts?: OpenImageOptions): ZoneImage {
  const deep = opts?.validated !== true;
  if (!deep) {
    // The header and section table read without allocating (a reopen is on a query's path);
    // anything unexpected takes the full path below, which says what is wrong.
    const quick = reopenImage(bytes);
    if (quick !== undefined) return quick;
  }
  const fail = (m: string): never => {
    throw new ImageFormatError(m);
  };
  const len = bytes.length;
  if (len < HEADER_SIZE) fail('shorter than its header');
  // Octet reads, not a DataView: the walks below read millions of fields of a big image
  // (2-3× faster on a 1,000,000-record image). Every field is bounds-checked before it is read.
  const u32 = (o: number): number => le32(bytes, o);
  const u16 = (o: number): number => bytes[o] | (bytes[o + 1] << 8);
  if (u32(H.MAGIC) !== MAGIC) fail('bad magic');
  if (u16(H.VERSION) !== VERSION) fail(`version ${u16(H.VERSION)} is not supported`);
  if (u16(H.HEADER_SIZE) < HEADER_SIZE) fail('bad header size');
  if (u32(H.TOTAL_LENGTH) !== len) fail(`length ${len} differs from the header's ${u32(H.TOTAL_LENGTH)}`);
  const count = u32(H.SECTION_COUNT);
  const table = u32(H.SECTION_TABLE);
  if (count > 64 || table < HEADER_SIZE || table + count * SECTION_ENTRY_SIZE > len)
    fail('bad section table');
  const sec = new Map<number, { at: number; size: number }>();
  for (let i = 0; i < count; i++) {
    const e = table + i * SECTION_ENTRY_SIZE;
    const id = u32(e);
    const at = u32(e + 4);
    const size = u32(e + 8);
    if (at > len || size > len - at) fail(`section ${id} out of bounds`);
    if (sec.has(id)) fail(`section ${id} twice`);
    sec.set(id, { at, size });
  }
  const need = (id: number): { at: number; size: number } => sec.get(id) ?? fail(`section ${id} missing`);
  const origin = need(SectionId.ORIGIN);
  const names = need(SectionId.NAMES);
  const namedata = need(SectionId.NAMEDATA);
  const hash = need(SectionId.HASH);
  const rrsets = need(SectionId.RRSETS);
  const rdata = need(SectionId.RDATA);
  const answers = need(SectionId.ANSWERS);
  const templates = need(SectionId.TEMPLATES);
  const inside = (o: number, n: number, s: { at: number; size: number }): boolean =>
    o >= s.at && n >= 0 && o + n <= s.at + s.size;

  const originLength = u16(H.ORIGIN_LENGTH);
  if (originLength < 1 || originLength > 255 || !inside(origin.at, originLength, origin)) fail('bad origin');
  checkName(bytes, origin.at, originLength) || fail('origin is not a name');

  // Templates: walk the section; remember every start. Starts are 4-aligned from the
  // section's start (sizes are multiples of 4): one bit per 4 octets (a Set of a big zone's
  // millions of starts cost most of the validation).
  const starts = new Uint8Array(deep ? (templates.size >>> 5) + 1 : 0);
  for (let t = templates.at; deep && t < templates.at + templates.size; ) {
    if (!inside(t, TEMPLATE_HEADER_SIZE, templates)) fail('template header out of bounds');
    const size = u32(t + T.SIZE);
    const body = u32(t + T.BODY);
    const full = u32(t + T.FULL_LENGTH);
    const req = u32(t + T.REQUIRED_LENGTH);
    const patches = u16(t + T.PATCH_COUNT);
    const watches = bytes[t + T.WATCH_COUNT];
    const qlen = bytes[t + T.QNAME_LENGTH];
    const anchor = bytes[t + T.ANCHOR_LENGTH];
    if (size < TEMPLATE_HEADER_SIZE || size % 4 !== 0 || !inside(t, size, templates))
      fail('bad template size');
    if (
      body < TEMPLATE_HEADER_SIZE + patches * 2 ||
      body > size ||
      full > size - body ||
      req > full ||
      full > 65535
    )
      fail('bad template lengths');
    if (qlen < 1 || anchor < 1 || anchor > qlen) fail('bad template QNAME length');
    let w = t + TEMPLATE_HEADER_SIZE + patches * 2;
    for (let i = 0; i < watches; i++) {
      if (w >= t + body) fail('watch labels out of bounds');
      const l = bytes[w];
      if (l < 1 || l > 63 || w + 1 + l > t + body) fail('bad watch label');
      w += 1 + l;
    }
    for (let i = 0; i < patches; i++) {
      const p = u16(t + TEMPLATE_HEADER_SIZE + i * 2);
      if (p + 2 > full || (bytes[t + body + p] & 0xc0) !== 0xc0) fail('bad patch offset');
    }
    const k = (t - templates.at) >>> 2;
    starts[k >>> 3] |= 1 << (k & 7);
    t += size;
  }
  const isStart = (o: number): boolean => {
    const d = o - templates.at;
    if (d < 0 || d >= templates.size || (d & 3) !== 0) return false;
    const k = d >>> 2;
    return (starts[k >>> 3] & (1 << (k & 7))) !== 0;
  };
  const tplRef = (o: number, what: string): void => {
    if (deep && o !== NONE && !isStart(o)) fail(`${what} does not point at a template`);
  };

  const nameCount = u32(H.NAME_COUNT);
  if (nameCount * NAME_RECORD_SIZE !== names.size) fail('name table size');
  const rrsetCount = u32(H.RRSET_COUNT);
  if (rrsetCount * RRSET_RECORD_SIZE !== rrsets.size) fail('RRset table size');
  const answerCount = answers.size / ANSWER_ENTRY_SIZE;
  if (!Number.isInteger(answerCount)) fail('answer table size');
  for (let i = 0; deep && i < nameCount; i++) {
    const r = names.at + i * NAME_RECORD_SIZE;
    const nd = u32(r + N.NAMEDATA);
    if (!inside(nd, 1, namedata) || !inside(nd + 1, bytes[nd], namedata)) fail(`name ${i} out of bounds`);
    if (!checkName(bytes, nd + 1, bytes[nd])) fail(`name ${i} is not a name`);
    const rf = u32(r + N.RRSET_FIRST);
    const rc = u32(r + N.RRSET_COUNT);
    if (rf > rrsetCount || rc > rrsetCount - rf) fail(`name ${i}: RRsets out of range`);
    const af = u32(r + N.ANSWER_FIRST);
    const ac = u32(r + N.ANSWER_COUNT);
    if (af > answerCount || ac > answerCount - af) fail(`name ${i}: answers out of range`);
    tplRef(u32(r + N.NODATA_TEMPLATE), `name ${i} NODATA`);
    tplRef(u32(r + N.REFERRAL_TEMPLATE), `name ${i} referral`);
  }
  for (let i = 0; deep && i < answerCount; i++) {
    const e = answers.at + i * ANSWER_ENTRY_SIZE;
    const kind = bytes[e + 2];
    if (kind === AnswerEntryKind.TEMPLATE) {
      if (u32(e + 4) === NONE) fail(`answer ${i} has no template`);
      tplRef(u32(e + 4), `answer ${i}`);
    } else if (kind !== AnswerEntryKind.FALLBACK) fail(`answer ${i}: bad kind`);
  }
  for (let i = 0; deep && i < rrsetCount; i++) {
    const r = rrsets.at + i * RRSET_RECORD_SIZE;
    if (u32(r) >= nameCount) fail(`RRset ${i}: bad owner`);
    let p = u32(r + R.RDATA);
    for (let k = u16(r + R.COUNT); k > 0; k--) {
      if (!inside(p, 2, rdata)) fail(`RRset ${i}: RDATA out of bounds`);
      const l = (bytes[p] << 8) | bytes[p + 1];
      if (!inside(p + 2, l, rdata)) fail(`RRset ${i}: RDATA out of bounds`);
      p += 2 + l;
    }
  }
  if (hash.size < 8) fail('hash table size');
  const slots = u32(hash.at);
  if (slots === 0 || (slots & (slots - 1)) !== 0 || 8 + slots * 4 !== hash.size || slots < nameCount)
    fail('hash table size');
  let used = 0;
  for (let s = 0; deep && s < slots; s++) {
    const v = u32(hash.at + 8 + s * 4);
    if (v > nameCount) fail('hash slot out of range');
    if (v !== 0) used++;
  }
  // Probing stops at an empty slot: there must be one.
  if (deep && used >= slots) fail('hash table full');
  // SPELLING (optional): per name NONE or a name that folds to the name's NAMEDATA.
  const spell = sec.get(SectionId.SPELLING);
  if (spell !== undefined) {
    if (spell.size < nameCount * 4) fail('spelling table size');
    for (let i = 0; deep && i < nameCount; i++) {
      const at = u32(spell.at + i * 4);
      if (at === NONE) continue;
      const nd = u32(names.at + i * NAME_RECORD_SIZE + N.NAMEDATA);
      const n = bytes[nd];
      if (at < spell.at + nameCount * 4 || !inside(at, 1 + n, spell) || bytes[at] !== n)
        fail(`name ${i}: spelling out of bounds`);
      for (let k = 1; k <= n; k++) {
        const c = bytes[at + k];
        if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== bytes[nd + k]) fail(`name ${i}: spelling differs`);
      }
    }
  }
  const negative = u32(H.NEGATIVE_TEMPLATE);
  tplRef(negative, 'negative');
  const nsec = sec.get(SectionId.NSEC_INDEX);
  const nsec3 = sec.get(SectionId.NSEC3_INDEX);
  if (nsec !== undefined && nsec3 !== undefined) fail('two proof indexes');
  const proof = nsec ?? nsec3;
  const proofsId =
    nsec !== undefined ? SectionId.NSEC_INDEX : nsec3 !== undefined ? SectionId.NSEC3_INDEX : 0;
  if (proof !== undefined) {
    const bad = checkProofSection(bytes, proofsId, proof.at, proof.size, nameCount, deep);
    if (bad !== undefined) fail(bad);
  }
  return new ZoneImage(bytes, {
    originAt: origin.at,
    originLength,
    nameCount,
    names: names.at,
    rrsets: rrsets.at,
    spelling: spell !== undefined ? spell.at : -1,
    hash: hash.at + 8,
    slotMask: slots - 1,
    answers: answers.at,
    negative,
    serial: u32(H.SERIAL),
    recordCount: u32(H.RECORD_COUNT),
    proofs: proof !== undefined ? proof.at : -1,
    proofsId,
  });
}

/** Section offsets and sizes by id (1..18) for `reopenImage`: scratch, reused. */
const reAt = new Int32Array(19);
const reSize = new Int32Array(19);

function le32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/**
 * `openImage(bytes, { validated: true })` without allocating more than the ZoneImage: the
 * header, the section table and the sections the reader uses, checked for bounds; undefined
 * when anything differs from what a validated image has (the caller then validates in full).
 */
function reopenImage(b: Uint8Array): ZoneImage | undefined {
  const len = b.length;
  if (len < HEADER_SIZE || le32(b, H.MAGIC) !== MAGIC || le32(b, H.TOTAL_LENGTH) !== len) return undefined;
  if ((b[H.VERSION] | (b[H.VERSION + 1] << 8)) !== VERSION) return undefined;
  const count = le32(b, H.SECTION_COUNT);
  const table = le32(b, H.SECTION_TABLE);
  if (count > 64 || table < HEADER_SIZE || table + count * SECTION_ENTRY_SIZE > len) return undefined;
  reAt.fill(-1);
  for (let i = 0; i < count; i++) {
    const e = table + i * SECTION_ENTRY_SIZE;
    const id = le32(b, e);
    const at = le32(b, e + 4);
    const size = le32(b, e + 8);
    if (at > len || size > len - at) return undefined;
    if (id < 19) {
      if (reAt[id] >= 0) return undefined;
      reAt[id] = at;
      reSize[id] = size;
    }
  }
  for (let id = 1; id <= 8; id++) if (reAt[id] < 0) return undefined;
  const originLength = b[H.ORIGIN_LENGTH] | (b[H.ORIGIN_LENGTH + 1] << 8);
  const originAt = reAt[SectionId.ORIGIN];
  if (originLength < 1 || originLength > reSize[SectionId.ORIGIN]) return undefined;
  const nameCount = le32(b, H.NAME_COUNT);
  if (nameCount * NAME_RECORD_SIZE !== reSize[SectionId.NAMES]) return undefined;
  const hashAt = reAt[SectionId.HASH];
  const slots = reSize[SectionId.HASH] >= 8 ? le32(b, hashAt) : 0;
  if (slots === 0 || (slots & (slots - 1)) !== 0 || 8 + slots * 4 !== reSize[SectionId.HASH])
    return undefined;
  const spelling = reAt[SectionId.SPELLING];
  if (spelling >= 0 && reSize[SectionId.SPELLING] < nameCount * 4) return undefined;
  const nsec = reAt[SectionId.NSEC_INDEX];
  const nsec3 = reAt[SectionId.NSEC3_INDEX];
  if (nsec >= 0 && nsec3 >= 0) return undefined;
  const proofsId = nsec >= 0 ? SectionId.NSEC_INDEX : nsec3 >= 0 ? SectionId.NSEC3_INDEX : 0;
  const proofs = nsec >= 0 ? nsec : nsec3;
  if (proofs >= 0 && checkProofSection(b, proofsId, proofs, reSize[proofsId], nameCount, false) !== undefined)
    return undefined;
  return new ZoneImage(b, {
    originAt,
    originLength,
    nameCount,
    names: reAt[SectionId.NAMES],
    rrsets: reAt[SectionId.RRSETS],
    spelling,
    hash: hashAt + 8,
    slotMask: slots - 1,
    answers: reAt[SectionId.ANSWERS],
    negative: le32(b, H.NEGATIVE_TEMPLATE),
    serial: le32(b, H.SERIAL),
    recordCount: le32(b, H.RECORD_COUNT),
    proofs,
    proofsId,
  });
}

/** True when bytes[at, at+n) is exactly one uncompressed name. */
function checkName(b: Uint8Array, at: number, n: number): boolean {
  let p = at;
  const end = at + n;
  while (p < end) {
    const l = b[p];
    if (l === 0) return p + 1 === end;
    if (l > 63) return false;
    p += l + 1;
  }
  return false;
}

/**
 * Images by origin. Finding the zone of a QNAME hashes each of its suffixes once (at most
 * 128) and looks each up in one map: the cost does not depend on how many zones there are.
 */
export class ImageCatalog {
  readonly #byHash = new Map<number, ZoneImage[]>();
  #size = 0;

  constructor(images: Iterable<ZoneImage> = []) {
    for (const i of images) this.put(i);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds `image`, replacing the one at the same origin. */
  put(image: ZoneImage): void {
    const h = fnv1a(image.origin, 0, image.origin.length);
    const list = this.#byHash.get(h) ?? [];
    const i = list.findIndex((x) => equalBytes(x.origin, 0, image.origin, 0, image.origin.length));
    if (i >= 0) list[i] = image;
    else {
      list.push(image);
      this.#size++;
    }
    this.#byHash.set(h, list);
  }

  /** Removes the image at `origin` (case-folded wire form). */
  remove(origin: Uint8Array): void {
    const h = fnv1a(origin, 0, origin.length);
    const list = this.#byHash.get(h);
    if (!list) return;
    const i = list.findIndex((x) => equalBytes(x.origin, 0, origin, 0, origin.length));
    if (i < 0) return;
    list.splice(i, 1);
    this.#size--;
    if (list.length === 0) this.#byHash.delete(h);
  }

  /** The image whose origin is `name[start, end)` (folded), if served. */
  exact(name: Uint8Array, start: number, end: number): ZoneImage | undefined {
    const list = this.#byHash.get(fnv1a(name, start, end));
    if (!list) return undefined;
    const n = end - start;
    for (const img of list)
      if (img.origin.length === n && equalBytes(img.origin, 0, name, start, n)) return img;
    return undefined;
  }
}

function equalBytes(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ai + i] !== b[bi + i]) return false;
  return true;
}

/** What the reader needs of a query (already parsed: see `parseQuery`). */
export interface ImageQuery {
  id: number;
  /** The query's header flags word (RD and CD are copied; opcode must be QUERY). */
  flags: number;
  /** The QNAME as sent (uncompressed wire form, case preserved). */
  qname: Uint8Array;
  qtype: number;
  qclass: number;
  /** The response size limit (512 without EDNS, the negotiated size with it, 65535 over TCP). */
  limit: number;
  /** Our OPT, when the query had one: our UDP size, the DO bit to copy, our options (raw TLVs). */
  edns?: { udpSize: number; flags: number; options?: Uint8Array };
}

// Scratch: the folded QNAME and its label offsets.
const fold = new Uint8Array(256);
const lab = new Int32Array(129);
let labels = 0;
let qlen = 0;

/** Loads and validates q.qname into the scratch arrays; false when it is not a plain name. */
function loadName(q: Uint8Array): boolean {
  let p = 0;
  labels = 0;
  while (p < q.length) {
    const l = q[p];
    if (l === 0) {
      if (p + 1 > 255) return false;
      lab[labels] = p;
      fold[p] = 0;
      qlen = p + 1;
      return true;
    }
    if (l > 63 || p + 1 + l >= q.length || p + 1 + l > 254) return false;
    lab[labels++] = p;
    fold[p] = l;
    for (let k = p + 1; k <= p + l; k++) {
      const c = q[k];
      fold[k] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    p += l + 1;
  }
  return false;
}

/** Index of the name `fold[start, qlen)` in `img`, or -1. */
function findName(img: ZoneImage, start: number): number {
  const b = img.bytes;
  const dv = img.dv;
  const n = qlen - start;
  let s = fnv1a(fold, start, qlen) & img.slotMask;
  for (;;) {
    const v = dv.getUint32(img.hash + s * 4, true);
    if (v === 0) return -1;
    const nd = dv.getUint32(img.names + (v - 1) * NAME_RECORD_SIZE, true);
    if (b[nd] === n && equalBytes(b, nd + 1, fold, start, n)) return v - 1;
    s = (s + 1) & img.slotMask;
  }
}

const RCODE_NXDOMAIN = 3;
const TYPE_DS = 43;
const TYPE_ANY = 255;

/**
 * Writes the response to `q` into `out` from `source` and returns its length, or returns
 * −reason (format.ts `Fallback`) when the image does not hold the answer: the caller then
 * answers with the engine. Never throws for any query; never reads outside the image.
 */
export function respondFromImage(source: ZoneImage | ImageCatalog, q: ImageQuery, out: Uint8Array): number {
  if (q.qclass !== 1 || ((q.flags >> 11) & 0xf) !== 0 || (q.flags & 0x8000) !== 0)
    return -Fallback.NOT_HANDLED;
  if (q.qtype === 251 || q.qtype === 252) return -Fallback.NOT_HANDLED;
  if (!loadName(q.qname)) return -Fallback.NOT_HANDLED;
  let img: ZoneImage | undefined;
  if (source instanceof ZoneImage) {
    img = source;
    const o = img.origin.length;
    if (o > qlen || !equalBytes(img.origin, 0, fold, qlen - o, o) || !onLabel(qlen - o))
      return -Fallback.NO_ZONE;
  } else {
    for (let i = 0; i <= labels; i++) {
      const found = source.exact(fold, lab[i], qlen);
      if (found === undefined) continue;
      // RFC 4035 §3.1.4.1: DS at a child apex is the parent's, when the parent is served.
      if (i === 0 && q.qtype === TYPE_DS && labels > 0 && img === undefined) {
        img = found;
        continue;
      }
      img = found;
      break;
    }
    if (img === undefined) return -Fallback.NO_ZONE;
  }
  return answerIn(img, q, out);
}

function onLabel(at: number): boolean {
  for (let i = 0; i <= labels; i++) if (lab[i] === at) return true;
  return false;
}

function nameFlags(img: ZoneImage, i: number): number {
  return img.dv.getUint32(img.names + i * NAME_RECORD_SIZE + N.FLAGS, true);
}

function answerIn(img: ZoneImage, q: ImageQuery, out: Uint8Array): number {
  const dv = img.dv;
  const qtype = q.qtype;
  const exact = findName(img, 0);
  if (exact >= 0 && (nameFlags(img, exact) & NameFlag.BELOW_CUT) === 0) {
    if ((nameFlags(img, exact) & NameFlag.DELEGATION) !== 0 && qtype !== TYPE_DS)
      return referral(img, exact, q, out);
    return atName(img, exact, q, out);
  }
  // Walk down from the apex (answer.ts solveName): the highest cut or DNAME wins.
  const olen = img.origin.length;
  let first = -1;
  for (let i = 0; i <= labels; i++)
    if (lab[i] === qlen - olen) {
      first = i;
      break;
    }
  if (first < 0) return -Fallback.NO_ZONE;
  let encloser = -1;
  for (let i = first; i >= 0; i--) {
    const n = findName(img, lab[i]);
    if (n < 0) break;
    const f = nameFlags(img, n);
    if ((f & NameFlag.DELEGATION) !== 0) {
      if (i === 0 && qtype === TYPE_DS) return atName(img, n, q, out);
      // A name below the cut that has an exact referral of its own (compile.ts #glueReferral).
      if (exact >= 0 && i > 0) {
        const own = dv.getUint32(img.names + exact * NAME_RECORD_SIZE + N.REFERRAL_TEMPLATE, true);
        if (own !== NONE) return emit(img, own, q, out, 0);
      }
      return referral(img, n, q, out);
    }
    if ((f & NameFlag.DNAME) !== 0 && i > 0) return -Fallback.DNAME;
    encloser = n;
  }
  if (encloser >= 0 && (nameFlags(img, encloser) & NameFlag.WILDCARD_CHILD) !== 0) {
    const wild = findWildcard(img, encloser);
    if (wild >= 0) return atName(img, wild, q, out);
  }
  if (img.negative === NONE) return -Fallback.UNPATCHABLE;
  return emit(img, img.negative, q, out, RCODE_NXDOMAIN);
}

/** The index of `*.<name of encloser>`, or -1. */
function findWildcard(img: ZoneImage, encloser: number): number {
  const b = img.bytes;
  const nd = img.dv.getUint32(img.names + encloser * NAME_RECORD_SIZE + N.NAMEDATA, true);
  const n = b[nd];
  if (n + 2 > 255) return -1;
  // Build `\x01*` + encloser in the scratch area after the QNAME's folded copy would not fit;
  // use a small buffer of its own.
  wildBuf[0] = 1;
  wildBuf[1] = 0x2a;
  for (let i = 0; i < n; i++) wildBuf[2 + i] = b[nd + 1 + i];
  const len = n + 2;
  let s = fnv1a(wildBuf, 0, len) & img.slotMask;
  for (;;) {
    const v = img.dv.getUint32(img.hash + s * 4, true);
    if (v === 0) return -1;
    const d = img.dv.getUint32(img.names + (v - 1) * NAME_RECORD_SIZE, true);
    if (b[d] === len && equalBytes(b, d + 1, wildBuf, 0, len)) return v - 1;
    s = (s + 1) & img.slotMask;
  }
}
const wildBuf = new Uint8Array(257);

function referral(img: ZoneImage, n: number, q: ImageQuery, out: Uint8Array): number {
  const t = img.dv.getUint32(img.names + n * NAME_RECORD_SIZE + N.REFERRAL_TEMPLATE, true);
  if (t === NONE) return -Fallback.UNPATCHABLE;
  return emit(img, t, q, out, 0);
}

function atName(img: ZoneImage, n: number, q: ImageQuery, out: Uint8Array): number {
  const dv = img.dv;
  const r = img.names + n * NAME_RECORD_SIZE;
  const flags = dv.getUint32(r + N.FLAGS, true);
  if ((flags & NameFlag.EMPTY) === 0) {
    const first = dv.getUint32(r + N.ANSWER_FIRST, true);
    const count = dv.getUint32(r + N.ANSWER_COUNT, true);
    for (let i = 0; i < count; i++) {
      const e = img.answers + (first + i) * ANSWER_ENTRY_SIZE;
      if (dv.getUint16(e, true) !== q.qtype) continue;
      if (img.bytes[e + 2] !== AnswerEntryKind.TEMPLATE) return -(img.bytes[e + 3] || Fallback.UNPATCHABLE);
      return emit(img, dv.getUint32(e + 4, true), q, out, 0);
    }
    if ((flags & NameFlag.HAS_CNAME) !== 0) return -Fallback.CNAME_OTHER_TYPE;
    if (q.qtype === TYPE_ANY) return -Fallback.UNPATCHABLE;
  }
  const t = dv.getUint32(r + N.NODATA_TEMPLATE, true);
  if (t === NONE) return -Fallback.UNPATCHABLE;
  return emit(img, t, q, out, 0);
}

/** Copies template `t` into `out` for `q`: header, question, body (patched), OPT. */
function emit(img: ZoneImage, t: number, q: ImageQuery, out: Uint8Array, rcode: number): number {
  const b = img.bytes;
  const dv = img.dv;
  const tflags = b[t + T.TFLAGS];
  if ((tflags & TemplateFlag.EXTERNAL) !== 0) return -Fallback.EXTERNAL;
  const delta = qlen - b[t + T.QNAME_LENGTH];
  if (delta !== 0 && (tflags & TemplateFlag.SHIFTABLE) === 0) return -Fallback.UNPATCHABLE;
  const patches = dv.getUint16(t + T.PATCH_COUNT, true);
  const watches = b[t + T.WATCH_COUNT];
  const anchor = b[t + T.ANCHOR_LENGTH];
  if (watches > 0 && qlen > anchor) {
    // The label of the QNAME just above the anchor.
    const stop = qlen - anchor;
    let from = 0;
    for (let i = 0; i < labels; i++) {
      if (lab[i + 1] === stop) {
        from = lab[i];
        break;
      }
    }
    const n = stop - from;
    let w = t + TEMPLATE_HEADER_SIZE + patches * 2;
    for (let i = 0; i < watches; i++) {
      const l = b[w] + 1;
      if (l === n && equalBytes(b, w, fold, from, n)) return -Fallback.SUFFIX_COLLISION;
      w += l;
    }
  }
  const body = t + dv.getUint32(t + T.BODY, true);
  const full = dv.getUint32(t + T.FULL_LENGTH, true);
  const required = dv.getUint32(t + T.REQUIRED_LENGTH, true);
  const base = 12 + qlen + 4;
  const opts = q.edns?.options;
  const optLen = q.edns !== undefined ? 11 + (opts?.length ?? 0) : 0;
  let dnsFlags = 0x8000 | (q.flags & 0x0110) | dv.getUint16(t + T.DNS_FLAGS, true) | rcode;
  let copy = full;
  let an = dv.getUint16(t + T.AN_COUNT, true);
  let ns = dv.getUint16(t + T.NS_COUNT, true);
  let ar = dv.getUint16(t + T.AR_REQUIRED, true) + dv.getUint16(t + T.AR_OPTIONAL, true);
  if (base + full + optLen > q.limit) {
    if (base + required + optLen <= q.limit) return -Fallback.PARTIAL_ADDITIONAL;
    // RFC 2181 §9, RFC 9471 §3: TC with the question and OPT only (RCODE and AA kept).
    dnsFlags |= 0x0200;
    copy = 0;
    an = ns = ar = 0;
  }
  const total = base + copy + optLen;
  if (out.length < total) return -Fallback.NO_ROOM;
  out[0] = (q.id >> 8) & 0xff;
  out[1] = q.id & 0xff;
  out[2] = dnsFlags >> 8;
  out[3] = dnsFlags & 0xff;
  out[4] = 0;
  out[5] = 1;
  out[6] = an >> 8;
  out[7] = an & 0xff;
  out[8] = ns >> 8;
  out[9] = ns & 0xff;
  if (optLen > 0) ar++;
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
  const qn = q.qname;
  for (let i = 0; i < qlen; i++) out[12 + i] = qn[i];
  let p = 12 + qlen;
  out[p++] = q.qtype >> 8;
  out[p++] = q.qtype & 0xff;
  out[p++] = 0;
  out[p++] = 1;
  if (copy > 0) {
    if (copy <= 128) for (let i = 0; i < copy; i++) out[p + i] = b[body + i];
    else out.set(b.subarray(body, body + copy), p);
    if (delta !== 0)
      for (let i = 0; i < patches; i++) {
        const at = p + dv.getUint16(t + TEMPLATE_HEADER_SIZE + i * 2, true);
        const target = (((out[at] & 0x3f) << 8) | out[at + 1]) + delta;
        // Still a pointer (14 bits) to an earlier octet past the header, as native/image.c
        // checks: a compiler-made image never fails this; a crafted one falls back.
        if (target < 12 || target >= 0x4000 || target >= at) return -Fallback.UNPATCHABLE;
        out[at] = 0xc0 | (target >> 8);
        out[at + 1] = target & 0xff;
      }
    p += copy;
  }
  if (q.edns !== undefined) {
    const e = q.edns;
    out[p++] = 0;
    out[p++] = 0;
    out[p++] = 41;
    out[p++] = (e.udpSize >> 8) & 0xff;
    out[p++] = e.udpSize & 0xff;
    out[p++] = 0;
    out[p++] = 0;
    out[p++] = (e.flags >> 8) & 0x80;
    out[p++] = 0;
    const ol = opts?.length ?? 0;
    out[p++] = ol >> 8;
    out[p++] = ol & 0xff;
    if (opts !== undefined) {
      out.set(opts, p);
      p += ol;
    }
  }
  return p;
}

/** Options of `parseQuery`: what the Responder would put in its OPT. */
export interface ParseOptions {
  /** Our EDNS UDP size (default 1232). */
  ednsSize?: number;
  /** NSID payload, when configured. */
  nsid?: Uint8Array;
}

/** The pre-parse `parseQuery` reads with (the same one the Responder uses: wire/query-view.ts). */
const scratchView = new QueryView();

/**
 * Parses a plain query packet into an ImageQuery: one question, no answer or authority
 * records, at most an OPT (version 0, well-formed options) in additional, nothing after it.
 * Anything else is undefined (the engine answers it). The parse is `QueryView`'s, the
 * Responder's own pre-parse; `queryFromView` builds the ImageQuery from it.
 */
export function parseQuery(
  query: Uint8Array,
  transport: 'udp' | 'tcp',
  opts: ParseOptions = {},
): ImageQuery | undefined {
  const view = scratchView;
  if (!view.parse(query) || (view.edns && view.version !== 0)) return undefined;
  const ours = Math.min(65535, Math.max(512, opts.ednsSize ?? 1232));
  let limit = 65535;
  if (transport === 'udp') limit = view.edns ? Math.min(65507, ours, Math.max(512, view.udpSize)) : 512;
  let nsid: Uint8Array | undefined;
  if (view.nsid && opts.nsid !== undefined) {
    nsid = new Uint8Array(4 + opts.nsid.length);
    nsid[1] = 3;
    nsid[2] = opts.nsid.length >> 8;
    nsid[3] = opts.nsid.length & 0xff;
    nsid.set(opts.nsid, 4);
  }
  return queryFromView(query, view, limit, ours, nsid);
}

/**
 * The ImageQuery of `query` as `view` pre-parsed it (`view.parse(query)` returned true): `limit`
 * the response size limit, `udpSize` our EDNS size, `nsid` our NSID option (code, length,
 * payload) when the query asked for it and one is configured. Written into `into` when given
 * (the Responder reuses one object), else a new object.
 */
export function queryFromView(
  query: Uint8Array,
  view: QueryView,
  limit: number,
  udpSize: number,
  nsid: Uint8Array | undefined,
  into?: ImageQuery,
): ImageQuery {
  const q: ImageQuery = into ?? {
    id: 0,
    flags: 0,
    qname: query,
    qtype: 0,
    qclass: 0,
    limit: 0,
    edns: undefined,
  };
  q.id = (query[0] << 8) | query[1];
  q.flags = (query[2] << 8) | query[3];
  q.qname = query.subarray(12, 12 + view.qnameLength);
  q.qtype = view.qtype;
  q.qclass = view.qclass;
  q.limit = limit;
  if (view.edns) {
    const e = q.edns ?? { udpSize, flags: 0, options: undefined };
    e.udpSize = udpSize;
    e.flags = view.ednsFlags & 0x8000;
    e.options = view.nsid ? nsid : undefined;
    q.edns = e;
  } else q.edns = undefined;
  return q;
}
