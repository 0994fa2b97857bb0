/**
 * Zone work off the request loop: a worker thread runs `runZoneJob` (parse, validate, build
 * and check, diff, encode rows) so that a 100,000-record import does not stall the API for
 * every other tenant. The worker keeps the content of big zones between changes (keyed by
 * zone id and version, promoted only when the caller says the change committed), so the
 * next change of such a zone sends no rows. The worker has a heap cap: a request that runs
 * it out of memory fails alone (the worker is replaced), the process lives on.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { Store } from '../store/index.js';
import type { CheckedContent } from './incremental.js';
import { type RecordMemo, renderServedText, type ZoneContent } from './records.js';
import { collectGarbage, type StageTarget, stageContent } from './staging.js';
import { ControlError, type ControlErrorCode } from './types.js';
import { contentOfRows, runZoneJob, type StoredRRset, type ZoneJob, type ZoneWork } from './zone-work.js';

/** Zones of at least this many records keep their content in the worker between changes. */
export const CACHE_MIN_RECORDS = 2000;
/** How many such zones are kept (least recently changed dropped first). */
export const CACHE_ZONES = 4;
/** Pause of the zone-work thread between two staged slices (ms). */
const STAGE_PAUSE_MS = 4;
/** Default heap cap of the worker thread (MiB). */
export const DEFAULT_WORKER_HEAP_MB = 1536;

/** Which content a job starts from: a stored zone at a version, or nothing (a new zone). */
export interface JobBase {
  zoneId: string;
  version: number;
  /** Reads the zone's rows; called only when the worker does not hold that version. */
  rows: () => Promise<StoredRRset[]>;
  /**
   * False: the thread must not stage a new content itself (the caller is inside a write
   * transaction, which the thread's own connection would have to wait for, or race).
   */
  stage?: boolean;
}

/** A finished job: what to write, and the ticket to report the outcome with. */
export interface JobResult {
  work: ZoneWork;
  ticket: number;
}

/** Where zone jobs run. */
export interface ZoneWorkRunner {
  run(job: ZoneJob, base: JobBase | undefined): Promise<JobResult>;
  /** The change of `ticket` committed as `version` of `zoneId`: keep its content. */
  committed(ticket: number, zoneId: string, version: number): void;
  /** The change of `ticket` was not written: drop its content. */
  discarded(ticket: number): void;
  /** A zone is gone (deleted, or changed by a path that bypasses the runner). */
  forget(zoneId: string): void;
  /** Deletes due old contents on the runner's thread; false when it cannot (do it yourself). */
  collect(): boolean;
  /** Runs `decodeBody(route, bytes)` of the module at URL `decoder` on the runner's thread. */
  decode(decoder: string, route: string, bytes: Uint8Array): Promise<unknown>;
  /**
   * The served text (`renderServedText`) of `zoneId` at `version`, rendered on the runner's
   * thread from the content it keeps; undefined when it keeps no such version.
   */
  servedText(zoneId: string, version: number): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Messages to the worker. */
export type ToWorker =
  | {
      type: 'job';
      id: number;
      job: ZoneJob;
      zoneId?: string;
      version?: number;
      rows?: StoredRRset[];
      /** SQLite store file: write a whole new content there yourself (see ZoneWorkState.#stage). */
      stageFile?: string;
    }
  | { type: 'commit'; id: number; zoneId: string; version: number }
  | { type: 'discard'; id: number }
  | { type: 'forget'; zoneId: string }
  | { type: 'collect'; stageFile: string }
  | { type: 'decode'; id: number; decoder: string; route: string; bytes: Uint8Array }
  | { type: 'render'; id: number; zoneId: string; version: number };

/** Messages from the worker. */
export type FromWorker =
  | { type: 'done'; id: number; work: ZoneWork }
  | { type: 'decoded'; id: number; value: unknown }
  | { type: 'rendered'; id: number; text?: string }
  | { type: 'miss'; id: number }
  | {
      type: 'error';
      id: number;
      control?: { code: ControlErrorCode; message: string; field?: string };
      message: string;
    };

/** What a request-body decoder module exports (see ControlPlane.decodeBody). */
interface BodyDecoder {
  decodeBody(route: string, bytes: Uint8Array): unknown;
}

const decoders = new Map<string, Promise<BodyDecoder>>();

/** Runs a decoder module's `decodeBody` (the module loaded once per thread). */
export async function runDecoder(decoder: string, route: string, bytes: Uint8Array): Promise<unknown> {
  let mod = decoders.get(decoder);
  if (!mod) {
    mod = import(decoder) as Promise<BodyDecoder>;
    decoders.set(decoder, mod);
    mod.catch(() => decoders.delete(decoder));
  }
  return (await mod).decodeBody(route, bytes);
}

/** Cached content and outcomes awaiting their commit: the state a runner keeps per thread. */
export class ZoneWorkState {
  readonly #cache = new Map<
    string,
    { version: number; content: ZoneContent; memo: RecordMemo; checked?: CheckedContent }
  >();
  readonly #pending = new Map<
    number,
    { content: ZoneContent; memo: RecordMemo; records: number; checked?: CheckedContent }
  >();
  #store: Store | undefined;

