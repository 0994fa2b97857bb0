/**
 * Image packs: zone images written once by the primary into append-only **pack files**, and
 * mapped read-only by every worker (native/mmap.c), so the page cache holds one copy of each
 * image whatever the number of workers (issue 7, item 1; docs/IMAGE.md, "Packs").
 *
 * - `PackWriter` (one per directory: the primary) appends images and hands back `ImageRef`s,
 *   accounts released images as dead space, and compacts a pack by copying its live images
 *   into the current pack (it never rewrites or truncates a file a reader may have mapped).
 * - `PackReader` (one per worker) turns an `ImageRef` into the image's bytes: a view over the
 *   mapped pack (one mapping per pack file, never per image), or — without the native addon,
 *   or with `SWITCHBOARD_PACK_MMAP=0` — a copy read from the file (`mapped: false`).
 *
 * A view returned by `open` stays valid while JS holds it: the mapping is unmapped only when
 * its ArrayBuffer is garbage-collected, and the pages of an unlinked file live on while mapped.
 * The views are read-only memory: writing into one faults (the process dies; other workers
 * are separate processes).
 *
 * Pack file (all integers little-endian): a 64-octet header, then entries, each at an
 * 8-octet-aligned offset: u32 image length, u32 tag `SBPE`, the image (so every image starts
 * 8-aligned). The file is preallocated (sparse) to its capacity when created, so a reader maps
 * it once and sees later appends without remapping. Space never written reads as zeros, so a
 * ref that does not point just past an entry header is refused (the tag is not there).
 *
 * | offset | size | field                                                        |
 * | ------ | ---- | ------------------------------------------------------------ |
 * | 0      | 4    | magic `SBPK`                                                 |
 * | 4      | 2    | version = 1                                                  |
 * | 6      | 2    | header size = 64                                             |
 * | 8      | 4    | capacity: the file's size                                    |
 * | 12     | 4    | reserved, 0                                                  |
 * | 16     | 4    | alignment = 8                                                |
 * | 20     | 4    | flags: bit 0 `CHECKED` (below), others 0                     |
 * | 24     | 16   | pack identity: 16 random octets                              |
 * | 40     | 4    | with `CHECKED`: CRC-32 of the pack's one image, else 0       |
 * | 44     | 20   | reserved, 0                                                  |
 *
 * `CHECKED`: the pack holds exactly one image, the first entry (an image larger than a pack
 * gets a pack of its own), and its CRC-32 (zlib's) is in the header. A reader whose octets
 * match it (`PackReader.verified`) knows they are the octets the writer was given — images
 * this server's compiler made — and may skip their deep validation (docs/IMAGE.md "Packs").
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { nativeAddonPath } from '../transport/native-udp.js';

/** Where an image lives: a pack file (its name inside the pack directory) and a byte range. */
export interface ImageRef {
  /** File name inside the pack directory (no path). */
  pack: string;
  /** Offset of the image's first octet in the pack file (a multiple of 8). */
  offset: number;
  /** The image's length in octets. */
  length: number;
}

/** A bad pack file, a bad ref, or a misuse of the API. */
export class PackError extends Error {
  readonly code = 'ERR_PACK';
  constructor(message: string) {
    super(message);
    this.name = 'PackError';
  }
}

/** `SBPK` read as a little-endian u32. */
export const PACK_MAGIC = 0x4b504253;
export const PACK_VERSION = 1;
export const PACK_HEADER_SIZE = 64;
/** Every entry (and so every image) starts at a multiple of this. */
export const PACK_ALIGN = 8;
/** Entry header: u32 length, u32 tag. */
export const ENTRY_HEADER_SIZE = 8;
/** `SBPE` read as a little-endian u32. */
export const ENTRY_TAG = 0x45504253;
/** Default pack capacity: 64 MiB (sparse until written). */
export const DEFAULT_PACK_BYTES = 64 * 1024 * 1024;
/** The largest pack (capacity is a u32). */
const MAX_CAPACITY = 0xffff_fff8;
/** Largest single write of staged entries. */
const STAGE_BYTES = 4 * 1024 * 1024;
/** The smallest capacity a caller may ask for (tests use small packs). */
const MIN_PACK_BYTES = 256;

/** Header field offsets. */
const H = { MAGIC: 0, VERSION: 4, HEADER_SIZE: 6, CAPACITY: 8, ALIGN: 16, FLAGS: 20, ID: 24, CRC: 40 };
/** Pack flag: one image, its CRC-32 in the header (see the module comment). */
const FLAG_CHECKED = 1;

/** Pack file names this module writes (and the only names a reader accepts). */
const PACK_NAME = /^pack-[0-9]{6,}-[0-9a-f]{8}\.sbpack$/;
const LOCK_NAME = 'writer.lock';
/** An image written by `writePackedImage`, not yet adopted by the folder's writer. */
const PACKED_NAME = /^image-[0-9a-f]{16}\.sbtmp$/;

const align = (n: number): number => Math.ceil(n / PACK_ALIGN) * PACK_ALIGN;

/** The key of a ref in `compact()`'s map of moves: `pack@offset`. */
export function refKey(ref: ImageRef): string {
  return `${ref.pack}@${ref.offset}`;
}

