/**
 * The primary's side of `--images on`: holds the image reference of every served zone, adds
 * new images to the pack writer, and turns changes into zone messages carrying references
 * (never zone text, never image bytes) for the DNS workers — the same snapshot/update
 * protocol as text (start/protocol.ts), so a worker binds only once it has the full set,
 * versions never go back, and a restarted worker gets every current reference.
 *
 * Old images are released to the pack writer only once every worker that could still open
 * them has acknowledged the update that replaced them (a snapshot sent before the update may
 * name them).
 * @module
 */

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { refKey } from '../../image/pack.js';
import { EAGER_OPEN_BYTES } from '../../image/zone-view.js';
import type { CompileJob, CompileOutcome, CompilePool } from './compile-pool.js';
import type { PatchChange, ZonePush, ZonesMessage } from './dns-protocol.js';
import type { ImageRef, PackWriter } from './images.js';
import type { Logger } from './log.js';
import { encodeSnapshot, SnapshotBuilder, snapshotFileName } from './snapshot-file.js';

/**
 * Dead octets in the packs from which a compaction runs (when they are also more than the live
 * ones): the live images of mostly-dead packs are copied into a new pack, the workers are sent
 * the moves, and the old packs go once every worker has them (PackWriter.compact).
 */
export const COMPACT_DEAD_BYTES = 64 * 1024 * 1024;

/** One served zone as the workers know it. */
export interface ShippedZone {
  name: string;
  version: number;
  serial: number;
  ref: ImageRef;
}

/**
 * A change to publish: a new image for `name` (its octets, or `ref`: already added to the pack
 * writer by the caller, and owned by the shipper from the publish on), or (neither) its removal.
 * A change with a `ref` may be kept by the shipper as its `ShippedZone`: it is not changed
 * after it is published.
 */
export interface ImageChange {
  name: string;
  version: number;
  serial: number;
  image?: Uint8Array;
  ref?: ImageRef;
  reset?: boolean;
  /**
   * `image` is a delta image (compile-patch.ts), or `ref` an image this run's compile thread
   * wrote into the packs: the workers open it (a big one) checking its header and section table
   * only, not its CRC-32.
   */
  trusted?: boolean;
}

/** Tuning and wiring. */
export interface ImageShipperOptions {
  /** Sends a message to every worker that has its snapshot. */
  broadcast: (msg: ZonesMessage) => void;
  /** At most this many zones per message (default 2000). */
  batchZones?: number;
  /** Dead pack octets from which a compaction runs (default COMPACT_DEAD_BYTES). */
  compactDeadBytes?: number;
  /**
   * Snapshots of at least this many zones are written as one binary file in the pack folder
   * (snapshot-file.ts) and sent as one message naming it, rather than as batches of JSON
   * refs (default: never; the primaries pass 1).
   */
  snapshotFileZones?: number;
  /**
   * `start`: reads a zone's current text and version (the control plane's `servedZone`), for
   * a push carrying a patch that cannot be applied (its base image is not the one served, the
   * patch was refused or failed): the zone is then compiled from that text. Without it such a
   * push is logged and the zone keeps its image until its next change.
   */
  readZone?: (name: string) => Promise<{ version: number; serial: number; text: string } | null>;
  log?: Logger;
}

/** Images built from diffs and from text because a diff could not be used (`patchStats`). */
export interface PatchStats {
  /** Images built from the previous image and the diff. */
  patched: number;
  /** Of those, delta images: only the names the change reached compiled again (src/image/patch.ts). */
  deltas: number;
  /** Pushes with a diff compiled from the zone's text instead (base not served, refused, failed). */
  fullReads: number;
}

/** A log line summing patch counts at most this often (ms); the first one at once. */
const PATCH_LOG_MS = 10_000;
/** Patches of images at least this big get a line of their own (with the time taken). */
const PATCH_LOG_BYTES = 1024 * 1024;

