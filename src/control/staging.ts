/**
 * Staging and collection of zone contents (migration 7): the one implementation, run on the
 * request loop (PostgreSQL, and SQLite when zone work runs inline) and on the zone-work
 * thread's own SQLite connection (offload.ts), each with its own way to pause.
 *
 * A zone's rows are keyed by a content id the zone row points to. A big new content is
 * written under a new id in short transactions, one slice each (`stageContent`), listed in
 * content_gc until the zone is switched to it in one short write: a crash mid-way leaves
 * only rows that become due for collection. Rows of replaced, abandoned and purged contents
 * are deleted a slice of owner names per short transaction (`collectGarbage`).
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Repo } from '../store/index.js';
import type { StoredRRset } from './zone-work.js';

/** A staged content not switched to within this time is deleted (a crash mid-way). */
export const STAGE_GRACE_MS = 60 * 60 * 1000;
/** Owner names per collecting transaction. */
export const GC_SLICE = 500;
/** Content ids listed per look at content_gc. */
const GC_IDS = 16;

/** Where and how staging and collection write. */
export interface StageTarget {
  /** Runs `fn` in one (short) write transaction. */
  write<T>(fn: (repo: Repo) => Promise<T>): Promise<T>;
  /** Reads outside any transaction (content_gc). */
  read: Repo;
  /** Between two transactions: lets the other writers in. */
  pause(): Promise<void>;
  /**
   * Around the last slice's transaction (the zone-work thread makes that commit sync the
   * WAL, with every slice before it, so the switching commit syncs only its own pages).
   */
  lastSlice?: { before(): Promise<void>; after(): Promise<void> };
  /** True when the work should stop (closing). */
  stopped?(): boolean;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Writes a whole content (JSON slices of stored rows, see zone-work.ts `ROW_SLICE`) under a
 * new content id, one transaction per slice; returns the id. It is listed for collection
 * `STAGE_GRACE_MS` on; the switching transaction takes it off the list (`adoptContent`).
 * A failure makes it due at once and rethrows.
 */
export async function stageContent(t: StageTarget, slices: readonly string[]): Promise<string> {
  const id = randomUUID();
  await t.write((repo) => repo.addGarbage(id, iso(Date.now() + STAGE_GRACE_MS)));
  try {
    for (let i = 0; i < slices.length; i++) {
      const rows = (JSON.parse(slices[i]) as StoredRRset[]).map((r) => ({ zone_id: id, ...r }));
      const last = i === slices.length - 1 ? t.lastSlice : undefined;
      await last?.before();
      try {
        await t.write((repo) => repo.insertRRsets(rows));
      } finally {
        await last?.after();
      }
      await t.pause();
    }
  } catch (err) {
    await abandonContent(t, id).catch(() => {
      // Due an hour on anyway.
    });
    throw err;
  }
  return id;
}

/** A staged content that will not be used: its rows are due for collection now. */
export async function abandonContent(t: Pick<StageTarget, 'write'>, id: string): Promise<void> {
  await t.write(async (repo) => {
    await repo.removeGarbage(id);
    await repo.addGarbage(id, iso(Date.now()));
  });
}

/** In the transaction that makes `id` a zone's content: it is no longer garbage. */
export async function adoptContent(repo: Repo, id: string): Promise<void> {
  await repo.removeGarbage(id);
}

/** In the transaction that replaces content `old`: its rows are due for collection now. */
export async function retireContent(repo: Repo, old: string): Promise<void> {
  await repo.addGarbage(old, iso(Date.now()));
}

/**
 * Deletes the rows of every content id that is due in content_gc, a slice of owner names
 * per transaction with a pause after each, then the id's entry; until none is due or the
 * target is stopped.
 */
export async function collectGarbage(t: StageTarget): Promise<void> {
  const stopped = () => t.stopped?.() === true;
  for (;;) {
    if (stopped()) return;
    const ids = await t.read.listGarbage(iso(Date.now()), GC_IDS);
    if (ids.length === 0) return;
    for (const id of ids) {
      while (!stopped() && (await t.write((repo) => repo.deleteRRsetsSlice(id, GC_SLICE))) > 0)
        await t.pause();
      if (stopped()) return;
      await t.write((repo) => repo.removeGarbage(id));
    }
  }
}