/**
 * Checks a pack header (the first 64 octets of a pack file whose size is `fileSize`).
 * Throws PackError naming the pack and what is wrong.
 */
export function checkPackHeader(header: Uint8Array, fileSize: number, name: string): void {
  const fail = (m: string): never => {
    throw new PackError(`pack ${name}: ${m}`);
  };
  if (header.length < PACK_HEADER_SIZE || fileSize < PACK_HEADER_SIZE) fail('shorter than its header');
  const dv = new DataView(header.buffer, header.byteOffset, PACK_HEADER_SIZE);
  if (dv.getUint32(H.MAGIC, true) !== PACK_MAGIC) fail('bad magic (not a pack file)');
  const version = dv.getUint16(H.VERSION, true);
  if (version !== PACK_VERSION) fail(`version ${version} is not supported`);
  if (dv.getUint16(H.HEADER_SIZE, true) !== PACK_HEADER_SIZE) fail('bad header size');
  const capacity = dv.getUint32(H.CAPACITY, true);
  if (capacity !== fileSize) fail(`capacity ${capacity} differs from the file's size ${fileSize}`);
  if (dv.getUint32(H.ALIGN, true) !== PACK_ALIGN) fail('bad alignment');
}

/**
 * Checks the shape of a ref (not yet against a pack): a pack name this module makes (no
 * path), an 8-aligned offset past the headers, a length from 1. Throws PackError. For IPC
 * messages that carry refs; `PackReader.open` checks the rest.
 */
export function assertImageRef(ref: unknown): asserts ref is ImageRef {
  if (ref === null || typeof ref !== 'object') throw new PackError('image ref: not an object');
  const { pack, offset, length } = ref as Record<string, unknown>;
  if (typeof pack !== 'string' || !PACK_NAME.test(pack))
    throw new PackError(`image ref: bad pack name ${JSON.stringify(pack)}`);
  if (
    typeof offset !== 'number' ||
    !Number.isSafeInteger(offset) ||
    offset < PACK_HEADER_SIZE + ENTRY_HEADER_SIZE ||
    offset % PACK_ALIGN !== 0
  )
    throw new PackError(`image ref ${pack}: bad offset ${offset}`);
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 1 || length > MAX_CAPACITY)
    throw new PackError(`image ref ${pack}@${offset}: bad length ${length}`);
}

/** Checks that a ref lies inside its pack (of `size` octets). */
function checkInside(ref: ImageRef, size: number): void {
  if (ref.offset + ref.length > size)
    throw new PackError(`image ref ${refKey(ref)}+${ref.length}: past the pack's end ${size}`);
}

/** Checks a ref against the entry header before it. */
function checkEntry(ref: ImageRef, entryLength: number, entryTag: number): void {
  if (entryTag !== ENTRY_TAG) throw new PackError(`image ref ${refKey(ref)}: no entry starts there`);
  if (entryLength !== ref.length)
    throw new PackError(`image ref ${refKey(ref)}: length ${ref.length}, the entry holds ${entryLength}`);
}

// ---------------------------------------------------------------------------------------------
// Writer

/** One pack file as the writer knows it. */
interface PackState {
  name: string;
  capacity: number;
  /** End of the last entry (the next one starts here). */
  end: number;
  /** Octets (entry headers and padding included) of images still served. */
  live: number;
  /** Octets of released images. */
  dead: number;
  /** Open while the pack is the one appended to. */
  fd: number | undefined;
  /** Live entries: image offset → image length. */
  entries: PackEntries;
  /** Its live images were copied by `compact`: waiting for the old refs to be released. */
  draining: boolean;
}

/**
 * A pack's live entries, image offset → image length, as two columns in the order written
 * (offsets only grow in a pack): a 64 MiB pack of 10-record zones holds ~40,000 images, and a
 * Map of them (one per pack, ~100,000 entries over a cold start) cost the primary ~30 ms of
 * inserts and its rehashes, and old-generation garbage. A released entry's length is 0 (no
 * image is empty); its slot stays.
 */
export class PackEntries {
  #offsets = new Uint32Array(16);
  #lengths = new Uint32Array(16);
  /** Slots used (live and released). */
  #n = 0;
  /** Live entries. */
  size = 0;