  /** Handles one message; the caller handles the next only once this one is answered. */
  async handle(msg: ToWorker): Promise<FromWorker | undefined> {
    switch (msg.type) {
      case 'decode':
        return this.decode(msg);
      case 'render': {
        const hit = this.#cache.get(msg.zoneId);
        if (!hit || hit.version !== msg.version) return { type: 'rendered', id: msg.id };
        // In owner-key and type order, as servedZone reads the rows (src/image/patch.ts builds
        // a zone's records in that order too).
        const sets = [...hit.content.values()].sort((a, b) =>
          a.nameKey < b.nameKey ? -1 : a.nameKey > b.nameKey ? 1 : a.type - b.type,
        );
        return { type: 'rendered', id: msg.id, text: renderServedText(sets) };
      }
      case 'job':
        return this.#job(msg);
      case 'commit': {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        this.#cache.delete(msg.zoneId);
        if (!p || p.records < CACHE_MIN_RECORDS) return undefined;
        this.#cache.set(msg.zoneId, {
          version: msg.version,
          content: p.content,
          memo: p.memo,
          ...(p.checked ? { checked: p.checked } : {}),
        });
        while (this.#cache.size > CACHE_ZONES) {
          const oldest = this.#cache.keys().next().value;
          if (oldest === undefined) break;
          this.#cache.delete(oldest);
        }
        return undefined;
      }
      case 'discard':
        this.#pending.delete(msg.id);
        return undefined;
      case 'forget':
        this.#cache.delete(msg.zoneId);
        return undefined;
      case 'collect':
        try {
          await collectGarbage(this.#target(msg.stageFile));
        } catch {
          // Tried again after the next change (and at the next start).
        }
        return undefined;
    }
  }

  /** Closes this thread's connection to the store. */
  async close(): Promise<void> {
    const store = this.#store;
    this.#store = undefined;
    await store?.close();
  }

  /**
   * Staging and collection (staging.ts) through this thread's own connection to the SQLite
   * file, so that the request loop's connection only switches: a pause of STAGE_PAUSE_MS
   * between two transactions lets the loop's writes in (they retry on busy);
   * synchronous=NORMAL but for the last staged slice, whose commit (FULL) syncs the WAL the
   * slices are in before the zone points at them.
   */
  #target(file: string): StageTarget {
    if (!this.#store) this.#store = Store.attachSqlite(file);
    const store = this.#store;
    return {
      write: (fn) => store.transaction(fn),
      read: store.repo,
      pause: () => new Promise((resolve) => setTimeout(resolve, STAGE_PAUSE_MS)),
      lastSlice: {
        before: async () => {
          await sql`pragma synchronous = FULL`.execute(store.db);
        },
        after: async () => {
          await sql`pragma synchronous = NORMAL`.execute(store.db);
        },
      },
    };
  }

  /** A request body decoded (parsed, validated, mapped) by the decoder module it names. */
  async decode(msg: Extract<ToWorker, { type: 'decode' }>): Promise<FromWorker> {
    try {
      return { type: 'decoded', id: msg.id, value: await runDecoder(msg.decoder, msg.route, msg.bytes) };
    } catch (err) {
      return { type: 'error', id: msg.id, message: (err as Error)?.stack ?? String(err) };
    }
  }

  async #job(msg: Extract<ToWorker, { type: 'job' }>): Promise<FromWorker> {
    let content: ZoneContent = new Map();
    let memo: RecordMemo = new Map();
    let checked: CheckedContent | undefined;
    if (msg.zoneId !== undefined) {
      const hit = this.#cache.get(msg.zoneId);
      if (hit && hit.version === msg.version) {
        content = hit.content;
        memo = hit.memo;
        checked = hit.checked;
      } else if (msg.rows) content = contentOfRows(msg.rows);
      else return { type: 'miss', id: msg.id };
    }
    try {
      const out = runZoneJob(msg.job, content, memo, checked);
      // Worked out in place: the cached version is gone (it comes back with the commit).
      if (out.inPlace && msg.zoneId !== undefined) this.#cache.delete(msg.zoneId);
      if (out.work.stage && msg.stageFile !== undefined) {
        out.work.stageId = await stageContent(this.#target(msg.stageFile), out.work.rows);
        out.work.rows = [];
      }
      if (!out.work.noop)
        this.#pending.set(msg.id, {
          content: out.draft,
          memo: out.memo,
          records: out.work.recordCount,
          ...(out.checked ? { checked: out.checked } : {}),
        });
      return { type: 'done', id: msg.id, work: out.work };
    } catch (err) {
      if (err instanceof ControlError)
        return {
          type: 'error',
          id: msg.id,
          control: {
            code: err.code,
            message: err.message,
            ...(err.field !== undefined ? { field: err.field } : {}),
          },
          message: err.message,
        };
      return { type: 'error', id: msg.id, message: (err as Error)?.stack ?? String(err) };
    }
  }
}

