/**
 * TEMPORARY stand-in for `src/image/pack.ts` (the `packs` helper's PackWriter/PackReader,
 * contract 2 of issue 7), so the image wiring can be built and tested before that lands.
 * Same interface, no memory mapping: the writer appends images to files in a directory and
 * the reader copies each image out (`mapped` is false). Delete once pack.ts is in main and
 * point `images.ts` at it.
 * @module
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ImageRef {
  pack: string;
  offset: number;
  length: number;
}

export class PackWriter {
  readonly dir: string;
  readonly ownsDir: boolean;
  readonly #packBytes: number;
  #fd = -1;
  #name = '';
  #size = 0;
  #count = 0;
  constructor(dir?: string, opts: { packBytes?: number } = {}) {
    this.ownsDir = dir === undefined;
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'switchboard-packs-'));
    this.#packBytes = opts.packBytes ?? 64 * 1024 * 1024;
    mkdirSync(this.dir, { recursive: true });
  }
  addMany(images: readonly Uint8Array[]): ImageRef[] {
    return images.map((i) => this.add(i));
  }
  add(image: Uint8Array): ImageRef {
    if (this.#fd < 0 || this.#size + image.length > this.#packBytes) {
      if (this.#fd >= 0) closeSync(this.#fd);
      this.#name = `pack-${++this.#count}`;
      this.#fd = openSync(join(this.dir, this.#name), 'w');
      this.#size = 0;
    }
    const offset = this.#size;
    let done = 0;
    while (done < image.length) done += writeSync(this.#fd, image, done, image.length - done, offset + done);
    this.#size += image.length;
    return { pack: this.#name, offset, length: image.length };
  }
  release(_ref: ImageRef): boolean {
    return true;
  }
  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

export class PackReader {
  readonly #dir: string;
  readonly mapped = false;
  constructor(dir: string) {
    this.#dir = dir;
  }
  open(ref: ImageRef): Uint8Array {
    const fd = openSync(join(this.#dir, ref.pack), 'r');
    try {
      const out = new Uint8Array(ref.length);
      let done = 0;
      while (done < ref.length) {
        const n = readSync(fd, out, done, ref.length - done, ref.offset + done);
        if (n === 0) throw new Error(`image ${ref.pack}@${ref.offset} is cut short`);
        done += n;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  }
}