  /** Adds an entry past every one before (`offset` above the last added); `length` ≥ 1. */
  set(offset: number, length: number): void {
    const n = this.#n;
    if (n > 0 && offset <= this.#offsets[n - 1]) throw new PackError(`pack entry ${offset} out of order`);
    if (n === this.#offsets.length) {
      const o = new Uint32Array(n * 2);
      o.set(this.#offsets);
      this.#offsets = o;
      const l = new Uint32Array(n * 2);
      l.set(this.#lengths);
      this.#lengths = l;
    }
    this.#offsets[n] = offset;
    this.#lengths[n] = length;
    this.#n = n + 1;
    this.size++;
  }

  /** The slot of `offset`, or -1. */
  #find(offset: number): number {
    const o = this.#offsets;
    let lo = 0;
    let hi = this.#n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = o[mid];
      if (v === offset) return mid;
      if (v < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The live image's length at `offset`, or undefined. */
  get(offset: number): number | undefined {
    const k = this.#find(offset);
    return k < 0 || this.#lengths[k] === 0 ? undefined : this.#lengths[k];
  }

  /** Releases the live entry at `offset`; false when there is none. */
  delete(offset: number): boolean {
    const k = this.#find(offset);
    if (k < 0 || this.#lengths[k] === 0) return false;
    this.#lengths[k] = 0;
    this.size--;
    return true;
  }

  /** The live entries, `[offset, length]`, by offset. */
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    for (let k = 0; k < this.#n; k++) if (this.#lengths[k] !== 0) yield [this.#offsets[k], this.#lengths[k]];
  }
}

/** Counters of a writer's packs. */
export interface PackStats {
  /** Pack files (each unlinked once no live image is left in it and it is not appended to). */
  packs: number;
  /** Packs compacted and waiting for their old refs to be released. */
  draining: number;
  /** Live images (refs not yet released; a compacted image counts twice until released). */
  images: number;
  /** Sum of the packs' capacities (the files' sizes; sparse beyond `used`). */
  capacity: number;
  /** Octets written (headers, entries, padding). */
  used: number;
  /** Octets of live entries. */
  live: number;
  /** Octets of released entries. */
  dead: number;
}

export interface PackWriterOptions {
  /** Capacity of a pack file (default 64 MiB); an image that does not fit gets a pack of its own. */
  packBytes?: number;
}

export interface CompactOptions {
  /** Compact a pack whose live octets are under this share of its written octets (default 0.5). */
  threshold?: number;
}

/** Name prefix of the temp directories writers make under os.tmpdir(). */
const TEMP_PREFIX = 'switchboard-packs-';

/**
 * Removes the temp pack directories of writers whose process is gone (killed before its exit
 * hook could remove them: SIGKILL, a crash). Only a directory whose lock names a process that
 * no longer exists is removed; one without a lock (being created) or with a live process is
 * left alone.
 */
function sweepStaleTempDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    try {
      const pid = Number.parseInt(readFileSync(join(dir, LOCK_NAME), 'utf8'), 10);
      if (Number.isSafeInteger(pid) && pid > 0 && !processAlive(pid))
        rmSync(dir, { recursive: true, force: true });
    } catch {
      // no lock (yet), or not ours to read: leave it
    }
  }
}

/** Directories a writer of this process holds (a second writer on one is refused). */
const heldDirs = new Set<string>();
/** Writers not closed: their files are removed when the process exits (one exit hook). */
const openWriters = new Set<PackWriter>();
function removeAtExit(): void {
  for (const w of openWriters) w.removeFiles();
}

/**
 * Appends images to pack files in one directory. One writer per directory: a lock file
 * (`writer.lock`, the owner's pid) refuses a second live writer; a stale one (dead pid) is
 * taken over. A new writer removes the pack files it finds (left by a writer that is gone).
 */
export class PackWriter {
  /** The pack directory. */
  readonly dir: string;
  /** True when the writer created the directory (a temp dir) and removes it on close/exit. */
  readonly ownsDir: boolean;
  private readonly packBytes: number;
  private readonly packs = new Map<string, PackState>();
  private current: PackState | undefined;
  private seq = 0;
  private closed = false;

  /** `dir` undefined: a new temp directory under os.tmpdir(), removed by close() and at exit. */
  constructor(dir?: string, opts: PackWriterOptions = {}) {
    const bytes = opts.packBytes ?? DEFAULT_PACK_BYTES;
    if (!Number.isSafeInteger(bytes) || bytes < MIN_PACK_BYTES || bytes > MAX_CAPACITY)
      throw new PackError(`packBytes must be an integer from ${MIN_PACK_BYTES} to ${MAX_CAPACITY}`);
    this.packBytes = align(bytes);
    if (dir === undefined) {
      sweepStaleTempDirs();
      this.dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
      this.ownsDir = true;
    } else {
      this.dir = resolve(dir);
      this.ownsDir = false;
      mkdirSync(this.dir, { recursive: true });
    }
    this.lock();
    openWriters.add(this);
    if (openWriters.size === 1) process.on('exit', removeAtExit);
  }

  /** Takes the directory's lock file, or throws when another live writer holds it. */
  private lock(): void {
    if (heldDirs.has(this.dir)) throw new PackError(`${this.dir}: a pack writer of this process holds it`);
    const lockPath = join(this.dir, LOCK_NAME);
    for (let attempt = 0; ; attempt++) {
      try {
        writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      }
      const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid))
        throw new PackError(`${this.dir}: in use by the pack writer of process ${pid} (${lockPath})`);
      rmSync(lockPath, { force: true }); // stale: its writer is gone
    }
    heldDirs.add(this.dir);
    // One writer per directory: any pack here was left by a writer that is gone (refs to it
    // died with that writer; mappings a process still holds stay valid after the unlink).
    for (const f of readdirSync(this.dir))
      if (PACK_NAME.test(f) || PACKED_NAME.test(f)) rmSync(join(this.dir, f), { force: true });
  }

  /** Appends an image (one write); its octets are never rewritten while the ref is live. */
  add(image: Uint8Array): ImageRef {
    return this.addMany([image])[0];
  }

  /**
   * Appends images in order, gathered into as few writes as possible (up to 4 MiB each): the
   * way to add many at once (a cold start). All or nothing: when a write fails, no ref of this
   * call is live (their space is dead) and the error is thrown.
   */
  addMany(images: readonly Uint8Array[]): ImageRef[] {
    this.assertOpen();
    for (const image of images) {
      if (!(image instanceof Uint8Array)) throw new PackError('add: the image must be a Uint8Array');
      if (image.length === 0) throw new PackError('add: empty image');
      if (PACK_HEADER_SIZE + align(ENTRY_HEADER_SIZE + image.length) > MAX_CAPACITY)
        throw new PackError(`add: image of ${image.length} octets is too large`);
    }
    const refs: ImageRef[] = [];
    try {
      for (const image of images) refs.push(this.append(image));
      this.flush();
    } catch (err) {
      this.staged = 0;
      for (const ref of refs) this.release(ref);
      throw err;
    }
    return refs;
  }

  /** Staging buffer: entries gathered for one write to the current pack at `stagedAt`. */
  private stage: Buffer | undefined;
  private stageView: DataView | undefined;
  private staged = 0;
  private stagedAt = 0;

  /** Places one entry (staged, or written at once when large); returns its ref. */
  private append(image: Uint8Array): ImageRef {
    const length = image.length;
    const need = align(ENTRY_HEADER_SIZE + length);
    let pack = this.current;
    if (PACK_HEADER_SIZE + need > this.packBytes) {
      this.flush();
      // A pack of its own, sealed once written; the image's CRC-32 in its header lets a reader
      // skip validating it (~30 ms here for the 144 MB image of 1,000,000 records; the deep
      // validation ~0.35 s in each worker, on the path to its first answer).
      pack = this.create(PACK_HEADER_SIZE + need, crc32(image));
    } else if (pack === undefined || pack.end + need > pack.capacity) {
      this.flush();
      if (pack) this.seal(pack);
      pack = this.create(this.packBytes);
      this.current = pack;
    }
    const at = pack.end;
    if (pack !== this.current || need > STAGE_BYTES) {
      this.flush();
      const head = Buffer.alloc(ENTRY_HEADER_SIZE);
      head.writeUInt32LE(length, 0);
      head.writeUInt32LE(ENTRY_TAG, 4);
      try {
        writeAll(pack.fd as number, head, at);
        writeAll(pack.fd as number, image, at + ENTRY_HEADER_SIZE);
      } catch (err) {
        if (pack !== this.current) this.unlink(pack); // its own pack, empty
        throw err;
      }
    } else {
      if (this.staged + need > STAGE_BYTES) this.flush();
      if (this.staged === 0) this.stagedAt = at;
      if (this.stage === undefined) {
        this.stage = Buffer.allocUnsafe(STAGE_BYTES);
        this.stageView = new DataView(this.stage.buffer, this.stage.byteOffset, STAGE_BYTES);
      }
      const stage = this.stage;
      const o = this.staged;
      // (A DataView and a loop for the < 8 octets of padding: Buffer's writeUInt32LE and fill
      // check their arguments in JS, ~0.3 µs an image over a cold start's 100,000.)
      const view = this.stageView as DataView;
      view.setUint32(o, length, true);
      view.setUint32(o + 4, ENTRY_TAG, true);
      stage.set(image, o + ENTRY_HEADER_SIZE);
      for (let k = o + ENTRY_HEADER_SIZE + length; k < o + need; k++) stage[k] = 0;
      this.staged += need;
    }
    pack.end = at + need;
    pack.live += need;
    const offset = at + ENTRY_HEADER_SIZE;
    pack.entries.set(offset, length);
    if (pack !== this.current) this.seal(pack);
    return { pack: pack.name, offset, length };
  }

  /**
   * Takes an image another thread wrote into this folder (`writePackedImage`) as a pack of
   * its own: checks the file (its name, its size, the entry header), writes the pack header
   * (with the image's CRC-32: `CHECKED`) and renames it to a pack name. The image was never in
   * this thread's memory and nothing of it is copied. On any failure the file is removed and
   * a PackError (or the I/O error) thrown.
   */
  adopt(packed: PackedImage): ImageRef {
    this.assertOpen();
    const file = packed?.file;
    if (typeof file !== 'string' || !PACKED_NAME.test(file))
      throw new PackError(`adopt: bad file name ${JSON.stringify(file)}`);
    const path = join(this.dir, file);
    try {
      const { length, crc } = packed;
      if (
        !Number.isSafeInteger(length) ||
        length < 1 ||
        PACK_HEADER_SIZE + align(ENTRY_HEADER_SIZE + length) > MAX_CAPACITY
      )
        throw new PackError(`adopt ${file}: bad length ${length}`);
      if (!Number.isSafeInteger(crc) || crc < 0 || crc > 0xffff_ffff)
        throw new PackError(`adopt ${file}: bad CRC`);
      const capacity = PACK_HEADER_SIZE + align(ENTRY_HEADER_SIZE + length);
      const name = `pack-${String(++this.seq).padStart(6, '0')}-${randomBytes(4).toString('hex')}.sbpack`;
      const fd = openSync(path, 'r+');
      try {
        const size = fstatSync(fd).size;
        if (size !== capacity)
          throw new PackError(`adopt ${file}: ${size} octets, a pack of this image has ${capacity}`);
        const entry = Buffer.alloc(ENTRY_HEADER_SIZE);
        readAll(fd, entry, PACK_HEADER_SIZE);
        checkEntry(
          { pack: file, offset: PACK_HEADER_SIZE + ENTRY_HEADER_SIZE, length },
          entry.readUInt32LE(0),
          entry.readUInt32LE(4),
        );
        writeAll(fd, packHeader(capacity, crc), 0);
      } finally {
        closeSync(fd);
      }
      renameSync(path, join(this.dir, name));
      const need = capacity - PACK_HEADER_SIZE;
      const offset = PACK_HEADER_SIZE + ENTRY_HEADER_SIZE;
      const adopted = new PackEntries();
      adopted.set(offset, length);
      this.packs.set(name, {
        name,
        capacity,
        end: capacity,
        live: need,
        dead: 0,
        fd: undefined,
        entries: adopted,
        draining: false,
      });
      return { pack: name, offset, length };
    } catch (err) {
      rmSync(path, { force: true });
      throw err;
    }
  }

  /** Writes the staged entries to the current pack. */
  private flush(): void {
    if (this.staged === 0 || this.stage === undefined || this.current === undefined) return;
    const n = this.staged;
    this.staged = 0;
    writeAll(this.current.fd as number, this.stage.subarray(0, n), this.stagedAt);
  }

  /**
   * The image is no longer served and no reader will be asked to open this ref again (views
   * already open stay valid): its octets become dead space. A pack left with no live image,
   * and not being appended to, is unlinked at once. Returns false when the ref is not a live
   * image of this writer (released twice, or never added here).
   */
  release(ref: ImageRef): boolean {
    this.assertOpen();
    const pack = this.packs.get(ref?.pack);
    const length = pack?.entries.get(ref.offset);
    if (pack === undefined || length === undefined || length !== ref.length) return false;
    pack.entries.delete(ref.offset);
    const need = align(ENTRY_HEADER_SIZE + length);
    pack.live -= need;
    pack.dead += need;
    if (pack.entries.size === 0 && pack !== this.current) this.unlink(pack);
    return true;
  }

  /**
   * Copies the live images of every pack (but the one being appended to) whose live octets are
   * under `threshold` of its written octets into the current pack. Returns the moves:
   * `refKey(oldRef)` → new ref. Nothing is rewritten: the old refs stay live (and readable)
   * until the caller ships the new refs to the readers and then releases the old ones, as for
   * any replaced image; the last release unlinks the old pack. A compacted pack is not
   * compacted again.
   */
  compact(opts: CompactOptions = {}): Map<string, ImageRef> {
    this.assertOpen();
    const threshold = opts.threshold ?? 0.5;
    if (!(threshold >= 0 && threshold <= 1)) throw new PackError('compact: threshold must be from 0 to 1');
    const moves = new Map<string, ImageRef>();
    const victims = [...this.packs.values()].filter(
      (p) =>
        p !== this.current &&
        !p.draining &&
        p.dead > 0 &&
        p.entries.size > 0 &&
        p.live < threshold * (p.end - PACK_HEADER_SIZE),
    );
    for (const pack of victims) {
      const entries = [...pack.entries]; // by offset
      const images: Uint8Array[] = [];
      const fd = openSync(join(this.dir, pack.name), 'r');
      try {
        for (const [offset, length] of entries) {
          const bytes = new Uint8Array(length);
          readAll(fd, bytes, offset);
          images.push(bytes);
        }
      } finally {
        closeSync(fd);
      }
      const moved = this.addMany(images);
      for (const [i, [offset, length]] of entries.entries())
        moves.set(refKey({ pack: pack.name, offset, length }), moved[i]);
      pack.draining = true;
    }
    return moves;
  }

  /** Counters over the packs. */
  stats(): PackStats {
    let images = 0;
    let capacity = 0;
    let used = 0;
    let live = 0;
    let dead = 0;
    let draining = 0;
    for (const p of this.packs.values()) {
      if (p.draining) draining++;
      images += p.entries.size;
      capacity += p.capacity;
      used += p.end;
      live += p.live;
      dead += p.dead;
    }
    return { packs: this.packs.size, draining, images, capacity, used, live, dead };
  }

  /**
   * Closes the writer and removes every pack it wrote (refs are worth nothing without it;
   * readers' views stay valid), its lock, and the directory when it created it.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    openWriters.delete(this);
    if (openWriters.size === 0) process.off('exit', removeAtExit);
    this.removeFiles();
    heldDirs.delete(this.dir);
  }

  /** @internal the exit hook's cleanup. */
  removeFiles(): void {
    for (const p of this.packs.values()) if (p.fd !== undefined) closeQuietly(p.fd);
    if (this.ownsDir) {
      rmSync(this.dir, { recursive: true, force: true });
      return;
    }
    for (const name of this.packs.keys()) rmSync(join(this.dir, name), { force: true });
    // Images compile threads wrote for this writer and it never adopted (a thread that died).
    try {
      for (const f of readdirSync(this.dir))
        if (PACKED_NAME.test(f)) rmSync(join(this.dir, f), { force: true });
    } catch {
      // the folder is gone or unreadable: nothing of ours to remove
    }
    rmSync(join(this.dir, LOCK_NAME), { force: true });
  }

  private assertOpen(): void {
    if (this.closed) throw new PackError('the pack writer is closed');
  }

  /** Creates a pack file of `capacity` octets (sparse), header written, open for appends. */
  private create(capacity: number, crc?: number): PackState {
    const name = `pack-${String(++this.seq).padStart(6, '0')}-${randomBytes(4).toString('hex')}.sbpack`;
    const fd = openSync(join(this.dir, name), 'wx+', 0o644);
    try {
      ftruncateSync(fd, capacity);
      writeAll(fd, packHeader(capacity, crc), 0);
    } catch (err) {
      closeQuietly(fd);
      rmSync(join(this.dir, name), { force: true });
      throw err;
    }
    const pack: PackState = {
      name,
      capacity,
      end: PACK_HEADER_SIZE,
      live: 0,
      dead: 0,
      fd,
      entries: new PackEntries(),
      draining: false,
    };
    this.packs.set(name, pack);
    return pack;
  }

  /** No more appends to this pack. */
  private seal(pack: PackState): void {
    if (pack.fd !== undefined) closeQuietly(pack.fd);
    pack.fd = undefined;
    if (this.current === pack) this.current = undefined;
    if (pack.entries.size === 0) this.unlink(pack);
  }

  /** Removes a pack with no live image (readers' mappings of it stay valid). */
  private unlink(pack: PackState): void {
    if (pack.fd !== undefined) closeQuietly(pack.fd);
    pack.fd = undefined;
    if (this.current === pack) this.current = undefined;
    this.packs.delete(pack.name);
    rmSync(join(this.dir, pack.name), { force: true });
  }
}

/** A pack file's header: `crc` given, the pack of one image with its CRC-32 (`CHECKED`). */
function packHeader(capacity: number, crc?: number): Buffer {
  const header = Buffer.alloc(PACK_HEADER_SIZE);
  header.writeUInt32LE(PACK_MAGIC, H.MAGIC);
  header.writeUInt16LE(PACK_VERSION, H.VERSION);
  header.writeUInt16LE(PACK_HEADER_SIZE, H.HEADER_SIZE);
  header.writeUInt32LE(capacity, H.CAPACITY);
  header.writeUInt32LE(PACK_ALIGN, H.ALIGN);
  randomBytes(16).copy(header, H.ID);
  if (crc !== undefined) {
    header.writeUInt32LE(FLAG_CHECKED, H.FLAGS);
    header.writeUInt32LE(crc >>> 0, H.CRC);
  }
  return header;
}

/** An image `writePackedImage` wrote into a pack folder, for its writer to `adopt`. */
export interface PackedImage {
  /** File name inside the pack folder (`image-<16 hex>.sbtmp`). */
  file: string;
  /** The image's length in octets. */
  length: number;
  /** The image's CRC-32 (zlib's). */
  crc: number;
}

/**
 * Writes one image into a new file of pack folder `dir` laid out as a pack of its own (the
 * entry header at 64, the image at 72, the size exactly that entry), for the folder's writer
 * to `adopt` (which writes the pack header and names it): a compile thread's big image goes
 * to the file as it is made (`write(fd, base)` writes the image at `base` into a new, empty
 * file and returns its length), never whole in memory, and the writer's thread copies
 * nothing. The CRC-32 is taken over the file's octets (read back: the page cache). On any
 * failure the file is removed and the error thrown. A file never adopted (its writer's
 * process died first) is removed by the next writer of the folder.
 */
export function writePackedImage(dir: string, write: (fd: number, base: number) => number): PackedImage {
  const file = `image-${randomBytes(8).toString('hex')}.sbtmp`;
  const path = join(dir, file);
  const fd = openSync(path, 'wx+', 0o644);
  try {
    const base = PACK_HEADER_SIZE + ENTRY_HEADER_SIZE;
    const length = write(fd, base);
    if (
      !Number.isSafeInteger(length) ||
      length < 1 ||
      PACK_HEADER_SIZE + align(ENTRY_HEADER_SIZE + length) > MAX_CAPACITY
    )
      throw new PackError(`packed image of ${length} octets`);
    const entry = Buffer.alloc(ENTRY_HEADER_SIZE);
    entry.writeUInt32LE(length, 0);
    entry.writeUInt32LE(ENTRY_TAG, 4);
    writeAll(fd, entry, PACK_HEADER_SIZE);
    ftruncateSync(fd, PACK_HEADER_SIZE + align(ENTRY_HEADER_SIZE + length));
    const piece = Buffer.allocUnsafe(Math.min(length, STAGE_BYTES));
    let crc = 0;
    for (let at = 0; at < length; at += piece.length) {
      const chunk = piece.subarray(0, Math.min(piece.length, length - at));
      readAll(fd, chunk, base + at);
      crc = crc32(chunk, crc);
    }
    return { file, length, crc: crc >>> 0 };
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  } finally {
    closeQuietly(fd);
  }
}

/** Removes an image `writePackedImage` wrote that will not be adopted (false: not such a name). */
export function discardPackedImage(dir: string, packed: PackedImage): boolean {
  if (typeof packed?.file !== 'string' || !PACKED_NAME.test(packed.file)) return false;
  rmSync(join(dir, packed.file), { force: true });
  return true;
}

// ---------------------------------------------------------------------------------------------
// Reader

let trimHeap: (() => boolean) | null | undefined;

/**
 * Gives the free memory of every malloc arena back to the system (glibc's `malloc_trim(0)`,
 * the addon's `trimHeap`); false without the addon or when nothing was released. After a big
 * zone's compile thread has exited, its arena still holds the ~100 MiB of column and scratch
 * buffers it freed (glibc's raised thresholds keep them): `serve` calls this once then.
 */
export function trimNativeHeap(): boolean {
  if (trimHeap === undefined) {
    trimHeap = null;
    if (process.platform === 'linux')
      try {
        const addon = createRequire(import.meta.url)(nativeAddonPath()) as { trimHeap?: unknown };
        if (typeof addon.trimHeap === 'function') trimHeap = addon.trimHeap as () => boolean;
      } catch {
        // no addon: nothing to trim with
      }
  }
  return trimHeap?.() === true;
}

/** The addon function this module uses (native/mmap.c). */
interface MmapAddon {
  mapFile(path: string): ArrayBuffer;
}

let mmapAddon: MmapAddon | false | undefined;
let mmapWhy = '';

/**
 * The addon's `mapFile`, or false (with the reason in `packMmapStatus()`). Loaded once;
 * `SWITCHBOARD_PACK_MMAP=0` turns it off (the copying fallback).
 */
function loadMmap(): MmapAddon | false {
  if (mmapAddon !== undefined) return mmapAddon;
  mmapAddon = false;
  if (process.env.SWITCHBOARD_PACK_MMAP === '0') {
    mmapWhy = 'SWITCHBOARD_PACK_MMAP=0';
  } else if (process.platform !== 'linux') {
    mmapWhy = `not supported on ${process.platform}`;
  } else {
    const path = nativeAddonPath();
    let addon: Partial<MmapAddon> | undefined;
    try {
      addon = createRequire(import.meta.url)(path) as Partial<MmapAddon>;
    } catch (err) {
      mmapWhy = `native addon not loaded: ${(err as Error).message.split('\n')[0]}`;
    }
    if (addon && typeof addon.mapFile !== 'function')
      mmapWhy = 'the native addon has no mapFile (rebuild it: npm run build:native)';
    else if (addon) {
      // Self-check: map the addon's own file (a runtime may refuse external buffers).
      try {
        if ((addon as MmapAddon).mapFile(path).byteLength > 0) mmapAddon = addon as MmapAddon;
        else mmapWhy = 'self-check: mapFile returned an empty buffer';
      } catch (err) {
        mmapWhy = `self-check failed: ${(err as Error).message}`;
      }
    }
  }
  return mmapAddon;
}

/**
 * A whole file mapped read-only and shared (the addon's `mapFile`), or undefined when this
 * process cannot map (no addon, SWITCHBOARD_PACK_MMAP=0): then the caller reads it. The
 * mapping lives as long as the returned buffer (and any view of it); the file must not be
 * truncated meanwhile (a write in place is seen, a rename over it is not).
 * @throws the addon's ERR_MMAP error when the file cannot be opened or mapped
 */
export function mapWholeFile(path: string): Buffer | undefined {
  const addon = loadMmap();
  if (addon === false) return undefined;
  return Buffer.from(addon.mapFile(path));
}

/** Whether packs are memory-mapped in this process, and why not. */
export function packMmapStatus(): { mapped: boolean; reason: string } {
  const ok = loadMmap() !== false;
  return { mapped: ok, reason: ok ? 'native mapFile' : mmapWhy };
}

export interface PackReaderOptions {
  /** false: read copies even when the addon could map (tests of the fallback). */
  mmap?: boolean;
}

/** One mapped pack: its ArrayBuffer (held weakly: the views keep it alive). */
interface Mapping {
  buffer: WeakRef<ArrayBuffer>;
}

/**
 * Opens images by ref in one pack directory. With the addon: one read-only shared mapping per
 * pack file, kept while any view over it lives (a new mapping is made only once the old one
 * was garbage-collected); without it: a copy of the image read from the file per `open`.
 */
export class PackReader {
  readonly dir: string;
  /** True when images are views over memory-mapped packs (shared between processes). */
  readonly mapped: boolean;
  private readonly addon: MmapAddon | false;
  private readonly mappings = new Map<string, Mapping>();
  /** The copy path's open packs. */
  private readonly files = new Map<string, { fd: number; size: number }>();
  private readonly registry = new FinalizationRegistry<string>((name) => {
    const m = this.mappings.get(name);
    if (m && m.buffer.deref() === undefined) this.mappings.delete(name);
  });

