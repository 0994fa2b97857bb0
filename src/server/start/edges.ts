/**
 * The edges `start` knows (docs/EDGE.md, "The control plane's view"): every DNS worker notes the
 * checks and transfers signed with an edge key (`--transfer-key`; the key's name is the POP)
 * and sends them here once a second (`switchboard:edges-seen`, shared/edge-sightings.ts). Per
 * POP: the addresses it came from, when it was last seen, the NOTIFY address it announced in
 * its signed SOA checks, and per zone the serial it last checked or transferred.
 *
 * Bounded: POPs are the operator's edge keys (a handful); per POP one entry per zone, pruned to
 * the zones served when listed. Lag: a zone whose serial at the edge is not the one served now
 * is *behind*; its age counts from when the served serial changed (the registry notes when it
 * first saw each zone's current serial).
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { EdgeListing } from '../../api/routes/edges.js';
import type { StoredEdge } from '../../control/types.js';
import { EDGE_TRACE, traceLine } from '../../edge/trace.js';
import { Name } from '../../wire/name.js';
import { NotifySender, type NotifyStats } from '../../xfr/notify.js';
import { OutboundPolicy, type OutboundTarget, parseOutboundTarget } from '../../xfr/outbound.js';
import { parseTsigKeySpec, type TsigKey } from '../../xfr/tsig.js';
import type { EdgeSighting, EdgesSeenMessage } from '../shared/edge-sightings.js';
import { describeError, type Logger } from '../shared/log.js';

/** One edge as listed by the API, the CLI and /metrics (the API's type: one definition). */
export type EdgeInfo = EdgeListing;

interface PopState {
  pop: string;
  addresses: Map<string, number>;
  notify?: string;
  notifyAt: number;
  lastSeen: number;
  zones: Map<string, { serial: number; at: number }>;
  /** The catalog zone it follows (seen checking it); unknown: the fleet catalog. */
  catalog?: string;
  catalogAt?: number;
}

/** A POP not seen for this long is no longer NOTIFYed (it still lists). */
export const EDGE_NOTIFY_FORGET_MS = 24 * 3600 * 1000;

/**
 * What is kept of an edge across restarts of `start` (`EDGES_FILE` in the data folder): enough to
 * NOTIFY it at once — a restarted control plane would otherwise learn its edges only at their
 * next check of the catalog, an hour later with the catalog's SOA refresh.
 */
export interface SavedEdge {
  pop: string;
  notify?: string;
  notifyAt: number;
  lastSeen: number;
  addresses: [string, number][];
  /** The catalog zone it follows, when seen. */
  catalog?: string;
}

/** The file in `start`'s data folder that keeps the edges (`SavedEdge[]`, JSON). */
export const EDGES_FILE = 'edges.json';

/** Edges kept at most (the operator's edge keys: a handful; a bound all the same). */
const MAX_SAVED_EDGES = 1000;

export class EdgeRegistry {
  readonly #pops = new Map<string, PopState>();
  /** Something to save since the last `saved()`. */
  #dirty = false;
  /** Per zone: the serial served and when the registry first knew it (lag). */
  readonly #served = new Map<string, { serial: number; since: number }>();
  dropped = 0;
  /** The fleet catalog (lower case, absolute) and which zones are catalogs (`setCatalogs`). */
  #fleet: string | undefined;
  #isCatalog: (zone: string) => boolean = () => false;

  /**
   * What the registry needs to NOTIFY each edge only of the catalog it follows
   * (docs/EDGE.md "NOTIFY"): the fleet catalog's name and a test for catalog zones (the fleet
   * catalog and the accounts' Producer zones, start/catalogs.ts).
   */
  setCatalogs(fleet: string | undefined, isCatalog: (zone: string) => boolean): void {
    this.#fleet = fleet?.toLowerCase();
    this.#isCatalog = isCatalog;
  }

  /** A worker's sightings. */
  seen(msg: EdgesSeenMessage): void {
    this.dropped += msg.dropped;
    for (const e of msg.entries) this.#one(e);
    if (msg.entries.length > 0) this.#dirty = true;
  }