function errorOf(msg: Extract<FromWorker, { type: 'error' }>): Error {
  if (msg.control) return new ControlError(msg.control.code, msg.control.message, msg.control.field);
  return new Error(`zone work failed: ${msg.message}`);
}

/** Runs jobs on the calling thread (tests, and `offload: false`): same protocol, no thread. */
export class InlineZoneWork implements ZoneWorkRunner {
  readonly #state = new ZoneWorkState();
  #next = 1;

  async run(job: ZoneJob, base: JobBase | undefined): Promise<JobResult> {
    const id = this.#next++;
    const msg: ToWorker = { type: 'job', id, job, zoneId: base?.zoneId, version: base?.version };
    let reply = await this.#state.handle(msg);
    if (reply?.type === 'miss' && base) reply = await this.#state.handle({ ...msg, rows: await base.rows() });
    if (reply?.type === 'done') return { work: reply.work, ticket: id };
    if (reply?.type === 'error') throw errorOf(reply);
    throw new Error('zone work: no answer');
  }

  committed(ticket: number, zoneId: string, version: number): void {
    void this.#state.handle({ type: 'commit', id: ticket, zoneId, version });
  }

  discarded(ticket: number): void {
    void this.#state.handle({ type: 'discard', id: ticket });
  }

  forget(zoneId: string): void {
    void this.#state.handle({ type: 'forget', zoneId });
  }

  collect(): boolean {
    return false;
  }

  decode(decoder: string, route: string, bytes: Uint8Array): Promise<unknown> {
    return runDecoder(decoder, route, bytes);
  }

  async servedText(zoneId: string, version: number): Promise<string | undefined> {
    const reply = await this.#state.handle({ type: 'render', id: this.#next++, zoneId, version });
    return reply?.type === 'rendered' ? reply.text : undefined;
  }

  async close(): Promise<void> {
    await this.#state.close();
  }
}

interface Inflight {
  resolve: (r: FromWorker) => void;
  reject: (err: Error) => void;
}

/**
 * One worker thread (the machine this runs on has few cores, shared with the DNS workers:
 * one thread bounds what heavy requests take from them; jobs queue in order). Started on
 * first use, replaced when it dies.
 */
export class ThreadZoneWork implements ZoneWorkRunner {
  readonly #heapMb: number;
  #worker: Worker | undefined;
  readonly #inflight = new Map<number, Inflight>();
  #next = 1;
  #closed = false;

  readonly #stageFile: string | undefined;