  constructor(dir: string, opts: PackReaderOptions = {}) {
    this.dir = resolve(dir);
    this.addon = opts.mmap === false ? false : loadMmap();
    this.mapped = this.addon !== false;
  }

  /**
   * The image's bytes: a view over the mapped pack (read-only memory: never write into it),
   * or a copy. Throws PackError when the ref does not name a complete image of a valid pack.
   */
  open(ref: ImageRef): Uint8Array {
    assertImageRef(ref);
    return this.addon ? this.openMapped(ref, this.addon) : this.openCopy(ref);
  }

  /**
   * True when `bytes` (what `open(ref)` gave) are the one image of a `CHECKED` pack and match
   * the CRC-32 its writer put in the header: the octets the writer was given, which the caller
   * may open without deep validation. False for any other image (then validate it): never
   * throws.
   */
  verified(ref: ImageRef, bytes: Uint8Array): boolean {
    if (ref.offset !== PACK_HEADER_SIZE + ENTRY_HEADER_SIZE || bytes.length !== ref.length) return false;
    let header: Uint8Array;
    try {
      const buffer = this.addon ? this.mappings.get(ref.pack)?.buffer.deref() : undefined;
      if (buffer !== undefined) header = new Uint8Array(buffer, 0, PACK_HEADER_SIZE);
      else {
        header = new Uint8Array(PACK_HEADER_SIZE);
        readAll(this.copyFile(ref.pack).fd, header, 0);
      }
    } catch {
      return false;
    }
    const dv = new DataView(header.buffer, header.byteOffset, PACK_HEADER_SIZE);
    if (dv.getUint32(H.FLAGS, true) !== FLAG_CHECKED) return false;
    // The image must be the pack's only entry: the capacity is exactly its aligned entry.
    if (dv.getUint32(H.CAPACITY, true) !== PACK_HEADER_SIZE + align(ENTRY_HEADER_SIZE + ref.length))
      return false;
    return crc32(bytes) === dv.getUint32(H.CRC, true);
  }