/** Holds the served images and ships references. */
export class ImageShipper {
  readonly #writer: PackWriter;
  readonly #broadcast: (msg: ZonesMessage) => void;
  readonly #batchZones: number;
  readonly #log: Logger | undefined;
  readonly #compactDead: number;
  readonly #snapshotFileZones: number;
  /**
   * Snapshot files written, by name: the generation they hold and the slots sent them that
   * have not loaded them yet. A file goes once no slot waits for it and a newer one exists (or
   * at close).
   */
  readonly #snapshotFiles = new Map<string, { gen: number; waiting: Set<number> }>();
  /** Bumped whenever the served set changes (publish, compaction): names the snapshot files. */
  #gen = 0;
  #compacting = false;
  /** Compactions run and images moved (for logs and tests). */
  readonly compactions = { runs: 0, moved: 0 };
  readonly #zones = new Map<string, ShippedZone>();
  /** The highest version a zone was ever set to here (versions below it may be stale). */
  #newest = Number.NEGATIVE_INFINITY;
  /**
   * The first snapshot file's octets, built as a cold start publishes (a set only added to,
   * in `#zones`' order), so the workers waiting for it wait only for its columns' copy:
   * dropped at the first change that is not an addition, and once the first file is written.
   */
  #building: SnapshotBuilder | undefined;
  #seq = 0;
  #closed = false;
  /** Per worker slot: the last message it is known to hold (snapshot or acknowledged update). */
  readonly #acked = new Map<number, number>();
  /** Images replaced or removed by the update of `seq`, released once every worker has it. */
  readonly #retiring: { seq: number; refs: ImageRef[] }[] = [];
  readonly #waiters: { seq: number; resolve: () => void }[] = [];
  /** For `ship`: per zone, the last message carrying it that is not published yet. */
  readonly #inflight = new Map<string, Promise<void>>();
  /**
   * For `ship`: per zone, the newest push given and not yet compiled (with the reset of any
   * push it superseded). A push that is not its zone's entry when its turn comes is skipped.
   */
  readonly #wanted = new Map<string, { push: ZonePush; reset: boolean; source: ZonePush }>();
  readonly #readZone: ImageShipperOptions['readZone'];
  /** Counts of the diff path (`start`): for logs and tests. */
  readonly patchStats: PatchStats = { patched: 0, deltas: 0, fullReads: 0 };
  #patchLogAt = Number.NEGATIVE_INFINITY;
  #patchLogged: PatchStats = { patched: 0, deltas: 0, fullReads: 0 };

