/**
 * The start of a big zone file's parse thread (src/zone/parse-thread.ts; docs/IMAGE.md "Big
 * zones"): the ring the records come back through (`Ring`), the thread's start
 * (`startLoadThread`, `EarlyParse`), and the early compile thread's own start of it
 * (`prestartParse`, before that thread loads the compiler). Apart from parse-thread.ts so that
 * the parse thread can be started before the parser's and the compiler's modules are loaded
 * in the thread that starts it: this module imports no zone code.
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { ParseOptions } from './parser.js';

/** The load's stage (`loadZoneTextColumns`' `stage`) when the parse thread's first records came. */
export const FIRST_RECORDS = 'first records from the parse thread';

/** load.ts `PARSE_THREAD_TEXT`: a zone text of this many octets is parsed in a thread of its own. */
export const PARSE_THREAD_TEXT = 8 << 20;

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
export const EVENTS = 2;
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
export const SILENCE_MS = 60_000;
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

/** A parse thread as its caller holds it. */
export interface ParseThread {
  worker: Worker;
  ring: Ring;
  /** The caller's end of the thread's port. */
  port: MessagePort;
}

/**
 * Starts a helper thread of the load (`entry` beside this module) given `data`, which holds
 * `channel.port2` (transferred); unref'd, its own `error` ignored (its caller sees it as the
 * thread's silence). Undefined when it could not be started (`channel.port1` closed).
 */
export function startLoadThread(entry: string, data: object, channel: MessageChannel): Worker | undefined {
  let worker: Worker;
  try {
    worker = new Worker(new URL(entry, import.meta.url), {
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

/** Starts the parse thread with `data` (undefined: it could not be started). */
export function spawn(data: ParseThreadData, channel: MessageChannel, ring: Ring): ParseThread | undefined {
  const worker = startLoadThread('./parse-thread-entry.js', data, channel);
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
 * O_NONBLOCK: opening a FIFO named `x.zone` must not hang the thread (compile-thread.ts reads
 * a zone file the same way); on a regular file the flag changes nothing.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** A big file's parse thread started, and the file read, by `prestartParse`. */
export interface PrestartedParse {
  path: string;
  /** The thread, the file's octets read into its buffer, not yet handed over (`go`). */
  early: EarlyParse;
  /** The file as the descriptor read showed it (its fingerprint). */
  st: Stats;
}

let prestarted: PrestartedParse | undefined;

/**
 * Starts the parse thread of the big zone file at `path` and reads the file into its octets,
 * now: the first thing the early compile thread does (compile-thread-early.ts), so that the
 * parse thread's start (a new isolate, the parser's modules: ~0.15 s) runs beside the loading
 * of the compiler's modules in this thread instead of after it. The compile thread's job
 * takes it (`takePrestartedParse`) where it would have read the file itself. Nothing is done
 * (the job reads the file as before) when the file is missing, not a regular file, smaller
 * than `PARSE_THREAD_TEXT`, grows while it is read, or anything fails. True when started.
 */
export function prestartParse(path: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (prestarted !== undefined || env.SWITCHBOARD_PARSE_THREAD === 'off') return false;
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch {
    return false;
  }
  let early: EarlyParse | undefined;
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size < PARSE_THREAD_TEXT) return false;
    early = EarlyParse.start(st.size);
    if (early === undefined || !early.readFd(fd)) return false;
    prestarted = { path, early, st };
    early = undefined;
    return true;
  } catch {
    return false; // read again by the job
  } finally {
    early?.close();
    closeSync(fd);
  }
}

/**
 * The parse thread `prestartParse` started for `path`, once (undefined: none, or for another
 * file, which is then stopped).
 */
export function takePrestartedParse(path: string): PrestartedParse | undefined {
  const p = prestarted;
  prestarted = undefined;
  if (p === undefined || p.path === path) return p;
  p.early.close();
  return undefined;
}
