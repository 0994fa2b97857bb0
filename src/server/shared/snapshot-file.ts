/**
 * `--images on`: a worker's snapshot as one binary file in the pack folder, instead of
 * 100,000 zone references as JSON over the cluster IPC channel (50 messages of 2,000 objects
 * each, serialised once per worker, parsed by each worker: a third of a worker's start-up with
 * 100,000 zones). The primary writes the file once per snapshot generation and sends each
 * worker a `snapshot` message naming it; the worker reads it in one call and applies the zones
 * as it would the same pushes sent as messages.
 *
 * Layout (little-endian; columns, so a worker reads them as typed arrays over the file and
 * decodes every zone name with one call):
 *   header, 32 octets: u32 magic `SBSN`, u32 format version (2), u32 zone count, u32 file
 *     length, u32 length of the pack names, u32 length of the zone names, 8 reserved (0)
 *   f64 × count: versions
 *   u32 × count, five columns: serials, pack indexes, offsets, lengths, end of each name
 *   pack names: ASCII, each ended by a newline
 *   zone names: ASCII (names in presentation form are: other octets are escaped), one after
 *     another; the end column gives where each stops
 * Every length and index is checked on read: a short, long or garbled file is an error, never
 * a wrong zone.
 * @module
 */
import type { ImageRef } from '../../image/pack.js';
import type { ZonePush } from './dns-protocol.js';

/** `SBSN` read as a little-endian u32. */
export const SNAPSHOT_MAGIC = 0x4e534253;
export const SNAPSHOT_VERSION = 2;
const HEADER = 32;
/** Octets per zone in the columns. */
const PER_ZONE = 8 + 5 * 4;
/** Printable ASCII: the only octets of names in presentation form and of pack names. */
const ASCII = /^[\x20-\x7e]*$/;
/** `ASCII` or newlines (the pack names' ends), over the whole text area at once (no copy). */
const ASCII_LINES = /^[\x20-\x7e\n]*$/;

/** The names a snapshot file may have in the pack folder (a worker reads nothing else). */
export const SNAPSHOT_FILE_NAME = /^snapshot-[0-9]{1,15}\.sbsnap$/;

/** The file name of the snapshot of generation `gen` (the primary's count of zone-set changes). */
export function snapshotFileName(gen: number): string {
  return `snapshot-${gen}.sbsnap`;
}

/** A snapshot file that cannot be written or read back. */
export class SnapshotFileError extends Error {
  readonly code = 'ERR_SNAPSHOT_FILE';
  constructor(message: string) {
    super(`zone snapshot file: ${message}`);
    this.name = 'SnapshotFileError';
  }
}

/** One zone of a snapshot. */
export interface SnapshotZone {
  name: string;
  version: number;
  serial: number;
  ref: ImageRef;
}

/**
 * Encodes zones (each with its image ref) as a snapshot file's octets.
 * @throws SnapshotFileError for a name or pack name that is not printable ASCII, or a ref out
 *   of range (the caller then sends the zones as messages)
 */
export function encodeSnapshot(zones: Iterable<SnapshotZone>): Buffer {
  const list = Array.isArray(zones) ? (zones as SnapshotZone[]) : [...zones];
  const b = new SnapshotBuilder(list.length);
  for (let i = 0; i < list.length; i++) b.add(list[i]);
  return b.finish();
}

/**
 * A snapshot encoded as its zones come, in that order (`encodeSnapshot` is one over a list):
 * a cold start's primary adds each slice of zones as it publishes them, while the threads
 * compile, so only copying the columns is left when the workers wait for the file. Each zone
 * is checked as it is added (the same `SnapshotFileError`s as `encodeSnapshot`).
 */
export class SnapshotBuilder {
  #count = 0;
  #versions: Float64Array;
  /** serial, pack index, offset, length, end of the name: one column each. */
  #cols: Uint32Array[];
  #names: string[] = [];
  #nameEnd = 0;
  readonly #packs = new Map<string, number>();
  #packText = '';
  /** Refs come in runs of one pack: its index is looked up once per run. */
  #lastPack: string | undefined;
  #lastIndex = 0;

  constructor(capacity = 1024) {
    const n = Math.max(16, capacity);
    this.#versions = new Float64Array(n);
    this.#cols = [0, 1, 2, 3, 4].map(() => new Uint32Array(n));
  }

  /** Zones added so far. */
  get count(): number {
    return this.#count;
  }

