/**
 * The parse of a big zone's text in a thread of its own (issue 7, docs/IMAGE.md "Big zones"):
 * the parser runs in a worker thread (parse-thread-entry.ts) and hands the records over as
 * octets in chunks (transferred ArrayBuffers), which the calling thread puts into its
 * `ColumnZoneStream` while the parser reads on. Parse and column build overlap on two cores;
 * the calling thread makes no Name, RR or RDATA view per record.
 *
 * Synchronous for the caller, as `loadZoneTextColumns` is: it waits on a shared counter the
 * worker bumps after each message (`Atomics.wait`) and takes the messages with
 * `receiveMessageOnPort`; no event loop turn is needed. The parse itself is the same
 * `parseZone` (same records, errors, warnings and lines, `$INCLUDE` read by the worker): the
 * result is the one the in-thread parse gives. Should the thread not start, fail or fall
 * silent, the caller parses in its own thread instead (`parseIntoStream` answers undefined).
 *
 * A chunk is a sequence of entries. An origin entry: `ORIGIN`, the length, the origin's wire
 * octets (the origin the records after it are given with). A record: a flags octet
 * (`NEW_OWNER`, `SPELLED`, `NO_ORIGIN`, `IN_ZONE`), with `NEW_OWNER` the owner's length, its
 * key's octets and (with `SPELLED`) its spelling's; then type, class (16 bits), TTL (32),
 * RDATA length (16), all big-endian, and the RDATA.
 * @module
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import type { ColumnZoneStream } from './column-zone.js';
import { type ParseOptions, parseZone, type ZoneDiagnostic } from './parser.js';

/** A record's owner is not the previous record's (its octets follow). */
export const NEW_OWNER = 1;
/** The owner is spelled other than its key (the spelling's octets follow the key's). */
export const SPELLED = 2;
/** The record came before the zone's origin was known. */
export const NO_ORIGIN = 4;
/** The owner lies at or under the origin. */
export const IN_ZONE = 8;
/** An origin entry (not a record). */
export const ORIGIN = 0xff;

/** A chunk's size: the first records reach the builder after ~10,000 of them. */
export const CHUNK = 256 * 1024;

/** No message from the thread for this long: it is taken for dead (the caller parses itself). */
const SILENCE_MS = 60_000;

/** `ParseOptions` as the worker is given them: without the sink, origins as wire strings. */
export type PostedParseOptions = Omit<ParseOptions, 'sink' | 'origin' | 'fallbackOrigin'> & {
  originWire?: string;
  originText?: string;
  fallbackWire?: string;
};

/** What the worker is given (`workerData`). */
export interface ParseThreadData {
  text: string;
  opts: PostedParseOptions;
  port: MessagePort;
  signal: SharedArrayBuffer;
}

/** The worker's messages. */
export type ParseThreadMessage =
  | { t: 'chunk'; buf: ArrayBuffer; used: number }
  | {
      t: 'done';
      origin: string | undefined;
      class: number;
      errors: ZoneDiagnostic[];
      warnings: ZoneDiagnostic[];
      files: string[];
      lines: Int32Array;
      fileIndex: Int32Array;
    }
  | { t: 'fail'; message: string };

/** What `parseIntoStream` gives back: `ParsedZone` without records. */
export interface ThreadParsed {
  origin: Name | undefined;
  class: number;
  errors: ZoneDiagnostic[];
  warnings: ZoneDiagnostic[];
  files: string[];
  lines: Int32Array;
  fileIndex: Int32Array;
}

/** Options of `parseIntoStream`: `parseZone`'s, the fallback origin already found. */
export type ThreadParseOptions = Omit<ParseOptions, 'sink' | 'fallbackOrigin'> & {
  fallbackOrigin?: Name;
};

/**
 * Parses `text` in a worker thread, each record given to `stream` as it arrives (the order
 * and effect of `parseZone` with `sink: stream.add`). Undefined when the thread could not do
 * it (not started, failed, silent): `stream` may then hold part of the records and is to be
 * dropped.
 */