  /** Mappings currently held (one per pack opened and still referenced). */
  mappedPacks(): number {
    let n = 0;
    for (const m of this.mappings.values()) if (m.buffer.deref() !== undefined) n++;
    return n;
  }

  private openMapped(ref: ImageRef, addon: MmapAddon): Uint8Array {
    let buffer = this.mappings.get(ref.pack)?.buffer.deref();
    if (buffer === undefined) {
      try {
        buffer = addon.mapFile(join(this.dir, ref.pack));
      } catch (err) {
        throw new PackError(`pack ${ref.pack}: ${(err as Error).message}`);
      }
      checkPackHeader(
        new Uint8Array(buffer, 0, Math.min(PACK_HEADER_SIZE, buffer.byteLength)),
        buffer.byteLength,
        ref.pack,
      );
      this.mappings.set(ref.pack, { buffer: new WeakRef(buffer) });
      this.registry.register(buffer, ref.pack);
    }
    checkInside(ref, buffer.byteLength);
    const dv = new DataView(buffer, ref.offset - ENTRY_HEADER_SIZE, ENTRY_HEADER_SIZE);
    checkEntry(ref, dv.getUint32(0, true), dv.getUint32(4, true));
    return new Uint8Array(buffer, ref.offset, ref.length);
  }

  private openCopy(ref: ImageRef): Uint8Array {
    const file = this.copyFile(ref.pack);
    checkInside(ref, file.size);
    // The entry header and the image in one read; the image is returned as a view past it.
    const bytes = new Uint8Array(ENTRY_HEADER_SIZE + ref.length);
    readAll(file.fd, bytes, ref.offset - ENTRY_HEADER_SIZE);
    const dv = new DataView(bytes.buffer, 0, ENTRY_HEADER_SIZE);
    checkEntry(ref, dv.getUint32(0, true), dv.getUint32(4, true));
    return bytes.subarray(ENTRY_HEADER_SIZE);
  }