  /** True when edges were seen since the last `saved()`. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** The edges as kept across restarts (clears `dirty`). */
  saved(): SavedEdge[] {
    this.#dirty = false;
    return [...this.#pops.values()].slice(0, MAX_SAVED_EDGES).map((p) => ({
      pop: p.pop,
      ...(p.notify ? { notify: p.notify } : {}),
      notifyAt: p.notifyAt,
      lastSeen: p.lastSeen,
      addresses: [...p.addresses],
      ...(p.catalog ? { catalog: p.catalog } : {}),
    }));
  }

  /**
   * Edges kept by an earlier run (`saved()`'s JSON, read back): each becomes known as it was
   * last seen (no zones yet: they come with its next check). Anything malformed is skipped.
   * Returns how many were taken.
   */
  restore(data: unknown): number {
    if (!Array.isArray(data)) return 0;
    let n = 0;
    for (const e of data.slice(0, MAX_SAVED_EDGES)) {
      if (typeof e !== 'object' || e === null) continue;
      const { pop, notify, notifyAt, lastSeen, addresses, catalog } = e as Partial<SavedEdge>;
      if (typeof pop !== 'string' || pop === '' || this.#pops.has(pop)) continue;
      if (!Number.isFinite(lastSeen) || !Number.isFinite(notifyAt)) continue;
      if (notify !== undefined && typeof notify !== 'string') continue;
      const addrs = new Map<string, number>();
      if (Array.isArray(addresses))
        for (const a of addresses.slice(0, 8))
          if (Array.isArray(a) && typeof a[0] === 'string' && Number.isFinite(a[1])) addrs.set(a[0], a[1]);
      this.#pops.set(pop, {
        pop,
        addresses: addrs,
        ...(notify !== undefined ? { notify } : {}),
        notifyAt: notifyAt as number,
        lastSeen: lastSeen as number,
        zones: new Map(),
        ...(typeof catalog === 'string' && catalog !== ''
          ? { catalog: catalog.toLowerCase(), catalogAt: 0 }
          : {}),
      });
      n++;
    }
    return n;
  }

  #one(e: EdgeSighting): void {
    if (typeof e.pop !== 'string' || typeof e.zone !== 'string') return;
    let p = this.#pops.get(e.pop);
    if (!p) {
      p = { pop: e.pop, addresses: new Map(), notifyAt: 0, lastSeen: 0, zones: new Map() };
      this.#pops.set(e.pop, p);
    }
    p.lastSeen = Math.max(p.lastSeen, e.at);
    p.addresses.set(e.address, e.at);
    if (p.addresses.size > 8) {
      const oldest = [...p.addresses].sort((a, b) => a[1] - b[1])[0][0];
      p.addresses.delete(oldest);
    }
    if (e.notify && e.at >= p.notifyAt) {
      p.notify = e.notify;
      p.notifyAt = e.at;
    }
    const zone = e.zone.toLowerCase();
    if (this.#isCatalog(zone) && e.at >= (p.catalogAt ?? 0)) {
      if (p.catalog !== zone) this.#dirty = true;
      p.catalog = zone;
      p.catalogAt = e.at;
    }
    const had = p.zones.get(zone);
    if (!had || had.at <= e.at) p.zones.set(zone, { serial: e.serial, at: e.at });
  }

  /** The platform published `serial` of `zone` (the lag of edges behind counts from now). */
  published(zone: string, serial: number | null, now = Date.now()): void {
    const key = zone.toLowerCase();
    if (serial === null) {
      this.#served.delete(key);
      for (const p of this.#pops.values()) p.zones.delete(key);
      return;
    }
    if (this.#served.get(key)?.serial !== serial) this.#served.set(key, { serial, since: now });
  }

  /**
   * The edges as this replica summarises them (what it writes to the store, control/edges.ts),
   * with their lag against `servedSerial` (a zone not served: left out and pruned).
   */
  summaries(
    replica: string,
    servedSerial: (zone: string) => number | undefined,
    now = Date.now(),
  ): StoredEdge[] {
    const out: StoredEdge[] = [];
    for (const p of [...this.#pops.values()].sort((a, b) => a.pop.localeCompare(b.pop))) {
      let zones = 0;
      let behind = 0;
      let lagSince: number | null = null;
      const behindZones: string[] = [];
      for (const [zone, z] of [...p.zones]) {
        const cur = servedSerial(zone);
        if (cur === undefined) {
          p.zones.delete(zone);
          continue;
        }
        zones++;
        if (z.serial === cur) continue;
        behind++;
        const since = this.#served.get(zone);
        if (since && since.serial === cur) lagSince = Math.min(lagSince ?? now, since.since);
        if (behindZones.length < 10) behindZones.push(`${zone} ${z.serial} → ${cur}`);
      }
      out.push({
        pop: p.pop,
        replica,
        addresses: [...p.addresses].sort((a, b) => b[1] - a[1]),
        ...(p.notify ? { notify: p.notify } : {}),
        notifyAt: p.notifyAt,
        lastSeen: p.lastSeen,
        zones,
        behind,
        lagSince,
        behindZones,
        updatedAt: now,
      });
    }
    return out;
  }

  /** The edges, with their lag against `servedSerial` (this replica's view only). */
  list(servedSerial: (zone: string) => number | undefined, now = Date.now()): EdgeInfo[] {
    return mergeEdges(this.summaries('', servedSerial, now), [], now);
  }

  /**
   * The edges to NOTIFY of `zone` (every zone when not given): POP and `ADDR:PORT`, those seen
   * within EDGE_NOTIFY_FORGET_MS. A catalog zone only to the edges that follow it: an edge
   * follows one catalog (the one it is seen checking; the fleet catalog until seen) and every
   * member of it — every zone served, for the fleet catalog. A member zone goes to every edge
   * (an edge that follows a Producer zone, a subset, ignores the others' NOTIFYs).
   */
  notifyTargets(now = Date.now(), zone?: string): { pop: string; target: string }[] {
    const key = zone?.toLowerCase();
    const catalog = key !== undefined && this.#isCatalog(key);
    const out: { pop: string; target: string }[] = [];
    for (const p of this.#pops.values()) {
      if (!p.notify || now - p.lastSeen >= EDGE_NOTIFY_FORGET_MS) continue;
      if (catalog && (p.catalog ?? this.#fleet) !== key) continue;
      out.push({ pop: p.pop, target: p.notify });
    }
    return out;
  }
}

/** A row whose replica has not rewritten it for this long is of a replica gone (or stopped). */
export const EDGE_ROW_LIVE_MS = 2 * 60 * 1000;

/**
 * Every replica's view of the edges as one list (docs/EDGE.md "Listing"): per POP the union of the
 * addresses (newest 8), the newest NOTIFY address, the latest `lastSeen`; the counts and lag from
 * the row of a live replica (this one's `local`, or one rewritten within EDGE_ROW_LIVE_MS) that saw
 * the edge last — an edge follows one primary, whose replica holds its per-zone serials — and from
 * the newest row of any replica when no live replica saw it.
 */
export function mergeEdges(
  local: readonly StoredEdge[],
  stored: readonly StoredEdge[],
  now = Date.now(),
): EdgeInfo[] {
  const byPop = new Map<string, StoredEdge[]>();
  for (const e of [...local, ...stored]) {
    const list = byPop.get(e.pop);
    if (list) list.push(e);
    else byPop.set(e.pop, [e]);
  }
  const out: EdgeInfo[] = [];
  for (const [pop, rows] of [...byPop].sort((a, b) => a[0].localeCompare(b[0]))) {
    const live = rows.filter((r) => local.includes(r) || now - r.updatedAt < EDGE_ROW_LIVE_MS);
    const pick = (list: StoredEdge[]) =>
      list.reduce((a, b) =>
        b.lastSeen > a.lastSeen || (b.lastSeen === a.lastSeen && b.zones > a.zones) ? b : a,
      );
    const best = pick(live.length > 0 ? live : rows);
    const addresses = new Map<string, number>();
    for (const r of rows)
      for (const [a, t] of r.addresses) addresses.set(a, Math.max(addresses.get(a) ?? 0, t));
    let notify: StoredEdge | undefined;
    for (const r of rows) if (r.notify && (!notify || r.notifyAt > notify.notifyAt)) notify = r;
    out.push({
      pop,
      addresses: [...addresses]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([a]) => a),
      ...(notify?.notify ? { notify: notify.notify } : {}),
      lastSeen: new Date(Math.max(...rows.map((r) => r.lastSeen))).toISOString(),
      zones: best.zones,
      behind: best.behind,
      maxLagSeconds: best.lagSince === null ? 0 : Math.max(0, Math.round((now - best.lagSince) / 1000)),
      behindZones: best.behindZones,
    });
  }
  return out;
}

/** What the shared registry needs of the control plane (control/edges.ts). */
export interface EdgeStoreAccess {
  writeEdges?(edges: readonly StoredEdge[]): Promise<void>;
  readEdges?(): Promise<StoredEdge[]>;
}

/** This replica's summaries go to the store at most this often (only when they changed)… */
export const EDGE_SHARE_MS = 2000;
/** …and at least this often (the other replicas tell a live replica's rows by their age). */
export const EDGE_HEARTBEAT_MS = 30_000;

/** The edges listed by every replica (the API, the CLI and /metrics). */
export interface SharedEdges {
  /** This replica's edges merged with the other replicas' (read every EDGE_SHARE_MS; ≤ 1 s old locally). */
  list(): EdgeInfo[];
  /** Writes the last summaries and stops. */
  stop(): Promise<void>;
}

/**
 * The edge registry shared through the store (docs/EDGE.md "Listing"): every EDGE_SHARE_MS this
 * replica writes the summaries that changed (one transaction; all of them every
 * EDGE_HEARTBEAT_MS) and reads every replica's rows; `list()` merges them with its own view
 * (`mergeEdges`). Without a store that keeps edges, the local view alone.
 */
export function startSharedEdges(
  registry: EdgeRegistry,
  store: EdgeStoreAccess,
  servedSerial: (zone: string) => number | undefined,
  log: Logger,
): SharedEdges {
  const replica = randomUUID();
  let local: { at: number; rows: StoredEdge[] } | undefined;
  let others: StoredEdge[] = [];
  const written = new Map<string, string>();
  let lastWrite = 0;
  let running: Promise<void> | undefined;
  let warned = false;
  const summaries = (): StoredEdge[] => {
    const now = Date.now();
    if (local === undefined || now - local.at >= 1000)
      local = { at: now, rows: registry.summaries(replica, servedSerial, now) };
    return local.rows;
  };
  const sync = async (all: boolean): Promise<void> => {
    if (!store.writeEdges || !store.readEdges) return;
    const now = Date.now();
    const rows = registry.summaries(replica, servedSerial, now);
    local = { at: now, rows };
    const heartbeat = all || now - lastWrite >= EDGE_HEARTBEAT_MS;
    const changed = rows.filter((r) => {
      const { updatedAt: _, ...rest } = r;
      const text = JSON.stringify(rest);
      if (!heartbeat && written.get(r.pop) === text) return false;
      written.set(r.pop, text);
      return true;
    });
    try {
      if (changed.length > 0 || heartbeat) {
        await store.writeEdges(changed);
        lastWrite = now;
      }
      others = (await store.readEdges()).filter((r) => r.replica !== replica);
      warned = false;
    } catch (err) {
      written.clear(); // written again next time
      if (!warned) log.warn(`edges: the shared registry not synced: ${describeError(err)}`);
      warned = true;
    }
  };
  const tick = () => {
    if (running) return;
    running = sync(false).finally(() => {
      running = undefined;
    });
  };
  const timer = setInterval(tick, EDGE_SHARE_MS);
  timer.unref();
  tick();
  return {
    list: () => mergeEdges(summaries(), others),
    async stop() {
      clearInterval(timer);
      await running;
      await sync(true);
    },
  };
}

/** A NOTIFY to every edge on every version released (NotifyOut's hook), signed with its own key. */
export interface EdgeNotify {
  released(zone: string, serial: number): void;
  close(): void;
  readonly stats: NotifyStats;
}

/**
 * NOTIFY to the edges: each edge that announced an address in its signed checks (seen within a
 * day) gets a NOTIFY of every new version, signed with its own edge key (the key named by its
 * POP), from a sender of its own — the edges are the operator's, so the tenants' outbound policy
 * does not apply; each edge its own rate bucket (200/s), retries as for ALSO-NOTIFY.
 */
export function startEdgeNotify(
  registry: EdgeRegistry,
  keySpecs: readonly string[],
  log: Logger,
): EdgeNotify {
  const keys = new Map<string, TsigKey>();
  for (const spec of keySpecs)
    try {
      const k = parseTsigKeySpec(spec);
      keys.set(k.name.toString(), k);
    } catch {
      // checked at start
    }
  const sender = new NotifySender({
    policy: new OutboundPolicy(['0.0.0.0/0', '::/0']),
    accountRate: 200,
    platformRate: 1000,
    onDone: (e) => {
      if (EDGE_TRACE)
        log.info(traceLine(`start-notify-${e.outcome}`, e.zone, e.serial, `${e.target} ${e.attempts}`));
      if (e.outcome !== 'acked')
        log.warn(`NOTIFY ${e.zone} serial ${e.serial} to edge ${e.target}: ${e.outcome} (${e.reason ?? ''})`);
    },
  });
  return {
    stats: sender.stats,
    released(zone, serial) {
      if (EDGE_TRACE) log.info(traceLine('start-released', zone, serial));
      registry.published(zone, serial);
      if (keys.size === 0) return;
      let origin: Name;
      try {
        origin = Name.parse(zone);
      } catch {
        return;
      }
      for (const { pop, target } of registry.notifyTargets(Date.now(), zone)) {
        const key = keys.get(pop);
        if (!key) continue; // a key no longer given: that edge is not NOTIFYed
        let t: OutboundTarget;
        try {
          t = parseOutboundTarget(target);
        } catch {
          continue;
        }
        sender.notify({ zone: origin, serial, account: `edge ${pop}`, targets: [t], key, serialHint: true });
      }
    },
    close: () => sender.close(),
  };
}