export function parseIntoStream(
  text: string,
  opts: ThreadParseOptions,
  stream: ColumnZoneStream,
): ThreadParsed | undefined {
  const channel = new MessageChannel();
  const signal = new SharedArrayBuffer(4);
  const counter = new Int32Array(signal);
  const data: ParseThreadData = { text, opts: postable(opts), port: channel.port2, signal };
  let worker: Worker;
  try {
    worker = new Worker(new URL('./parse-thread-entry.js', import.meta.url), {
      workerData: data,
      transferList: [channel.port2],
      stdout: false,
      stderr: false,
    });
  } catch {
    channel.port1.close();
    return undefined;
  }
  worker.unref();
  // An error of the thread itself (out of memory) is seen as its silence below.
  worker.on('error', () => {});
  const decoder = new ChunkDecoder(stream);
  const port = channel.port1;
  try {
    for (;;) {
      const seen = Atomics.load(counter, 0);
      const got = receiveMessageOnPort(port);
      if (got === undefined) {
        if (Atomics.wait(counter, 0, seen, SILENCE_MS) === 'timed-out' && Atomics.load(counter, 0) === seen) {
          void worker.terminate();
          return undefined;
        }
        continue;
      }
      const m = got.message as ParseThreadMessage;
      if (m.t === 'fail') return undefined;
      const done = decoder.take(m);
      if (done !== undefined) return done;
    }
  } finally {
    port.close();
  }
}

/**
 * What `parseIntoStream` does, in this thread: the same chunks made and read, without the
 * worker and the port (tests: every zone through the octet encoding, for less).
 */
export function parseThroughChunks(
  text: string,
  opts: ThreadParseOptions,
  stream: ColumnZoneStream,
): ThreadParsed {
  const decoder = new ChunkDecoder(stream);
  let done: ThreadParsed | undefined;
  parseToChunks(text, postable(opts), (m) => {
    done = decoder.take(m) ?? done;
  });
  return done as ThreadParsed;
}

function postable(opts: ThreadParseOptions): PostedParseOptions {
  const { origin, fallbackOrigin, ...rest } = opts;
  return {
    ...rest,
    originWire: origin instanceof Name ? origin.wire : undefined,
    originText: typeof origin === 'string' ? origin : undefined,
    fallbackWire: fallbackOrigin?.wire,
  };
}

/**
 * The worker's work: `parseZone` of `text`, the records posted in chunks as they fill, then a
 * `done` message with the findings and each record's line. Throws what `parseZone` throws.
 */
export function parseToChunks(
  text: string,
  opts: PostedParseOptions,
  post: (m: ParseThreadMessage, transfer: ArrayBuffer[]) => void,
): void {
  const { originWire, originText, fallbackWire, ...rest } = opts;
  const encoder = new ChunkEncoder(post);
  const parsed = parseZone(text, {
    ...rest,
    origin: originWire !== undefined ? Name.fromWire(originWire) : originText,
    fallbackOrigin: fallbackWire !== undefined ? Name.fromWire(fallbackWire) : undefined,
    sink: encoder.add,
  });
  encoder.flush();
  const { lines, fileIndex } = parsed.recordLines ?? {
    lines: new Int32Array(0),
    fileIndex: new Int32Array(0),
  };
  post(
    {
      t: 'done',
      origin: parsed.origin?.wire,
      class: parsed.class,
      errors: parsed.errors,
      warnings: parsed.warnings,
      files: parsed.files,
      lines,
      fileIndex,
    },
    [lines.buffer as ArrayBuffer, fileIndex.buffer as ArrayBuffer],
  );
}

/** Puts a chunk's records into a ColumnZoneStream (the calling thread's half). */
class ChunkDecoder {
  readonly #stream: ColumnZoneStream;
  /** The origin records are given with (from the last origin entry). */
  origin: Name | undefined;
  /** The current owner: its key and spelling where they lie (a chunk), and whether in zone. */
  #key: Uint8Array = new Uint8Array(0);
  #keyAt = 0;
  #len = 0;
  #wire: Uint8Array | undefined;
  #wireAt = 0;
  /** The current owner as a Name (made only for a record the stream takes as an RR). */
  #name: Name | undefined;

  constructor(stream: ColumnZoneStream) {
    this.#stream = stream;
  }

  /** A chunk's records into the stream; the parse's result from the `done` message. */
  take(m: ParseThreadMessage): ThreadParsed | undefined {
    if (m.t === 'chunk') {
      this.decode(new Uint8Array(m.buf, 0, m.used));
      return undefined;
    }
    if (m.t !== 'done') return undefined;
    const o = m.origin;
    return {
      origin: o === undefined ? undefined : this.origin?.wire === o ? this.origin : Name.fromWire(o),
      class: m.class,
      errors: m.errors,
      warnings: m.warnings,
      files: m.files,
      lines: m.lines,
      fileIndex: m.fileIndex,
    };
  }

