/**
 * The parse of a big zone's text in a thread of its own (issue 7, docs/IMAGE.md "Big zones"):
 * the parser runs in a worker thread (parse-thread-entry.ts) and hands the records over as
 * octets in chunks (transferred ArrayBuffers), which the calling thread puts into its
 * `ColumnZoneStream` while the parser reads on. Parse and column build overlap on two cores;
 * the calling thread makes no Name, RR or RDATA view per record.
 *
 * The chunks go through a ring of `SLOTS` buffers in one SharedArrayBuffer (`Ring`): the
 * worker fills a slot and counts it written, the caller reads it and counts it read, and the
 * worker waits while every slot is unread — so the records in flight take 2 MiB at most, however
 * far the parse runs ahead, and no buffer is allocated per chunk. Synchronous for the caller,
 * as `loadZoneTextColumns` is: it waits on a shared counter the worker bumps after each slot
 * and message (`Atomics.wait`) and takes the messages (the parse's result, or its failure)
 * with `receiveMessageOnPort`; no event loop turn is needed. The parse itself is the same
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
import { readSync } from 'node:fs';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { writeTypeClassTtl } from '../wire/encode.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import type { ColumnZoneStream } from './column-zone.js';
import { OwnerOctets, type ParseOptions, parseZone, type ZoneDiagnostic } from './parser.js';

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

/**
 * A chunk's size: the first records reach the builder after ~8,000 of them; more than the
 * largest record (1 + 1 + 2 × 255 + 10 + 65,535 octets), so every record fits one.
 */
export const CHUNK = 256 * 1024;
/** Slots of the ring. */
const SLOTS = 8;
/** The ring's counters (Int32 words): slots written, slots read, events (slots and messages). */
const WRITTEN = 0;
const READ = 1;
const EVENTS = 2;
/** An early thread's go (`EarlyParse`): 0 wait, 1 the text is read (a message says how long), -1 stop. */
export const GO = 3;
/**
 * After its parse (`IdleParseThread`): 0 wait, 1 check the zone a message gives (then exit), -1
 * exit.
 */
export const NEXT = 4;
/**
 * Where the slots' lengths start (Int32 words), and where the slots start (octets: past the
 * control words, on a cache line of their own).
 */
const LENGTHS = 5;
const SLOT_BASE = Math.ceil(((LENGTHS + SLOTS) * 4) / 64) * 64;

/** No message from the thread for this long: it is taken for dead (the caller parses itself). */
const SILENCE_MS = 60_000;
/** A parse thread waits this long after its parse for the zone to check, then exits. */
export const IDLE_MS = 120_000;

/** `ParseOptions` as the worker is given them: without the sink, origins as wire strings. */
export type PostedParseOptions = Omit<ParseOptions, 'sink' | 'origin' | 'fallbackOrigin'> & {
  originWire?: string;
  originText?: string;
  fallbackWire?: string;
};

/**
 * What the worker is given (`workerData`): the text and the options; or (a thread started
 * before the file is read, `EarlyParse`) the buffer the text is read into, the options and the
 * text's length coming in a message once the ring's `GO` word is set.
 */
export interface ParseThreadData {
  text?: string;
  opts?: PostedParseOptions;
  octets?: SharedArrayBuffer;
  port: MessagePort;
  /** The ring (`Ring`). */
  ring: SharedArrayBuffer;
}

/** The message that starts an `EarlyParse`'s thread: its options, the text's length. */
export interface ParseThreadGo {
  opts: PostedParseOptions;
  length: number;
}

/** The ring of chunks in a SharedArrayBuffer (see the module comment). */
export class Ring {
  readonly sab: SharedArrayBuffer;
  readonly ctrl: Int32Array;
  readonly #slots: Uint8Array[] = [];

  constructor(sab = new SharedArrayBuffer(SLOT_BASE + SLOTS * CHUNK)) {
    this.sab = sab;
    this.ctrl = new Int32Array(sab, 0, LENGTHS + SLOTS);
    for (let i = 0; i < SLOTS; i++) this.#slots.push(new Uint8Array(sab, SLOT_BASE + i * CHUNK, CHUNK));
  }

  /** Counts an event (a slot written, a message posted) and wakes the reader. */
  event(): void {
    Atomics.add(this.ctrl, EVENTS, 1);
    Atomics.notify(this.ctrl, EVENTS);
  }

