/**
 * `serve --images on` with SWITCHBOARD_IMAGE_CACHE=DIR (opt-in): the compiled images of a zone
 * folder kept on disk between runs, so a start whose zone files did not change stats each file
 * instead of reading, parsing and compiling it.
 *
 * One cache file per zone folder: `DIR/<sha1 of the folder's absolute path>.sbcache`, written
 * by a cold start (a temp file renamed into place once the load is committed; later SIGHUP
 * reloads do not rewrite it), read by the next start. An entry is used only when
 *   - the whole file's SHA-1 (its last 20 octets) matches: a corrupt or truncated file is
 *     ignored whole (every zone compiled, one warning);
 *   - the file's key matches: the cache format, the image format, and a SHA-1 of the compiler's
 *     and zone loader's own code (src/image, src/zone: any change to how an image is made
 *     invalidates every entry);
 *   - the zone file's fingerprint (size, mtime, inode, ctime: the one SIGHUP reloads trust) is
 *     the one the entry was compiled from (its compile thread stats it; anything else is read
 *     and compiled again).
 * Bounded: a cache that would pass `maxBytes` (default 1 GiB) is not written (logged).
 *
 * Layout: u32 magic `SBIC`, u32 format version, u32 key length + key (ASCII); per entry: u16
 * lengths + the file name, fingerprint, origin key (latin1), origin (UTF-8), u32 serial, u32
 * image length + the image; u32 entry count; then the SHA-1 of all the octets before it.
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION as IMAGE_VERSION } from '../../image/format.js';
import { mapWholeFile } from '../../image/pack.js';

const MAGIC = 0x43494253; // `SBIC`
const CACHE_VERSION = 1;
const DIGEST = 20;
/** Default bound of one cache file. */
export const DEFAULT_CACHE_BYTES = 1024 * 1024 * 1024;

/** The environment variable naming the cache folder (unset: no cache; early-load.ts's). */
export { IMAGE_CACHE_ENV } from './early-load.js';

/** One cached image. */
export interface CachedImage {
  sig: string;
  key: string;
  origin: string;
  serial: number;
  image: Uint8Array;
}

let codeKey: string | undefined;

/**
 * What an image depends on besides its zone file: the cache and image formats and the code
 * that parses, checks and compiles a zone (a SHA-1 over src/image and src/zone as built).
 */
export function compilerKey(): string {
  if (codeKey !== undefined) return codeKey;
  const h = createHash('sha1');
  for (const sub of ['../../image/', '../../zone/']) {
    const dir = fileURLToPath(new URL(sub, import.meta.url));
    for (const f of readdirSync(dir).sort())
      if (f.endsWith('.js') && !f.endsWith('.test.js')) {
        h.update(f);
        h.update(readFileSync(join(dir, f)));
      }
  }
  codeKey = `c${CACHE_VERSION}.f${IMAGE_VERSION}.${h.digest('hex')}`;
  return codeKey;
}

/** The cache file of a zone folder. */
export function cacheFileOf(cacheDir: string, zoneDir: string): string {
  return join(cacheDir, `${createHash('sha1').update(zoneDir).digest('hex')}.sbcache`);
}

/** The cache file mapped, or undefined when it is empty or this process cannot map. */
function mapCache(path: string): Buffer | undefined {
  try {
    if (statSync(path).size === 0) return undefined; // nothing to map: the read says truncated
  } catch {
    return undefined; // the read reports it
  }
  return mapWholeFile(path);
}

/**
 * Reads a cache file: its entries by zone file name, or why none is used (absent, corrupt,
 * another compiler).
 */
export function readImageCache(
  path: string,
  key = compilerKey(),
): { entries: Map<string, CachedImage> } | { why: string } {
  let b: Buffer;
  try {
    // Mapped when the addon can (a cache of 100,000 zones is ~185 MB: reading it into the
    // heap cost ~0.25 s of the primary's CPU, mapping it nothing); its images are copied into
    // the packs as they are taken. The cache is only ever replaced by a rename, never
    // rewritten in place, so the mapping stays whole.
    b = mapCache(path) ?? readFileSync(path);
  } catch (err) {
    if (!existsSync(path)) return { why: 'none yet' };
    return { why: (err as Error).message };
  }
  if (b.length < 16 + DIGEST) return { why: 'truncated' };
  const body = b.subarray(0, b.length - DIGEST);
  if (
    !createHash('sha1')
      .update(body)
      .digest()
      .equals(b.subarray(b.length - DIGEST))
  )
    return { why: 'checksum mismatch (corrupt or truncated)' };
  try {
    let at = 0;
    const need = (n: number) => {
      if (at + n > body.length - 4) throw new Error('truncated');
    };
    const u32 = () => {
      need(4);
      const v = body.readUInt32LE(at);
      at += 4;
      return v;
    };
    const str = (enc: BufferEncoding) => {
      need(2);
      const n = body.readUInt16LE(at);
      need(2 + n);
      const s = body.toString(enc, at + 2, at + 2 + n);
      at += 2 + n;
      return s;
    };
    if (u32() !== MAGIC) return { why: 'bad magic' };
    if (u32() !== CACHE_VERSION) return { why: 'another cache format' };
    const klen = u32();
    need(klen);
    const fileKey = body.toString('latin1', at, at + klen);
    at += klen;
    if (fileKey !== key) return { why: 'made by another compiler version' };
    const end = body.length - 4;
    const count = body.readUInt32LE(end);
    const entries = new Map<string, CachedImage>();
    let seen = 0;
    while (at < end) {
      seen++;
      const file = str('utf8');
      const sig = str('latin1');
      const zkey = str('latin1');
      const origin = str('utf8');
      const serial = u32();
      const n = u32();
      need(n);
      entries.set(file, { sig, key: zkey, origin, serial, image: body.subarray(at, at + n) });
      at += n;
    }
    if (at !== end || seen !== count) return { why: 'entries do not match their count' };
    return { entries };
  } catch (err) {
    return { why: (err as Error).message };
  }
}