  decode(b: Uint8Array): void {
    const stream = this.#stream;
    const end = b.length;
    let p = 0;
    while (p < end) {
      const flags = b[p++];
      if (flags === ORIGIN) {
        const n = b[p++];
        this.origin = Name.fromWire(latin1(b, p, n));
        p += n;
        continue;
      }
      let newOwner = false;
      if ((flags & NEW_OWNER) !== 0) {
        newOwner = true;
        const n = b[p++];
        this.#key = b;
        this.#keyAt = p;
        this.#len = n;
        p += n;
        if ((flags & SPELLED) !== 0) {
          this.#wire = b;
          this.#wireAt = p;
          p += n;
        } else this.#wire = undefined;
        this.#name = undefined;
      }
      const type = (b[p] << 8) | b[p + 1];
      const cls = (b[p + 2] << 8) | b[p + 3];
      const ttl = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
      const rdLen = (b[p + 8] << 8) | b[p + 9];
      p += 10;
      const origin = (flags & NO_ORIGIN) !== 0 ? undefined : this.origin;
      if (origin === undefined || stream.waiting) {
        // Before the origin is known (rare: every name absolute, no origin given): as RRs.
        this.#name ??= Name.fromWire(
          this.#wire === undefined
            ? latin1(this.#key, this.#keyAt, this.#len)
            : latin1(this.#wire, this.#wireAt, this.#len),
        );
        const rr: RR = { name: this.#name, type, class: cls, ttl, rdata: b.slice(p, p + rdLen) };
        stream.add(rr, origin);
      } else
        stream.addOctets(
          origin,
          newOwner,
          (flags & IN_ZONE) !== 0,
          this.#key,
          this.#keyAt,
          this.#len,
          this.#wire,
          this.#wireAt,
          type,
          cls,
          ttl,
          b,
          p,
          rdLen,
        );
      p += rdLen;
    }
  }
}

const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

function latin1(b: Uint8Array, at: number, n: number): string {
  return latin1Slice.call(b, at, at + n);
}

/** The worker's half: records written into chunks, posted as they fill. */
export class ChunkEncoder {
  #buf = new Uint8Array(CHUNK);
  #used = 0;
  #lastName: Name | undefined;
  #lastOrigin: Name | undefined;
  readonly #post: (m: ParseThreadMessage, transfer: ArrayBuffer[]) => void;

  constructor(post: (m: ParseThreadMessage, transfer: ArrayBuffer[]) => void) {
    this.#post = post;
  }

  #room(n: number): Uint8Array {
    if (this.#used + n > this.#buf.length) {
      this.flush();
      if (n > this.#buf.length) this.#buf = new Uint8Array(n);
    }
    return this.#buf;
  }

  /** Posts what is written (if anything) and starts a new chunk. */
  flush(): void {
    if (this.#used === 0) return;
    const buf = this.#buf.buffer as ArrayBuffer;
    this.#post({ t: 'chunk', buf, used: this.#used }, [buf]);
    this.#buf = new Uint8Array(CHUNK);
    this.#used = 0;
  }

  /** The parser's sink. */
  readonly add = (rr: RR, origin: Name | undefined): void => {
    if (origin !== undefined && origin !== this.#lastOrigin) {
      const w = origin.wire;
      const b = this.#room(2 + w.length);
      let p = this.#used;
      b[p++] = ORIGIN;
      b[p++] = w.length;
      for (let i = 0; i < w.length; i++) b[p++] = w.charCodeAt(i);
      this.#used = p;
      this.#lastOrigin = origin;
      this.#lastName = undefined;
    }
    const name = rr.name;
    const rd = rr.rdata;
    const rdLen = rd.length;
    const fresh = name !== this.#lastName;
    const key = name.key;
    const wire = name.wire;
    const spelled = fresh && wire !== key;
    const n = key.length;
    const b = this.#room(1 + (fresh ? 1 + n + (spelled ? n : 0) : 0) + 10 + rdLen);
    let p = this.#used;
    let flags = origin === undefined ? NO_ORIGIN : 0;
    if (fresh) {
      this.#lastName = name;
      flags |= NEW_OWNER;
      if (spelled) flags |= SPELLED;
      if (origin !== undefined && name.isSubdomainOf(origin)) flags |= IN_ZONE;
      b[p++] = flags;
      b[p++] = n;
      for (let i = 0; i < n; i++) b[p++] = key.charCodeAt(i);
      if (spelled) for (let i = 0; i < n; i++) b[p++] = wire.charCodeAt(i);
    } else b[p++] = flags;
    const type = rr.type;
    const cls = rr.class;
    const ttl = rr.ttl;
    b[p] = type >> 8;
    b[p + 1] = type;
    b[p + 2] = cls >> 8;
    b[p + 3] = cls;
    b[p + 4] = ttl >>> 24;
    b[p + 5] = ttl >>> 16;
    b[p + 6] = ttl >>> 8;
    b[p + 7] = ttl;
    b[p + 8] = rdLen >> 8;
    b[p + 9] = rdLen;
    p += 10;
    if (rdLen <= 32) for (let i = 0; i < rdLen; i++) b[p + i] = rd[i];
    else b.set(rd, p);
    this.#used = p + rdLen;
  };
}