  /** The writer's next slot, once the reader has read it (waits; undefined after `silence` ms). */
  free(silence = SILENCE_MS): Uint8Array | undefined {
    const ctrl = this.ctrl;
    const w = Atomics.load(ctrl, WRITTEN);
    for (;;) {
      const r = Atomics.load(ctrl, READ);
      if (w - r < SLOTS) return this.#slots[w % SLOTS];
      if (Atomics.wait(ctrl, READ, r, silence) === 'timed-out' && Atomics.load(ctrl, READ) === r)
        return undefined;
    }
  }

  /** The writer's slot filled with `used` octets. */
  written(used: number): void {
    const ctrl = this.ctrl;
    const w = Atomics.load(ctrl, WRITTEN);
    ctrl[LENGTHS + (w % SLOTS)] = used;
    Atomics.store(ctrl, WRITTEN, w + 1);
    this.event();
  }

  /** Every slot written and not yet read, each given to `read` (then counted read). */
  drain(read: (b: Uint8Array, used: number) => void): void {
    const ctrl = this.ctrl;
    for (let r = Atomics.load(ctrl, READ); r < Atomics.load(ctrl, WRITTEN); r++) {
      read(this.#slots[r % SLOTS], ctrl[LENGTHS + (r % SLOTS)]);
      Atomics.store(ctrl, READ, r + 1);
      Atomics.notify(ctrl, READ);
    }
  }
}

/** Where the encoder's chunks go: a buffer to fill, and the filled buffer sent. */
export interface ChunkOut {
  /** A buffer of `CHUNK` octets to fill (undefined: the reader is gone). */
  next(): Uint8Array | undefined;
  send(b: Uint8Array, used: number): void;
}

/** The worker's messages. */
export type ParseThreadMessage = ParseDone | { t: 'fail'; message: string };

/** The parse's result as posted: the origin as its wire string. */
interface ParseDone {
  t: 'done';
  origin: string | undefined;
  class: number;
  errors: ZoneDiagnostic[];
  warnings: ZoneDiagnostic[];
  files: string[];
  lines: Int32Array;
  fileIndex: Int32Array;
}

/** What `parseIntoStream` gives back: `ParsedZone` without records. */
export type ThreadParsed = Omit<ParseDone, 't' | 'origin'> & { origin: Name | undefined };

/** Options of `parseIntoStream`: `parseZone`'s, the fallback origin already found. */
export type ThreadParseOptions = Omit<ParseOptions, 'sink' | 'fallbackOrigin'> & {
  fallbackOrigin?: Name;
};

/**
 * Parses `text` in a worker thread, each record given to `stream` as it arrives (the order
 * and effect of `parseZone` with `sink: stream.add`). Undefined when the thread could not do
 * it (not started, failed, silent): `stream` may then hold part of the records and is to be
 * dropped. With `keep`, a thread that parsed is kept (`keep.idle`: its isolate up, its code
 * loaded) for the zone's checks (`IdleParseThread`; the caller releases it if unused);
 * otherwise it is told to exit.
 */
export function parseIntoStream(
  text: string,
  opts: ThreadParseOptions,
  stream: ColumnZoneStream,
  stage?: (name: string) => void,
  early?: EarlyParse,
  keep?: { idle?: IdleParseThread },
): ThreadParsed | undefined {
  let thread: ParseThread | undefined;
  if (early !== undefined) thread = early.go(postable(opts));
  else {
    const channel = new MessageChannel();
    const ring = new Ring();
    thread = spawn({ text, opts: postable(opts), port: channel.port2, ring: ring.sab }, channel, ring);
  }
  if (thread === undefined) return undefined;
  stage?.(early !== undefined ? 'text handed to the parse thread' : 'parse thread created');
  const { worker, ring } = thread;
  const counter = ring.ctrl;
  const decoder = new ChunkDecoder(stream);
  let first = stage !== undefined;
  const read = (b: Uint8Array, used: number): void => {
    if (first) {
      first = false;
      stage?.('first records from the parse thread');
    }
    decoder.decode(b, used);
  };
  const port = thread.port;
  let kept = false;
  try {
    for (;;) {
      const seen = Atomics.load(counter, EVENTS);
      ring.drain(read);
      const got = receiveMessageOnPort(port);
      if (got === undefined) {
        if (
          Atomics.wait(counter, EVENTS, seen, SILENCE_MS) === 'timed-out' &&
          Atomics.load(counter, EVENTS) === seen
        ) {
          void worker.terminate();
          return undefined;
        }
        continue;
      }
      const m = got.message as ParseThreadMessage;
      if (m.t === 'fail') return undefined;
      // Every slot was written before the message was posted.
      ring.drain(read);
      const done = decoder.take(m);
      if (done !== undefined) {
        if (keep !== undefined) {
          keep.idle = new IdleParseThread(thread);
          kept = true;
        }
        return done;
      }
    }
  } finally {
    if (!kept) {
      // The thread exits after its parse (it waits for nothing more).
      Atomics.store(counter, NEXT, -1);
      Atomics.notify(counter, NEXT);
      port.close();
    }
  }
}

/**
 * A parse thread whose parse is done, kept (`parseIntoStream`'s `keep`) to check the zone it
 * parsed while the caller compiles it (check-thread.ts `ZoneCheckThread.onParseThread`): its
 * isolate is up and its code loaded, so it costs no new thread. It waits for `take` or
 * `release` (at most `IDLE_MS`, then exits by itself).
 */
export class IdleParseThread {
  #thread: ParseThread | undefined;
  /** Settles when the thread has exited. */
  readonly exited: Promise<void>;

