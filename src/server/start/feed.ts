/**
 * The primary's zone feed for `switchboard start`: holds the master-file text of every served
 * zone, listens to the control plane's change events, and turns them into zone messages for
 * the DNS workers.
 *
 * - Bursts coalesce: changes are collected for `coalesceMs`, each changed zone is then read
 *   once (its latest version) and sent once.
 * - One flush at a time, in order: what the feed sends for a zone always comes from a read
 *   made after the previous one, so a worker can never be sent an older version after a
 *   newer one. Workers also carry each zone's version and ignore older ones (defence in depth).
 * - A worker that (re)starts gets the feed's current set as a snapshot; the feed's messages
 *   after that follow on the same ordered IPC channel.
 * - With `patches` (`--images on`): a zone held at a version is read as its changes since
 *   that version (the control plane's diff, `servedChanges`) rather than whole, and pushed
 *   as a `patch` the image shipper applies to the served image; the whole zone is read only
 *   when the diff cannot say (another zone of that name, pruned versions, a big import).
 *   Once the cold compile is done the feed keeps no zone text (`dropTexts`): the images hold
 *   the zones.
 * @module
 */
import type { ServedChanges, ServedZone, ZoneChangeEvent } from '../../control/types.js';
import type { Logger } from '../shared/log.js';
import type { ZonePush, ZonesMessage } from './protocol.js';

/** The part of the ControlPlane the feed reads. */
export interface ZoneSource {
  onZoneChange(listener: (ev: ZoneChangeEvent) => void): () => void;
  servedZones(): AsyncIterable<ServedZone>;
  servedZone(name: string): Promise<ServedZone | null>;
  /** A zone's changes since a version (the control plane's diff): with `patches`. */
  servedChanges?(name: string, since: { id: string; version: number }): Promise<ServedChanges | null>;
}

/** Feed tuning. */
export interface ZoneFeedOptions {
  /** Changes arriving within this window are sent together (ms, default 5). */
  coalesceMs?: number;
  /** At most this many zones per message (default 2000). */
  batchZones?: number;
  /** About this many characters of zone text per message (default 4 MiB). */
  batchChars?: number;
  /** Zones read from the control plane at once during a flush (default 16). */
  concurrency?: number;
  /** Delay before retrying zones whose read failed (ms, default 500). */
  retryMs?: number;
  log?: Logger;
  /**
   * Called for each zone sent to the workers in an update, with the milliseconds since its
   * first change event not yet sent (metrics: zone publish latency).
   */
  onPublished?: (latencyMs: number) => void;
  /**
   * Push a held zone's changes as a `patch` (its diff since the version held) instead of its
   * text, when the source can read diffs (`--images on`: the shipper patches the image).
   */
  patches?: boolean;
  /**
   * The IXFR journal's feed (src/xfr/journal.ts): called for every zone pushed, in order, with
   * its diff from the serial held to the new one when it was pushed as a patch, else with null
   * (the zone's history starts over).
   */
  onJournal?: (name: string, step: JournalStep | null) => void;
}

/** One zone's change as the journal takes it: serials, and its RRsets then and now. */
export interface JournalStep {
  fromSerial: number;
  toSerial: number;
  changes: ServedChanges['changes'];
}

/** Feeds the DNS workers from the control plane. */
export class ZoneFeed {
  readonly #source: ZoneSource;
  readonly #broadcast: (msg: ZonesMessage) => void;
  readonly #coalesceMs: number;
  readonly #batchZones: number;
  readonly #batchChars: number;
  readonly #concurrency: number;
  readonly #retryMs: number;
  readonly #log: Logger | undefined;
  readonly #onPublished: ((latencyMs: number) => void) | undefined;
  readonly #patches: boolean;
  readonly #onJournal: ((name: string, step: JournalStep | null) => void) | undefined;
  /** `dropTexts` was called: zones are held without their text. */
  #textless = false;
  /** When each pending zone's oldest unsent change was noticed (performance.now()). */
  readonly #noticedAt = new Map<string, number>();
  readonly #zones = new Map<string, ServedZone>();
  readonly #pending = new Set<string>();
  #seq = 0;
  #loaded = false;
  #closed = false;
  #flushing = false;
  #timer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;
  #idleWaiters: (() => void)[] = [];

