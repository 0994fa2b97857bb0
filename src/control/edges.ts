/**
 * The edge registry in the store (migration 16; docs/EDGE.md "The control plane's view"): each
 * `start` replica writes one summary row per edge (POP) it has seen — batched, a handful of rows
 * per write — and reads every replica's rows, so any replica lists every edge. Never one row per
 * zone per edge: the per-zone serials stay in the replica that saw them; the row carries the
 * counts, the time the oldest change not taken was released, and up to 10 zones behind.
 * @module
 */
import type { PlaneContext } from './context.js';

/** One edge as one replica summarises it (a row of `edge_registry`; times in ms since the epoch). */
export interface StoredEdge {
  pop: string;
  replica: string;
  /** Source addresses with when each was last seen, newest first (at most 8). */
  addresses: [string, number][];
  notify?: string;
  notifyAt: number;
  lastSeen: number;
  zones: number;
  behind: number;
  /** When the oldest change the edge has not taken was released (null: none behind). */
  lagSince: number | null;
  behindZones: string[];
  updatedAt: number;
}

/** Rows read at most (POPs are the operator's edge keys: a handful; a bound all the same). */
const MAX_ROWS = 10_000;
/** A row not rewritten for this long is deleted (its replica is long gone). */
export const EDGE_ROW_RETENTION_MS = 30 * 24 * 3600 * 1000;

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (text: string | null) => (text === null ? Number.NaN : Date.parse(text));

function parseJsonArray(text: string): unknown[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

export class EdgeRows {
  readonly #ctx: PlaneContext;
  constructor(ctx: PlaneContext) {
    this.#ctx = ctx;
  }

  /** Writes this replica's summaries (one transaction) and deletes rows older than the retention. */
  async writeEdges(edges: readonly StoredEdge[], now = Date.now()): Promise<void> {
    this.#ctx.checkOpen();
    await this.#ctx.store.transaction(async (repo) => {
      for (let i = 0; i < edges.length; i += 100) {
        const rows = edges.slice(i, i + 100).map((e) => ({
          pop: e.pop,
          replica: e.replica,
          addresses: JSON.stringify(e.addresses.slice(0, 8).map(([a, t]) => [a, iso(t)])),
          notify: e.notify ?? null,
          notify_at: e.notify ? iso(e.notifyAt) : null,
          last_seen: iso(e.lastSeen),
          zones: e.zones,
          behind: e.behind,
          lag_since: e.lagSince === null ? null : iso(e.lagSince),
          behind_zones: JSON.stringify(e.behindZones.slice(0, 10)),
          updated_at: iso(e.updatedAt),
        }));
        await repo.db
          .insertInto('edge_registry')
          .values(rows)
          .onConflict((oc) =>
            oc.columns(['pop', 'replica']).doUpdateSet((eb) => ({
              addresses: eb.ref('excluded.addresses'),
              notify: eb.ref('excluded.notify'),
              notify_at: eb.ref('excluded.notify_at'),
              last_seen: eb.ref('excluded.last_seen'),
              zones: eb.ref('excluded.zones'),
              behind: eb.ref('excluded.behind'),
              lag_since: eb.ref('excluded.lag_since'),
              behind_zones: eb.ref('excluded.behind_zones'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
      await repo.db
        .deleteFrom('edge_registry')
        .where('updated_at', '<', iso(now - EDGE_ROW_RETENTION_MS))
        .execute();
    });
  }

  /** Every replica's rows (malformed values read as empty). */
  async readEdges(): Promise<StoredEdge[]> {
    this.#ctx.checkOpen();
    const rows = await this.#ctx.store.repo.db
      .selectFrom('edge_registry')
      .selectAll()
      .orderBy('updated_at', 'desc')
      .limit(MAX_ROWS)
      .execute();
    const out: StoredEdge[] = [];
    for (const r of rows) {
      const lastSeen = ms(r.last_seen);
      const updatedAt = ms(r.updated_at);
      if (!Number.isFinite(lastSeen) || !Number.isFinite(updatedAt)) continue;
      const addresses: [string, number][] = [];
      for (const a of parseJsonArray(r.addresses).slice(0, 8))
        if (
          Array.isArray(a) &&
          typeof a[0] === 'string' &&
          typeof a[1] === 'string' &&
          Number.isFinite(ms(a[1]))
        )
          addresses.push([a[0], ms(a[1])]);
      const notifyAt = ms(r.notify_at);
      const lagSince = ms(r.lag_since);
      out.push({
        pop: r.pop,
        replica: r.replica,
        addresses,
        ...(r.notify !== null && Number.isFinite(notifyAt) ? { notify: r.notify } : {}),
        notifyAt: Number.isFinite(notifyAt) ? notifyAt : 0,
        lastSeen,
        zones: Number(r.zones),
        behind: Number(r.behind),
        lagSince: Number.isFinite(lagSince) ? lagSince : null,
        behindZones: parseJsonArray(r.behind_zones)
          .filter((z): z is string => typeof z === 'string')
          .slice(0, 10),
        updatedAt,
      });
    }
    return out;
  }
}