  constructor(thread: ParseThread) {
    this.#thread = thread;
    this.exited = new Promise((res) => thread.worker.once('exit', () => res()));
  }

  /**
   * The thread, its port and its next-step word, taken by the caller that gives it work (once;
   * undefined after `release`).
   */
  take(): { worker: Worker; port: MessagePort; ctrl: Int32Array } | undefined {
    const t = this.#thread;
    this.#thread = undefined;
    return t === undefined ? undefined : { worker: t.worker, port: t.port, ctrl: t.ring.ctrl };
  }

  /** Tells an idle thread to exit (nothing if it was taken or released). */
  release(): void {
    const t = this.#thread;
    if (t === undefined) return;
    this.#thread = undefined;
    Atomics.store(t.ring.ctrl, NEXT, -1);
    Atomics.notify(t.ring.ctrl, NEXT);
    t.port.close();
  }
}

/** A parse thread as its caller holds it. */
interface ParseThread {
  worker: Worker;
  ring: Ring;
  /** The caller's end of the thread's port. */
  port: MessagePort;
}

/**
 * Starts a helper thread of the load (`entry` beside this module) given `data`, which holds
 * `channel.port2` (transferred); unref'd, its own `error` ignored (its caller sees it as the
 * thread's silence); its young generation capped at `youngMb` MiB when given. Undefined when it
 * could not be started (`channel.port1` closed).
 */
export function startLoadThread(
  entry: string,
  data: object,
  channel: MessageChannel,
  youngMb?: number,
): Worker | undefined {
  let worker: Worker;
  try {
    worker = new Worker(new URL(entry, import.meta.url), {
      resourceLimits: youngMb !== undefined ? { maxYoungGenerationSizeMb: youngMb } : undefined,
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
  worker.on('error', () => {});
  return worker;
}

/**
 * The parse thread's young generation, MiB (V8's default here is 48: two 16 MiB semi-spaces and
 * the large-object part). The parse leaves little alive, but the zone's checks it runs next
 * (`IdleParseThread`) keep much for a while, and V8 then grows the semi-spaces to their most:
 * ~6,000 fresh pages (~12 µs each on the VM measured) that a cap of 16 never touches, with no
 * more old-generation work (below ~8 it turns: what survives is promoted, the old generation
 * grows and the faults more than double). docs/PERFORMANCE.md "parse24".
 * `SWITCHBOARD_PARSE_YOUNG_MB=N` sets another cap, `default` leaves V8's (an A/B).
 */
const PARSE_YOUNG_MB = 16;

/** The parse thread's young-generation cap in MiB, undefined for V8's default. */
export function parseYoungMb(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env.SWITCHBOARD_PARSE_YOUNG_MB;
  if (v === undefined || v === '') return PARSE_YOUNG_MB;
  if (v === 'default') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : PARSE_YOUNG_MB;
}

/** Starts the parse thread with `data` (undefined: it could not be started). */
function spawn(data: ParseThreadData, channel: MessageChannel, ring: Ring): ParseThread | undefined {
  const worker = startLoadThread('./parse-thread-entry.js', data, channel, parseYoungMb());
  return worker === undefined ? undefined : { worker, ring, port: channel.port1 };
}

/**
 * A parse thread started before its text is read (the start-up path of a big zone file,
 * docs/IMAGE.md "Big zones"): the thread loads its code while the caller reads the file into
 * `octets` (shared memory: the text is never copied to the thread as a string), then
 * `parseIntoStream` hands it over (`go`) and the thread makes its string from those octets.
 * `close` stops a thread that was never handed its text.
 */
export class EarlyParse {
  /** Where the caller reads the text (the file's size + 1 octets: a file that grew is seen). */
  readonly octets: Uint8Array<SharedArrayBuffer>;
  /** The text's length, once read. */
  length = 0;
  #thread: ParseThread | undefined;
  #went = false;

  private constructor(octets: Uint8Array<SharedArrayBuffer>, thread: ParseThread) {
    this.octets = octets;
    this.#thread = thread;
  }

  /** Starts a thread for a text of at most `size` octets; undefined when it cannot be started. */
  static start(size: number): EarlyParse | undefined {
    let sab: SharedArrayBuffer;
    try {
      sab = new SharedArrayBuffer(size + 1);
    } catch {
      return undefined;
    }
    const channel = new MessageChannel();
    const ring = new Ring();
    const thread = spawn({ octets: sab, port: channel.port2, ring: ring.sab }, channel, ring);
    return thread === undefined ? undefined : new EarlyParse(new Uint8Array(sab), thread);
  }

  /**
   * Reads the rest of open file `fd` into `octets`; false when it does not fit (the file grew
   * past the size it was started for: `length` octets read, the rest left to the caller).
   */
  readFd(fd: number): boolean {
    const b = this.octets;
    let n = 0;
    for (;;) {
      const got = readSync(fd, b, n, b.length - n, null);
      n += got;
      this.length = n;
      if (got === 0) return true;
      if (n === b.length) return false;
    }
  }

  /** The text read (`length` octets) as a latin1 string: the caller's own parse, should the thread fail. */
  text(): string {
    return Buffer.from(this.octets.buffer, 0, this.length).toString('latin1');
  }

  /** Hands the thread its text (`length` octets of `octets`) and options; once. */
  go(opts: PostedParseOptions): ParseThread | undefined {
    const t = this.#thread;
    if (t === undefined || this.#went) return undefined;
    this.#went = true;
    const m: ParseThreadGo = { opts, length: this.length };
    t.port.postMessage(m);
    Atomics.store(t.ring.ctrl, GO, 1);
    Atomics.notify(t.ring.ctrl, GO);
    return t;
  }

  /** Stops a thread that was not handed its text (a failed read, a text parsed otherwise). */
  close(): void {
    const t = this.#thread;
    if (t === undefined || this.#went) return;
    this.#thread = undefined;
    Atomics.store(t.ring.ctrl, GO, -1);
    Atomics.notify(t.ring.ctrl, GO);
    t.port.close();
    void t.worker.terminate();
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
  const buf = new Uint8Array(CHUNK);
  const out: ChunkOut = { next: () => buf, send: (b, used) => decoder.decode(b, used) };
  parseToChunks(text, postable(opts), out, (m) => {
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
  out: ChunkOut,
  post: (m: ParseThreadMessage, transfer: ArrayBuffer[]) => void,
): void {
  const { originWire, originText, fallbackWire, ...rest } = opts;
  const encoder = new ChunkEncoder(out);
  const parsed = parseZone(text, {
    ...rest,
    origin: originWire !== undefined ? Name.fromWire(originWire) : originText,
    fallbackOrigin: fallbackWire !== undefined ? Name.fromWire(fallbackWire) : undefined,
    sink: encoder.add,
    transientRecords: true,
    ownerOctets: encoder.owner,
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
  /** The current owner's octets kept past the end of a chunk (its slot is written anew). */
  readonly #own = new Uint8Array(512);

  constructor(stream: ColumnZoneStream) {
    this.#stream = stream;
  }

  /** The parse's result from the `done` message. */
  take(m: ParseThreadMessage): ThreadParsed | undefined {
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

  /** The records of `b[0, end)` into the stream. */
  decode(b: Uint8Array, end: number): void {
    const stream = this.#stream;
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
    if (this.#key === b) {
      const own = this.#own;
      const n = this.#len;
      for (let k = 0; k < n; k++) own[k] = b[this.#keyAt + k];
      this.#key = own;
      this.#keyAt = 0;
      if (this.#wire !== undefined) {
        for (let k = 0; k < n; k++) own[256 + k] = b[this.#wireAt + k];
        this.#wire = own;
        this.#wireAt = 256;
      }
    }
  }
}

const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

function latin1(b: Uint8Array, at: number, n: number): string {
  return latin1Slice.call(b, at, at + n);
}

/** The worker's half: records written into chunks, posted as they fill. */
export class ChunkEncoder {
  #buf: Uint8Array | undefined;
  #used = 0;
  #lastName: Name | undefined;
  /** With `#lastName` the octets' marker: which owner of `owner` it was. */
  #lastSeq = 0;
  #lastOrigin: Name | undefined;
  readonly #out: ChunkOut;
  /** The parser's owner as octets (`ParseOptions.ownerOctets`): a new relative owner's. */
  readonly owner = new OwnerOctets();

  constructor(out: ChunkOut) {
    this.#out = out;
  }

  /** The chunk with room for `n` more octets (the one filled sent first). */
  #room(n: number): Uint8Array {
    if (this.#buf !== undefined && this.#used + n <= CHUNK) return this.#buf;
    this.flush();
    const b = this.#out.next();
    if (b === undefined) throw new Error("the parse thread's reader is gone");
    this.#buf = b;
    return b;
  }

  /** Sends what is written (if anything); the next record starts a new chunk. */
  flush(): void {
    if (this.#buf !== undefined && this.#used > 0) this.#out.send(this.#buf, this.#used);
    this.#buf = undefined;
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
    if (name === OwnerOctets.NAME) {
      this.#addOctetOwner(rr, origin, rd, rdLen);
      return;
    }
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
    this.#used = writeFixed(b, p, rr.type, rr.class, rr.ttl, rd, rdLen);
  };

  /**
   * `add` of a record whose owner the parser gave as octets (`owner`): its key written folded
   * from them (A–Z to a–z, as `foldCase`), the spelling after it when a letter was folded; in
   * zone (the parser gives octets only for a name relative to the zone's origin).
   */
  #addOctetOwner(rr: RR, origin: Name | undefined, rd: Uint8Array, rdLen: number): void {
    const o = this.owner;
    const fresh = this.#lastName !== OwnerOctets.NAME || this.#lastSeq !== o.seq;
    const n = o.length;
    const b = this.#room(1 + (fresh ? 1 + 2 * n : 0) + 10 + rdLen);
    let p = this.#used;
    let flags = origin === undefined ? NO_ORIGIN : 0;
    if (fresh) {
      this.#lastName = OwnerOctets.NAME;
      this.#lastSeq = o.seq;
      flags |= NEW_OWNER | IN_ZONE;
      const at = p;
      p += 2;
      const w = o.wire;
      let folded = false;
      for (let i = 0; i < n; i++) {
        const c = w[i];
        if (c >= 0x41 && c <= 0x5a) {
          b[p + i] = c | 0x20;
          folded = true;
        } else b[p + i] = c;
      }
      p += n;
      if (folded) {
        flags |= SPELLED;
        for (let i = 0; i < n; i++) b[p + i] = w[i];
        p += n;
      }
      b[at] = flags;
      b[at + 1] = n;
    } else b[p++] = flags;
    this.#used = writeFixed(b, p, rr.type, rr.class, rr.ttl, rd, rdLen);
  }
}

/** A record's type, class, TTL, RDATA length and RDATA at b[p]; the end. */
function writeFixed(
  b: Uint8Array,
  p: number,
  type: number,
  cls: number,
  ttl: number,
  rd: Uint8Array,
  rdLen: number,
): number {
  writeTypeClassTtl(b, p, type, cls, ttl);
  b[p + 8] = rdLen >> 8;
  b[p + 9] = rdLen;
  p += 10;
  if (rdLen <= 32) for (let i = 0; i < rdLen; i++) b[p + i] = rd[i];
  else b.set(rd, p);
  return p + rdLen;
}