  constructor(source: ZoneSource, broadcast: (msg: ZonesMessage) => void, opts: ZoneFeedOptions = {}) {
    this.#source = source;
    this.#broadcast = broadcast;
    this.#coalesceMs = opts.coalesceMs ?? 5;
    this.#batchZones = opts.batchZones ?? 2000;
    this.#batchChars = opts.batchChars ?? 4 * 1024 * 1024;
    this.#concurrency = opts.concurrency ?? 16;
    this.#retryMs = opts.retryMs ?? 500;
    this.#log = opts.log;
    this.#onPublished = opts.onPublished;
    this.#patches = opts.patches === true && source.servedChanges !== undefined;
    this.#onJournal = opts.onJournal;
  }

  /**
   * Forgets every zone's text, keeping name, version, serial and id (`--images on`, once the
   * images are compiled: 100,000 zones' texts are ~100 MB the primary needs no more). Changes
   * are then sent as patches, or as text read for the push; `snapshot` cannot be called.
   */
  dropTexts(): void {
    this.#textless = true;
    for (const [name, z] of this.#zones) this.#zones.set(name, withoutText(z));
  }

  /** Number of zones held. */
  get size(): number {
    return this.#zones.size;
  }

  /** The zone held for `name`, if any. */
  get(name: string): ServedZone | undefined {
    return this.#zones.get(name);
  }

  /**
   * Subscribes to changes, then reads every zone. Changes that happen while reading are
   * kept and applied after (read again, so the feed ends up at their latest version).
   */
  async load(): Promise<void> {
    this.#unsubscribe = this.#source.onZoneChange((ev) => this.notify(ev.zone));
    for await (const z of this.#source.servedZones()) {
      if (this.#closed) return;
      this.#zones.set(z.name, z);
    }
    this.#loaded = true;
    if (this.#pending.size > 0) this.#schedule(0);
  }

  /** Notes that `zone` may have changed (called for every change event). */
  notify(zone: string): void {
    if (this.#closed) return;
    this.#pending.add(zone);
    if (this.#onPublished && !this.#noticedAt.has(zone)) this.#noticedAt.set(zone, performance.now());
    if (this.#loaded) this.#schedule(this.#coalesceMs);
  }

  /** The current set as snapshot messages, for a worker that just started. */
  snapshot(): ZonesMessage[] {
    if (this.#textless) throw new Error('internal: the zone feed holds no zone text (dropTexts)');
    const out: ZonesMessage[] = [];
    const pushes: ZonePush[] = [];
    for (const z of this.#zones.values()) pushes.push(toPush(z, false));
    for (const batch of this.#batches(pushes)) out.push(this.#message('snapshot', batch, false));
    if (out.length === 0) out.push(this.#message('snapshot', [], true));
    else out[out.length - 1].last = true;
    return out;
  }

  /** Resolves when every change noticed so far has been sent. */
  settled(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops listening; pending changes are dropped. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pending.clear();
    this.#noticedAt.clear();
    this.#wakeIdle();
  }

  #idle(): boolean {
    return this.#closed || (this.#pending.size === 0 && !this.#flushing && this.#timer === null);
  }

  #wakeIdle(): void {
    if (!this.#idle()) return;
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  #schedule(ms: number): void {
    if (this.#timer !== null || this.#flushing || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#flush();
    }, ms);
  }

  async #flush(): Promise<void> {
    if (this.#flushing || this.#closed) return;
    this.#flushing = true;
    const names = [...this.#pending];
    this.#pending.clear();
    // Changes noticed from here on are timed afresh: this flush may read before them.
    const noticed = this.#takeNoticed(names);
    const pushes: ZonePush[] = [];
    const failed: string[] = [];
    try {
      // Read the zones (a few at a time); the results are applied in name order below.
      const results = new Map<string, ServedZone | null>();
      const patched = new Map<string, ServedChanges>();
      let next = 0;
      const readOne = async (): Promise<void> => {
        while (next < names.length) {
          const name = names[next++];
          try {
            const had = this.#zones.get(name);
            if (this.#patches && had?.id !== undefined && this.#source.servedChanges) {
              const changes = await this.#source.servedChanges(name, { id: had.id, version: had.version });
              if (changes !== null) {
                patched.set(name, changes);
                continue;
              }
            }
            results.set(name, await this.#source.servedZone(name));
          } catch (err) {
            failed.push(name);
            this.#log?.error(`reading zone ${name} for the DNS workers failed: ${(err as Error).message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#concurrency, names.length) }, readOne));
      if (this.#closed) return;
      for (const name of names) {
        const changes = patched.get(name);
        if (changes !== undefined) {
          const had = this.#zones.get(name) as ServedZone;
          if (changes.version === had.version) continue;
          pushes.push({
            name,
            version: changes.version,
            serial: changes.serial,
            text: null,
            patch: { from: had.version, changes: changes.changes },
          });
          this.#journal(name, { fromSerial: had.serial, toSerial: changes.serial, changes: changes.changes });
          this.#zones.set(name, {
            name,
            version: changes.version,
            serial: changes.serial,
            text: '',
            id: changes.id,
          });
          continue;
        }
        if (!results.has(name)) continue;
        const now = results.get(name) ?? null;
        const had = this.#zones.get(name);
        if (now === null) {
          if (!had) continue;
          this.#zones.delete(name);
          pushes.push({ name, version: had.version, serial: had.serial, text: null });
          this.#journal(name, null);
          continue;
        }
        if (had && had.version === now.version && sameContent(had, now, this.#textless)) continue;
        // A lower version than the one held: the zone was deleted and created again in between.
        pushes.push(toPush(now, had !== undefined && now.version < had.version));
        this.#journal(name, null);
        this.#zones.set(name, this.#textless ? withoutText(now) : now);
      }
      for (const batch of this.#batches(pushes)) this.#broadcast(this.#message('update', batch, true));
      if (this.#onPublished) {
        const now = performance.now();
        for (const p of pushes) {
          const at = noticed.get(p.name);
          if (at !== undefined) this.#onPublished(now - at);
        }
      }
    } finally {
      this.#flushing = false;
      for (const name of failed) {
        this.#pending.add(name);
        // A retried zone keeps the time of its first change.
        const at = noticed.get(name);
        if (at !== undefined) this.#noticedAt.set(name, Math.min(at, this.#noticedAt.get(name) ?? at));
      }
      if (!this.#closed && this.#pending.size > 0)
        this.#schedule(
          failed.length > 0 && this.#pending.size === failed.length ? this.#retryMs : this.#coalesceMs,
        );
      this.#wakeIdle();
    }
  }

  #journal(name: string, step: JournalStep | null): void {
    try {
      this.#onJournal?.(name, step);
    } catch (err) {
      this.#log?.error(`IXFR journal of zone ${name}: ${(err as Error).message}`);
    }
  }

  /** Removes and returns the notice times of `names`. */
  #takeNoticed(names: string[]): Map<string, number> {
    const out = new Map<string, number>();
    if (!this.#onPublished) return out;
    for (const name of names) {
      const at = this.#noticedAt.get(name);
      if (at === undefined) continue;
      out.set(name, at);
      this.#noticedAt.delete(name);
    }
    return out;
  }

  *#batches(pushes: ZonePush[]): Generator<ZonePush[]> {
    let batch: ZonePush[] = [];
    let chars = 0;
    for (const p of pushes) {
      const size = p.text?.length ?? 0;
      if (batch.length > 0 && (batch.length >= this.#batchZones || chars + size > this.#batchChars)) {
        yield batch;
        batch = [];
        chars = 0;
      }
      batch.push(p);
      chars += size;
    }
    if (batch.length > 0) yield batch;
  }

  #message(kind: ZonesMessage['kind'], zones: ZonePush[], last: boolean): ZonesMessage {
    return { type: 'switchboard:zones', kind, seq: ++this.#seq, last, zones };
  }
}

/** The zone held without its text. */
function withoutText(z: ServedZone): ServedZone {
  const out: ServedZone = { name: z.name, version: z.version, serial: z.serial, text: '' };
  if (z.id !== undefined) out.id = z.id;
  return out;
}

/**
 * Two reads of one version hold the same content: the same text, or, with the text dropped,
 * the same zone (a zone deleted and created again may reach the same version number).
 */
function sameContent(had: ServedZone, now: ServedZone, textless: boolean): boolean {
  if (!textless) return had.text === now.text;
  return had.id !== undefined && had.id === now.id;
}

function toPush(z: ServedZone, reset: boolean): ZonePush {
  const p: ZonePush = { name: z.name, version: z.version, serial: z.serial, text: z.text };
  if (reset) p.reset = true;
  return p;
}