  /** `stageFile`: the SQLite store, where the thread writes big new contents itself. */
  constructor(opts: { heapMb?: number; stageFile?: string } = {}) {
    this.#heapMb = opts.heapMb ?? DEFAULT_WORKER_HEAP_MB;
    this.#stageFile = opts.stageFile;
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const w = new Worker(new URL('./offload-worker.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.#heapMb },
    });
    // Never keeps the process alive by itself.
    w.unref();
    w.on('message', (msg: FromWorker) => {
      const f = this.#inflight.get(msg.id);
      if (!f) return;
      this.#inflight.delete(msg.id);
      f.resolve(msg);
    });
    const fail = (err: Error): void => {
      if (this.#worker !== w) return;
      this.#worker = undefined;
      const oom = (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
      for (const [id, f] of this.#inflight) {
        this.#inflight.delete(id);
        f.reject(
          oom
            ? new ControlError(
                'CTL_ERR_VALIDATION',
                `the request needs more memory than one request may use (${this.#heapMb} MiB): send it in parts`,
              )
            : new Error(`zone work thread failed: ${err.message}`),
        );
      }
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    this.#worker = w;
    return w;
  }

  #send(msg: Extract<ToWorker, { type: 'job' | 'decode' | 'render' }>): Promise<FromWorker> {
    if (this.#closed) return Promise.reject(new Error('the control plane is closed'));
    const w = this.#start();
    return new Promise<FromWorker>((resolve, reject) => {
      this.#inflight.set(msg.id, { resolve, reject });
      w.postMessage(msg);
    });
  }

  async run(job: ZoneJob, base: JobBase | undefined): Promise<JobResult> {
    const id = this.#next++;
    const msg = {
      type: 'job' as const,
      id,
      job,
      zoneId: base?.zoneId,
      version: base?.version,
      ...(this.#stageFile !== undefined && base?.stage !== false ? { stageFile: this.#stageFile } : {}),
    };
    let reply = await this.#send(msg);
    if (reply.type === 'miss' && base) reply = await this.#send({ ...msg, rows: await base.rows() });
    if (reply.type === 'done') return { work: reply.work, ticket: id };
    if (reply.type === 'error') throw errorOf(reply);
    throw new Error('zone work: the thread lost the content it was sent');
  }

  #post(msg: ToWorker): void {
    // After a restart the new thread holds nothing: nothing to tell it.
    this.#worker?.postMessage(msg);
  }

  committed(ticket: number, zoneId: string, version: number): void {
    this.#post({ type: 'commit', id: ticket, zoneId, version });
  }

  discarded(ticket: number): void {
    this.#post({ type: 'discard', id: ticket });
  }

  forget(zoneId: string): void {
    this.#post({ type: 'forget', zoneId });
  }

  async decode(decoder: string, route: string, bytes: Uint8Array): Promise<unknown> {
    const reply = await this.#send({ type: 'decode', id: this.#next++, decoder, route, bytes });
    if (reply.type === 'decoded') return reply.value;
    if (reply.type === 'error') throw errorOf(reply);
    throw new Error('zone work: no answer');
  }

  async servedText(zoneId: string, version: number): Promise<string | undefined> {
    // A thread not started holds nothing.
    if (!this.#worker) return undefined;
    const reply = await this.#send({ type: 'render', id: this.#next++, zoneId, version });
    return reply.type === 'rendered' ? reply.text : undefined;
  }

  collect(): boolean {
    if (this.#stageFile === undefined || this.#closed) return false;
    this.#start().postMessage({ type: 'collect', stageFile: this.#stageFile } satisfies ToWorker);
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const w = this.#worker;
    this.#worker = undefined;
    for (const [id, f] of this.#inflight) {
      this.#inflight.delete(id);
      f.reject(new Error('the control plane is closed'));
    }
    if (w) await w.terminate();
  }
}

/**
 * Small jobs on the calling thread, big ones in the worker thread: a one-record change of a
 * small zone (a millisecond of work) must not queue behind another tenant's 100,000-record
 * import in the worker.
 */
export class SplitZoneWork implements ZoneWorkRunner {
  readonly #small: ZoneWorkRunner;
  readonly #big: ZoneWorkRunner;
  readonly #tickets = new Map<number, { runner: ZoneWorkRunner; ticket: number }>();
  #next = 1;

  constructor(small: ZoneWorkRunner, big: ZoneWorkRunner) {
    this.#small = small;
    this.#big = big;
  }

  run(job: ZoneJob, base: JobBase | undefined): Promise<JobResult>;
  run(job: ZoneJob, base: JobBase | undefined, small?: boolean): Promise<JobResult>;
  async run(job: ZoneJob, base: JobBase | undefined, small = false): Promise<JobResult> {
    const runner = small ? this.#small : this.#big;
    const r = await runner.run(job, base);
    const ticket = this.#next++;
    this.#tickets.set(ticket, { runner, ticket: r.ticket });
    return { work: r.work, ticket };
  }

  committed(ticket: number, zoneId: string, version: number): void {
    const t = this.#tickets.get(ticket);
    this.#tickets.delete(ticket);
    // The other runner's copy of the zone, if any, is now behind.
    (t?.runner === this.#small ? this.#big : this.#small).forget(zoneId);
    if (t) t.runner.committed(t.ticket, zoneId, version);
  }

  discarded(ticket: number): void {
    const t = this.#tickets.get(ticket);
    this.#tickets.delete(ticket);
    if (t) t.runner.discarded(t.ticket);
  }

  forget(zoneId: string): void {
    this.#small.forget(zoneId);
    this.#big.forget(zoneId);
  }

  collect(): boolean {
    return this.#big.collect();
  }

  async servedText(zoneId: string, version: number): Promise<string | undefined> {
    return (await this.#big.servedText(zoneId, version)) ?? this.#small.servedText(zoneId, version);
  }

  /** Big bodies only come here: always the big runner (the worker thread). */
  decode(decoder: string, route: string, bytes: Uint8Array): Promise<unknown> {
    return this.#big.decode(decoder, route, bytes);
  }

  async close(): Promise<void> {
    await this.#small.close();
    await this.#big.close();
  }
}