  /**
   * The copy path's open descriptor of a pack, header checked once. Descriptors of unlinked
   * packs (`nlink` 0) are closed whenever another pack is opened, so a dead pack's space is
   * not kept alive for long (a worker opens new packs as the writer fills them).
   */
  private copyFile(name: string): { fd: number; size: number } {
    const cached = this.files.get(name);
    if (cached && fstatSync(cached.fd).nlink > 0) return cached;
    // A pack not open yet (or unlinked): close every descriptor of an unlinked pack first.
    for (const [n, f] of this.files)
      if (fstatSync(f.fd).nlink === 0) {
        this.files.delete(n);
        closeQuietly(f.fd);
      }
    let fd: number;
    try {
      fd = openSync(join(this.dir, name), 'r');
    } catch (err) {
      throw new PackError(`pack ${name}: ${(err as Error).message}`);
    }
    try {
      const header = new Uint8Array(PACK_HEADER_SIZE);
      const got = readSync(fd, header, 0, PACK_HEADER_SIZE, 0);
      const size = fstatSync(fd).size;
      checkPackHeader(header.subarray(0, got), size, name);
      const file = { fd, size };
      this.files.set(name, file);
      return file;
    } catch (err) {
      closeQuietly(fd);
      throw err;
    }
  }

  /** Closes the copy path's descriptors (views and copies already returned stay valid). */
  close(): void {
    for (const f of this.files.values()) closeQuietly(f.fd);
    this.files.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// File helpers

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

function readAll(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new PackError(`short read at ${position + done}`);
    done += n;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