/**
 * Writes a cache file as images come: entries go to a temp file beside it, and `commit()`
 * renames it into place (`abort()` removes it). Past `maxBytes`, the cache is dropped (not
 * written) and `commit()` says why.
 */
export class ImageCacheWriter {
  readonly #path: string;
  readonly #tmp: string;
  readonly #maxBytes: number;
  #fd: number | undefined;
  readonly #hash: Hash = createHash('sha1');
  #count = 0;
  #bytes = 0;
  #dropped: string | undefined;
  /** Staged octets, written in chunks. */
  #chunks: Buffer[] = [];
  #staged = 0;

  constructor(path: string, key = compilerKey(), maxBytes = DEFAULT_CACHE_BYTES) {
    this.#path = path;
    this.#tmp = `${path}.${process.pid}.tmp`;
    this.#maxBytes = maxBytes;
    mkdirSync(join(path, '..'), { recursive: true });
    this.#fd = openSync(this.#tmp, 'w', 0o600);
    const head = Buffer.alloc(12 + key.length);
    head.writeUInt32LE(MAGIC, 0);
    head.writeUInt32LE(CACHE_VERSION, 4);
    head.writeUInt32LE(key.length, 8);
    head.write(key, 12, 'latin1');
    this.#push(head);
  }

  /** Adds one image (ignored once the cache was dropped). */
  add(file: string, e: Omit<CachedImage, 'image'>, image: Uint8Array): void {
    if (this.#fd === undefined) return;
    const f = Buffer.from(file, 'utf8');
    const o = Buffer.from(e.origin, 'utf8');
    const head = Buffer.alloc(2 + f.length + 2 + e.sig.length + 2 + e.key.length + 2 + o.length + 8);
    let at = head.writeUInt16LE(f.length, 0);
    at += f.copy(head, at);
    at = head.writeUInt16LE(e.sig.length, at);
    at += head.write(e.sig, at, 'latin1');
    at = head.writeUInt16LE(e.key.length, at);
    at += head.write(e.key, at, 'latin1');
    at = head.writeUInt16LE(o.length, at);
    at += o.copy(head, at);
    at = head.writeUInt32LE(e.serial >>> 0, at);
    head.writeUInt32LE(image.length, at);
    this.#push(head);
    this.#push(Buffer.from(image.buffer, image.byteOffset, image.byteLength));
    this.#count++;
    if (this.#bytes > this.#maxBytes) this.#drop(`over ${this.#maxBytes} octets`);
  }

  /** Renames the cache into place; returns why not when it was dropped or cannot be written. */
  commit(): string | undefined {
    if (this.#fd === undefined) return this.#dropped;
    try {
      const count = Buffer.alloc(4);
      count.writeUInt32LE(this.#count, 0);
      this.#push(count);
      this.#flush();
      writeSync(this.#fd, this.#hash.digest());
      closeSync(this.#fd);
      this.#fd = undefined;
      renameSync(this.#tmp, this.#path);
      return undefined;
    } catch (err) {
      this.#drop((err as Error).message);
      return this.#dropped;
    }
  }

  /** Removes the temp file. */
  abort(): void {
    this.#drop('aborted');
  }

  #push(b: Buffer): void {
    this.#chunks.push(b);
    this.#staged += b.length;
    this.#bytes += b.length;
    if (this.#staged >= 4 * 1024 * 1024) this.#flush();
  }

  #flush(): void {
    if (this.#fd === undefined || this.#chunks.length === 0) return;
    const all = Buffer.concat(this.#chunks, this.#staged);
    this.#chunks = [];
    this.#staged = 0;
    this.#hash.update(all);
    let done = 0;
    while (done < all.length) done += writeSync(this.#fd, all, done);
  }

  #drop(why: string): void {
    this.#dropped ??= why;
    this.#chunks = [];
    this.#staged = 0;
    if (this.#fd !== undefined) closeQuietly(this.#fd);
    this.#fd = undefined;
    rmSync(this.#tmp, { force: true });
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