  /** Adds one zone; throws SnapshotFileError (and adds nothing) when it cannot be encoded. */
  add(z: SnapshotZone): void {
    const pack = z.ref.pack;
    let packIndex = this.#lastIndex;
    let newPack = false;
    if (pack !== this.#lastPack) {
      const known = this.#packs.get(pack);
      if (known === undefined) {
        if (!ASCII.test(pack) || pack.length === 0) throw new SnapshotFileError(`pack name '${pack}'`);
        packIndex = this.#packs.size;
        newPack = true;
      } else packIndex = known;
    }
    const { offset, length } = z.ref;
    if (
      !Number.isInteger(offset) ||
      offset < 0 ||
      offset > 0xffff_ffff ||
      !Number.isInteger(length) ||
      length < 0 ||
      length > 0xffff_ffff
    )
      throw new SnapshotFileError(`image ref out of range for ${z.name}`);
    if (!Number.isSafeInteger(z.version)) throw new SnapshotFileError(`version ${z.version} of ${z.name}`);
    if (!ASCII.test(z.name)) throw new SnapshotFileError(`zone name not in ASCII: ${z.name.slice(0, 64)}`);
    if (newPack) {
      this.#packs.set(pack, packIndex);
      this.#packText += `${pack}\n`;
    }
    this.#lastPack = pack;
    this.#lastIndex = packIndex;
    const i = this.#count;
    if (i === this.#versions.length) this.#grow();
    this.#nameEnd += z.name.length;
    this.#versions[i] = z.version;
    const c = this.#cols;
    c[0][i] = z.serial >>> 0;
    c[1][i] = packIndex;
    c[2][i] = offset;
    c[3][i] = length;
    c[4][i] = this.#nameEnd;
    this.#names.push(z.name);
    this.#count = i + 1;
  }

  #grow(): void {
    const n = this.#versions.length * 2;
    const v = new Float64Array(n);
    v.set(this.#versions);
    this.#versions = v;
    this.#cols = this.#cols.map((col) => {
      const next = new Uint32Array(n);
      next.set(col);
      return next;
    });
  }

  /** The file's octets. */
  finish(): Buffer {
    const count = this.#count;
    const nameText = this.#names.join('');
    const packText = this.#packText;
    const size = HEADER + count * PER_ZONE + packText.length + nameText.length;
    const out = Buffer.alloc(size);
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    dv.setUint32(0, SNAPSHOT_MAGIC, true);
    dv.setUint32(4, SNAPSHOT_VERSION, true);
    dv.setUint32(8, count, true);
    dv.setUint32(12, size, true);
    dv.setUint32(16, packText.length, true);
    dv.setUint32(20, nameText.length, true);
    // The columns as they are in memory when it is little-endian (every server this runs on);
    // else value by value.
    const u = HEADER + 8 * count;
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(this.#versions.buffer, 0, 8 * count), HEADER);
      for (let k = 0; k < 5; k++)
        out.set(new Uint8Array(this.#cols[k].buffer, 0, 4 * count), u + 4 * k * count);
    } else {
      for (let i = 0; i < count; i++) dv.setFloat64(HEADER + 8 * i, this.#versions[i], true);
      for (let k = 0; k < 5; k++)
        for (let i = 0; i < count; i++) dv.setUint32(u + 4 * (k * count + i), this.#cols[k][i], true);
    }
    const p = u + 20 * count;
    out.write(packText, p, 'latin1');
    out.write(nameText, p + packText.length, 'latin1');
    return out;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes a snapshot file into the pushes it stands for (image refs, no text).
 * @throws SnapshotFileError when the octets are not a whole, well-formed snapshot
 */
export function decodeSnapshot(b: Uint8Array): ZonePush[] {
  const out: ZonePush[] = [];
  decodeSnapshotChunks(b, Number.POSITIVE_INFINITY, (zones) => {
    for (const z of zones) out.push(z);
  });
  return out;
}

/**
 * Decodes a snapshot file and hands its pushes to `each` in order, at most `chunk` at a time
 * (a worker applies each chunk before the next is made: 100,000 pushes never live at once, so
 * they die young instead of being copied into the old generation). The whole file is checked
 * before the first chunk: a bad file throws before `each` is called.
 * @throws SnapshotFileError when the octets are not a whole, well-formed snapshot
 */
export function decodeSnapshotChunks(b: Uint8Array, chunk: number, each: (zones: ZonePush[]) => void): void {
  const cols = readSnapshotColumns(b);
  const { count } = cols;
  const size = Math.max(1, Math.min(chunk, count));
  for (let from = 0; from < count; from += size) {
    const to = Math.min(count, from + size);
    const out: ZonePush[] = new Array(to - from);
    for (let i = from; i < to; i++) out[i - from] = snapshotPush(cols, i);
    each(out);
  }
}

/**
 * A snapshot file's zones as its columns, checked whole (a worker builds its zone table
 * straight from them: no object per zone, `start/zones.ts`). Names are ranges of `text`:
 * zone `i`'s is `text.slice(nameStart(i), nameEnd[i])`.
 */
export interface SnapshotColumns {
  count: number;
  versions: Float64Array;
  serials: Uint32Array;
  packIndexes: Uint32Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
  /** Where each zone's name ends in `text` (it starts where the one before ends, the first at `namesStart`). */
  nameEnds: Uint32Array;
  /** The pack names, then the zone names (latin1: every octet is printable ASCII). */
  text: string;
  /** Where the zone names start in `text`. */
  namesStart: number;
  packNames: string[];
}

/** Zone `i`'s name (presentation form) of a snapshot's columns. */
export function snapshotName(c: SnapshotColumns, i: number): string {
  return c.text.slice(i === 0 ? c.namesStart : c.nameEnds[i - 1], c.nameEnds[i]);
}

/** Zone `i` of a snapshot's columns as the push it stands for. */
export function snapshotPush(c: SnapshotColumns, i: number): ZonePush {
  return {
    name: snapshotName(c, i),
    version: c.versions[i],
    serial: c.serials[i],
    text: null,
    ref: { pack: c.packNames[c.packIndexes[i]], offset: c.offsets[i], length: c.lengths[i] },
  };
}

/**
 * Reads a snapshot file's columns (typed arrays over its octets, or over an aligned copy),
 * every length, index and version checked.
 * @throws SnapshotFileError when the octets are not a whole, well-formed snapshot
 */
export function readSnapshotColumns(b: Uint8Array): SnapshotColumns {
  if (b.byteLength < HEADER) throw new SnapshotFileError(`${b.byteLength} octets, shorter than its header`);
  // The columns are read as typed arrays, which need aligned octets: a copy when they are not.
  const buf = b.byteOffset % 8 === 0 ? b : new Uint8Array(b);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0, true) !== SNAPSHOT_MAGIC) throw new SnapshotFileError('bad magic');
  const version = dv.getUint32(4, true);
  if (version !== SNAPSHOT_VERSION)
    throw new SnapshotFileError(`format version ${version}, expected ${SNAPSHOT_VERSION}`);
  const count = dv.getUint32(8, true);
  const packLength = dv.getUint32(16, true);
  const nameLength = dv.getUint32(20, true);
  if (dv.getUint32(12, true) !== buf.byteLength)
    throw new SnapshotFileError(`length ${buf.byteLength}, the header says ${dv.getUint32(12, true)}`);
  if (HEADER + count * PER_ZONE + packLength + nameLength !== buf.byteLength)
    throw new SnapshotFileError('the counts do not add up to the length');
  const versions = new Float64Array(buf.buffer, buf.byteOffset + HEADER, count);
  const u = new Uint32Array(buf.buffer, buf.byteOffset + HEADER + 8 * count, 5 * count);
  const p = HEADER + PER_ZONE * count;
  const text = Buffer.from(buf.buffer, buf.byteOffset + p, packLength + nameLength).toString('latin1');
  if (!ASCII_LINES.test(text)) throw new SnapshotFileError('names not in ASCII');
  const packNames = text.slice(0, packLength).split('\n');
  if (packLength === 0 || text.charCodeAt(packLength - 1) !== 10) {
    if (count > 0) throw new SnapshotFileError('pack names not ended by a newline');
  } else packNames.pop();
  const packCount = packNames.length;
  const limit = packLength + nameLength;
  // Every zone checked first, nothing made; the name ends made absolute in `text` (a copy).
  const nameEnds = new Uint32Array(count);
  let start = packLength;
  for (let i = 0; i < count; i++) {
    const v = versions[i];
    const pack = u[count + i];
    const end = packLength + u[4 * count + i];
    nameEnds[i] = end;
    if (pack >= packCount) throw new SnapshotFileError(`zone ${i}: pack index ${pack} of ${packCount}`);
    if (end < start || end > limit) throw new SnapshotFileError(`zone ${i}: name ends out of range`);
    if (!Number.isSafeInteger(v)) throw new SnapshotFileError(`zone ${i}: version ${v} is not an integer`);
    start = end;
  }
  if (start !== limit) throw new SnapshotFileError(`${limit - start} octets of names after the last zone`);
  return {
    count,
    versions,
    serials: u.subarray(0, count),
    packIndexes: u.subarray(count, 2 * count),
    offsets: u.subarray(2 * count, 3 * count),
    lengths: u.subarray(3 * count, 4 * count),
    nameEnds,
    text,
    namesStart: packLength,
    packNames,
  };
}