  constructor(writer: PackWriter, opts: ImageShipperOptions) {
    this.#writer = writer;
    this.#readZone = opts.readZone;
    this.#broadcast = opts.broadcast;
    this.#batchZones = opts.batchZones ?? 2000;
    this.#compactDead = opts.compactDeadBytes ?? COMPACT_DEAD_BYTES;
    this.#snapshotFileZones = opts.snapshotFileZones ?? Number.POSITIVE_INFINITY;
    this.#log = opts.log;
    if (Number.isFinite(this.#snapshotFileZones)) this.#building = new SnapshotBuilder();
  }

  /** Number of zones served. */
  get size(): number {
    return this.#zones.size;
  }

  /** The zone shipped for `name`, if any. */
  get(name: string): ShippedZone | undefined {
    return this.#zones.get(name);
  }

  /**
   * Applies changes (new images are added to the packs) and, when `send` is true, sends them
   * to the workers as update messages. Returns the seq of the last message sent (or the
   * current seq when nothing changed). Throws when the images cannot be stored (a full disk):
   * then no zone changed and nothing was sent.
   */
  publish(changes: Iterable<ImageChange>, send = true): number {
    // Past a cold start (an update goes out): the first snapshot is not built as it comes.
    if (send) this.#building = undefined;
    const pushes: ZonePush[] = [];
    const retired: ImageRef[] = [];
    // New images go into the packs first, in as few writes as possible; a failed write
    // (disk full) leaves every zone as it was.
    const list: ImageChange[] = [];
    const dropped: ImageRef[] = [];
    const newest = this.#newest;
    for (const c of changes) {
      // A version at least the newest ever set is older than none (a load's changes: no lookup
      // here, one in the loop below).
      const have = c.version >= newest ? undefined : this.#zones.get(c.name);
      if (have && !c.reset && c.version < have.version) {
        if (c.ref !== undefined) dropped.push(c.ref);
      } else list.push(c);
    }
    const images = list
      .filter((c) => c.image !== undefined && c.ref === undefined)
      .map((c) => c.image as Uint8Array);
    let refs: ImageRef[];
    try {
      refs = this.#writer.addMany(images);
    } catch (err) {
      // All or nothing: the images stored before the publish go too.
      for (const c of list) if (c.ref !== undefined) this.#writer.release(c.ref);
      for (const r of dropped) this.#writer.release(r);
      throw new Error(
        `cannot store ${images.length} zone images, zones unchanged: ${(err as Error).message}`,
      );
    }
    for (const r of dropped) this.#writer.release(r);
    if (list.length > 0) this.#gen++;
    let nextRef = 0;
    for (const c of list) {
      const have = this.#zones.get(c.name);
      if (c.image === undefined && c.ref === undefined) {
        if (!have) continue;
        this.#building = undefined;
        this.#zones.delete(c.name);
        retired.push(have.ref);
        if (send) pushes.push({ name: c.name, version: c.version, serial: c.serial, text: null });
        continue;
      }
      const ref = c.ref ?? refs[nextRef++];
      // A change that carries its ref and nothing else to let go (no octets, no flags) is kept
      // as the zone's record itself: one object per zone fewer over a cold start's 100,000.
      const shipped: ShippedZone =
        c.ref !== undefined && c.image === undefined && c.reset === undefined && c.trusted === undefined
          ? (c as ShippedZone)
          : { name: c.name, version: c.version, serial: c.serial, ref };
      this.#zones.set(c.name, shipped);
      if (c.version > this.#newest) this.#newest = c.version;
      if (have) {
        retired.push(have.ref);
        this.#building = undefined;
      } else if (this.#building !== undefined)
        try {
          this.#building.add(shipped);
        } catch {
          this.#building = undefined; // encoded whole when asked: the error is reported then
        }
      // Not sent (a cold start: the workers get the set as their snapshot): no push made.
      if (!send) continue;
      const push: ZonePush = { name: c.name, version: c.version, serial: c.serial, text: null, ref };
      if (c.reset) push.reset = true;
      // A delta image the workers opened the version before of (a big one: opened on arrival)
      // is opened trusting its unchanged parts; a small one is validated in full at first query.
      // So is a big image this run's compile thread wrote into the packs (a staged zone's full
      // image, image-primary.ts), as the first snapshot's images are.
      if (
        c.trusted === true &&
        have !== undefined &&
        (c.image?.length ?? c.ref?.length ?? 0) >= EAGER_OPEN_BYTES
      )
        push.trusted = true;
      pushes.push(push);
    }
    if (!send) {
      for (const r of retired) this.#writer.release(r);
      return this.#seq;
    }
    for (let i = 0; i < pushes.length; i += this.#batchZones)
      this.#broadcast(this.#message('update', pushes.slice(i, i + this.#batchZones), true));
    if (retired.length > 0) this.#retiring.push({ seq: this.#seq, refs: retired });
    this.#releaseDue();
    return this.#seq;
  }

  /**
   * `start`: a text message from the ZoneFeed. Its zones are compiled on `pool`, then
   * published in order behind the messages before it. A zone that fails to compile is logged
   * and keeps its previous image.
   *
   * A zone is compiled only when its turn comes (the earlier messages carrying it are
   * published), and only if no newer version of it was given meanwhile: a burst of edits to
   * one zone compiles the first and the last, not every version. A message's zones go to the
   * pool as one `compileMany` (batches of many zones per thread message, no promise per zone;
   * the pool's bounded queue holds the rest back).
   */
  ship(msg: ZonesMessage, pool: CompilePool): void {
    for (const p of msg.zones) {
      const prev = this.#wanted.get(p.name);
      // An older version given later (without a reset) does not supersede a newer one.
      if (prev && !p.reset && p.version < prev.push.version) continue;
      this.#wanted.set(p.name, {
        push: prev && !p.reset ? mergePatches(prev.push, p) : p,
        reset: p.reset === true || prev?.reset === true,
        source: p,
      });
    }
    // A message waits only for the earlier ones that carry one of its zones: each zone's
    // versions go out in order, and a small change is not held up behind another tenant's
    // 100,000-record zone still compiling.
    const names = [...new Set(msg.zones.map((p) => p.name))];
    const before = [...new Set(names.map((n) => this.#inflight.get(n)).filter((p) => p !== undefined))];
    const done: Promise<void> = Promise.all(before)
      .then(async () => {
        if (this.#closed) return;
        // Take this message's current pushes now; later ones supersede nothing taken here.
        const taken: { push: ZonePush; reset: boolean }[] = [];
        for (const p of msg.zones) {
          const w = this.#wanted.get(p.name);
          if (w?.source !== p) continue; // superseded: a later message carries a newer version
          this.#wanted.delete(p.name);
          taken.push(w);
        }
        // One compileMany: the pool cuts it into batches (one message per batch, no promise
        // per zone) and bounds what waits in its queue. A push with a diff whose base is the
        // image served is patched; one whose base is not (an earlier compile failed) is
        // compiled from the zone's text, read now.
        const jobs: CompileJob[] = [];
        const at: number[] = [];
        const full: number[] = [];
        taken.forEach(({ push: p, reset }, i) => {
          if (p.patch) {
            const base = this.#zones.get(p.name);
            if (!reset && base !== undefined && p.version <= base.version) return; // nothing new
            if (reset || base?.version !== p.patch.from) {
              full.push(i);
              return;
            }
            at[i] = jobs.length;
            jobs.push({
              kind: 'patch',
              name: p.name,
              dir: this.#writer.dir,
              ref: base.ref,
              changes: p.patch.changes,
            });
            return;
          }
          if (p.text === null) return;
          at[i] = jobs.length;
          jobs.push({ kind: 'text', name: p.name, text: p.text });
        });
        const started = performance.now();
        const compiled = await pool.compileMany(jobs);
        const took = performance.now() - started;
        const outcomes = taken.map((_, i) => (at[i] === undefined ? null : compiled[at[i]]));
        if (this.#closed) return; // stopping: the compile jobs failed as the pool closed
        // Patches that failed (refused: owners spelled with capitals; a base that could not be
        // read) go the text way too.
        taken.forEach(({ push: p }, i) => {
          const o = outcomes[i];
          if (!p.patch || o === null) return;
          if (o.ok) {
            this.patchStats.patched++;
            if (o.delta !== undefined) this.patchStats.deltas++;
            if (o.image.length >= PATCH_LOG_BYTES)
              this.#log?.info(
                `zone ${p.name} version ${p.version}: image patched from version ${p.patch.from} ` +
                  `(${p.patch.changes.length} RRsets changed, ${o.image.length} octets${o.delta !== undefined ? `, a delta: ${o.delta} names compiled again` : ''}) in ${Math.round(took)} ms`,
              );
          } else {
            this.#log?.info(
              `zone ${p.name} version ${p.version}: ${o.errors.join('; ')}; compiling its text`,
            );
            outcomes[i] = null;
            full.push(i);
          }
        });
        const changes: ImageChange[] = [];
        const fullDone = await this.#compileRead(
          full.map((i) => taken[i].push.name),
          pool,
        );
        if (this.#closed) return;
        const read = new Map(full.map((i, k) => [i, fullDone[k]]));
        taken.forEach(({ push: p, reset }, i) => {
          const r = read.get(i);
          if (r === null) return; // logged, or the zone is gone (its removal follows from the feed)
          const version = r?.version ?? p.version;
          const serial = r?.serial ?? p.serial;
          const o = r ? r.outcome : outcomes[i];
          const change: ImageChange = { name: p.name, version, serial };
          if (reset) change.reset = true;
          if (o === null) {
            if (!p.patch) changes.push(change); // a removal (a patch with nothing new: nothing)
          } else if (o.ok)
            changes.push(
              o.delta !== undefined
                ? { ...change, image: o.image, trusted: true }
                : { ...change, image: o.image },
            );
          else
            this.#log?.error(
              `zone ${p.name} version ${version} not compiled, previous version kept: ${o.errors.join('; ')}`,
            );
        });
        this.publish(changes, msg.kind === 'update');
        this.#logPatchStats();
      })
      .catch((err: unknown) => this.#log?.error(`publishing zone images failed: ${(err as Error).message}`));
    for (const n of names) this.#inflight.set(n, done);
    void done.finally(() => {
      for (const n of names) if (this.#inflight.get(n) === done) this.#inflight.delete(n);
    });
  }

  /**
   * Zones whose diff could not be used: each read whole now (`readZone`) and compiled from its
   * text. Per name: the version read and its outcome, or null (no reader, the zone is gone,
   * the read failed: logged).
   */
  async #compileRead(
    names: string[],
    pool: CompilePool,
  ): Promise<({ version: number; serial: number; outcome: CompileOutcome } | null)[]> {
    if (names.length === 0) return [];
    const readZone = this.#readZone;
    if (!readZone) {
      for (const n of names)
        this.#log?.error(`zone ${n}: its diff cannot be applied and no zone text can be read`);
      return names.map(() => null);
    }
    this.patchStats.fullReads += names.length;
    const zones = await Promise.all(
      names.map((n) =>
        readZone(n).catch((err: unknown) => {
          this.#log?.error(`reading zone ${n} to compile it failed: ${(err as Error).message}`);
          return null;
        }),
      ),
    );
    const jobs: CompileJob[] = [];
    const at: number[] = [];
    zones.forEach((z, i) => {
      if (z === null) return;
      at[i] = jobs.length;
      jobs.push({ kind: 'text', name: names[i], text: z.text });
    });
    const outcomes = await pool.compileMany(jobs);
    return zones.map((z, i) =>
      z === null ? null : { version: z.version, serial: z.serial, outcome: outcomes[at[i]] },
    );
  }

  /** The patch counts, at most once per PATCH_LOG_MS (the first at once). */
  #logPatchStats(): void {
    const s = this.patchStats;
    const last = this.#patchLogged;
    if (s.patched === last.patched && s.fullReads === last.fullReads) return;
    const now = performance.now();
    if (now - this.#patchLogAt < PATCH_LOG_MS) return;
    this.#patchLogAt = now;
    this.#patchLogged = { ...s };
    this.#log?.info(
      `zone images from the control plane's diffs: ${s.patched} patched (${s.deltas} of them delta images), ${s.fullReads} compiled from text instead (since start)`,
    );
  }

  /** Resolves once every message given to `ship` so far is published. */
  async shipped(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all([...new Set(this.#inflight.values())]);
  }

  /**
   * The current set as snapshot messages for worker `slot`, which holds them from now on: one
   * message naming a snapshot file in the pack folder (written once per generation and shared
   * by the workers that ask for it) when the set has `snapshotFileZones` zones or more, else
   * batches of refs (also when the file cannot be written: a full disk).
   */
  snapshot(slot: number): ZonesMessage[] {
    if (this.#zones.size > 0 && this.#zones.size >= this.#snapshotFileZones) {
      let file: string | undefined;
      try {
        file = this.#writeSnapshotFile();
      } catch (err) {
        // A full disk: the same snapshot as messages, below.
        this.#log?.warn(`zone snapshot file not written, sent as messages: ${(err as Error).message}`);
      }
      if (file !== undefined) {
        (this.#snapshotFiles.get(file) as { waiting: Set<number> }).waiting.add(slot);
        const msg = this.#message('snapshot', [], true);
        msg.file = file;
        this.#acked.set(slot, this.#seq);
        return [msg];
      }
    }
    const out: ZonesMessage[] = [];
    let batch: ZonePush[] = [];
    for (const z of this.#zones.values()) {
      batch.push({ name: z.name, version: z.version, serial: z.serial, text: null, ref: z.ref });
      if (batch.length >= this.#batchZones) {
        out.push(this.#message('snapshot', batch, false));
        batch = [];
      }
    }
    if (batch.length > 0 || out.length === 0) out.push(this.#message('snapshot', batch, false));
    out[out.length - 1].last = true;
    this.#acked.set(slot, this.#seq);
    return out;
  }

  /**
   * Worker `slot` applied message `seq`. An ack from a slot that holds no snapshot (it went
   * away, and its last message arrived late) is ignored: it must not hold releases back or
   * put the slot back among those broadcast to.
   */
  acked(slot: number, seq: number): void {
    const have = this.#acked.get(slot);
    if (have === undefined) return;
    if (have < seq) this.#acked.set(slot, seq);
    this.#releaseDue();
  }

  /** Worker `slot` went away: nothing waits for it. */
  gone(slot: number): void {
    this.#acked.delete(slot);
    this.#snapshotLoaded(slot);
    this.#releaseDue();
  }

  /** Worker `slot` serves its snapshot (it said start-ready): it needs no snapshot file now. */
  started(slot: number): void {
    this.#snapshotLoaded(slot);
  }

  /**
   * The snapshot file of the current generation (the seq of the last message sent), written
   * now unless it exists. Refs in it are live: images are released only once every worker
   * acked the update that replaced them, and a worker sent this file holds this seq.
   */
  #writeSnapshotFile(): string {
    const name = snapshotFileName(this.#gen);
    if (this.#snapshotFiles.has(name)) return name;
    const built = this.#building;
    this.#building = undefined;
    const octets =
      built !== undefined && built.count === this.#zones.size
        ? built.finish()
        : encodeSnapshot(this.#zones.values());
    writeFileSync(join(this.#writer.dir, name), octets);
    this.#snapshotFiles.set(name, { gen: this.#gen, waiting: new Set() });
    this.#sweepSnapshotFiles();
    return name;
  }

  #snapshotLoaded(slot: number): void {
    let any = false;
    for (const f of this.#snapshotFiles.values()) if (f.waiting.delete(slot)) any = true;
    if (any) this.#sweepSnapshotFiles();
  }

  /** Removes the snapshot files no worker waits for, but the newest (the next hello may take it). */
  #sweepSnapshotFiles(all = false): void {
    let newest = -1;
    for (const f of this.#snapshotFiles.values()) if (f.gen > newest) newest = f.gen;
    for (const [name, f] of this.#snapshotFiles)
      if (all || (f.waiting.size === 0 && f.gen !== newest)) {
        this.#snapshotFiles.delete(name);
        try {
          rmSync(join(this.#writer.dir, name), { force: true });
        } catch {
          // the folder is gone (the writer closed first): nothing left to remove
        }
      }
  }

  /**
   * Resolves once every live worker applied message `seq` (or went away), or after
   * `timeoutMs`, or once the shipper is closed.
   */
  applied(seq: number, timeoutMs = 600_000): Promise<void> {
    if (this.#closed || this.#lowest() >= seq) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      const waiter = { seq, resolve: done };
      this.#waiters.push(waiter);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** The slots that hold their snapshot. */
  slots(): number[] {
    return [...this.#acked.keys()];
  }

  /**
   * Stops shipping (the process is stopping): whoever waits in `applied` is let go, messages
   * given to `ship` and not yet compiled are dropped without a word. Releases nothing: the
   * packs go when their writer is closed.
   */
  close(): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.resolve();
    this.#sweepSnapshotFiles(true);
  }

  #lowest(): number {
    let low = Number.POSITIVE_INFINITY;
    for (const s of this.#acked.values()) if (s < low) low = s;
    return low;
  }

  #releaseDue(): void {
    const low = this.#lowest();
    while (this.#retiring.length > 0 && this.#retiring[0].seq <= low)
      for (const r of (this.#retiring.shift() as { refs: ImageRef[] }).refs) this.#writer.release(r);
    for (let i = this.#waiters.length - 1; i >= 0; i--)
      if (this.#waiters[i].seq <= low) this.#waiters.splice(i, 1)[0].resolve();
    this.#maybeCompact();
  }

  /**
   * Reclaims dead pack space once it passes the threshold (and the live octets): the writer
   * copies the live images of mostly-dead packs into a new one (synchronous file I/O on this
   * loop, at most the live part of those packs), the served zones whose image moved are sent
   * to the workers as `moved` pushes of the same version, and the old refs retire like any
   * replaced image (released once every worker has the update; a pack with no live image left
   * is unlinked, and the workers' mappings of it go when their last view does). Copies of
   * images that are only retiring (no zone serves them) are released at once: no worker was
   * told of them.
   */
  #maybeCompact(): void {
    if (this.#closed || this.#compacting) return;
    const stats = this.#writer.stats();
    if (stats.dead < this.#compactDead || stats.dead <= stats.live) return;
    this.#compacting = true;
    try {
      let moves: Map<string, ImageRef>;
      try {
        moves = this.#writer.compact();
      } catch (err) {
        this.#log?.warn(`image packs not compacted: ${(err as Error).message}`);
        return;
      }
      if (moves.size === 0) return;
      const pushes: ZonePush[] = [];
      const retired: ImageRef[] = [];
      for (const [name, z] of this.#zones) {
        const key = refKey(z.ref);
        const to = moves.get(key);
        if (to === undefined) continue;
        moves.delete(key);
        retired.push(z.ref);
        this.#building = undefined;
        this.#zones.set(name, { name: z.name, version: z.version, serial: z.serial, ref: to });
        pushes.push({ name, version: z.version, serial: z.serial, text: null, ref: to, moved: true });
      }
      for (const unused of moves.values()) this.#writer.release(unused);
      if (pushes.length > 0) this.#gen++;
      this.compactions.runs++;
      this.compactions.moved += pushes.length;
      for (let i = 0; i < pushes.length; i += this.#batchZones)
        this.#broadcast(this.#message('update', pushes.slice(i, i + this.#batchZones), true));
      if (retired.length > 0) this.#retiring.push({ seq: this.#seq, refs: retired });
      this.#log?.info(
        `image packs compacted: ${pushes.length} zone images moved, ${stats.dead} dead octets to reclaim`,
      );
    } finally {
      this.#compacting = false;
    }
  }

  #message(kind: ZonesMessage['kind'], zones: ZonePush[], last: boolean): ZonesMessage {
    return { type: 'switchboard:zones', kind, seq: ++this.#seq, last, zones };
  }
}

/**
 * The push that supersedes `prev` (both wanted for one zone, neither taken yet): `next`, or,
 * when both carry diffs and `next`'s starts where `prev`'s ends, one diff from `prev`'s base
 * to `next`'s version (the later RRset wins). Anything else keeps `next` as it is: a diff
 * whose base is then not served is compiled from the zone's text.
 */
function mergePatches(prev: ZonePush, next: ZonePush): ZonePush {
  if (!prev.patch || !next.patch || next.patch.from !== prev.version) return next;
  const byKey = new Map<string, PatchChange>();
  const keyOf = (c: PatchChange) => `${c.owner.toLowerCase()}/${c.type}`;
  for (const c of prev.patch.changes) byKey.set(keyOf(c), c);
  for (const c of next.patch.changes) {
    const was = byKey.get(keyOf(c));
    if (c.diff && was !== undefined) {
      // An IXFR's difference after another change of the RRset: composed when both are
      // differences, else (a whole RRset then a difference) not merged at all.
      if (!was.diff) return next;
      byKey.set(keyOf(c), composeDiffs(was, c));
    } else byKey.set(keyOf(c), c);
  }
  return { ...next, patch: { from: prev.patch.from, changes: [...byKey.values()] } };
}

/** Two IXFR differences of one RRset as one (lines compared as `recordLine` writes them). */
function composeDiffs(a: PatchChange, b: PatchChange): PatchChange {
  const lines = (t: string | undefined) => (t ?? '').split('\n').filter((l) => l !== '');
  const bRemoved = new Set(lines(b.was));
  const aAdded = new Set(lines(a.text));
  const removed = new Set([...lines(a.was), ...[...bRemoved].filter((l) => !aAdded.has(l))]);
  const added = new Set([...[...aAdded].filter((l) => !bRemoved.has(l)), ...lines(b.text)]);
  const text = (s: Set<string>) => (s.size === 0 ? '' : `${[...s].join('\n')}\n`);
  return { owner: b.owner, type: b.type, ttl: b.ttl, text: text(added), was: text(removed), diff: true };
}
