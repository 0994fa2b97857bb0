/**
 * `start`'s catalog writer (RFC 9432; docs/TRANSFERS.md "Catalog zones"): keeps the fleet catalog
 * and the accounts' Producer zones listing what they should. At start one reconciliation (every
 * zone against what the catalogs hold); then each zone change or catalog setting heard on the
 * change feed (any replica's) is batched for a short while and turned into the few RRset
 * changes it needs — one PTR added or removed per member (and its `group` and `coo`
 * properties), written as one version of each catalog touched, never a rewrite of the catalog.
 * A zone moved between two Producer zones stays in the one it left, with `coo`, for the hold
 * (`COO_HOLD_MS`); a timer plans it again when the hold ends. The catalog zones then travel like
 * any zone: image patches, the IXFR journal, NOTIFY.
 * @module
 */
import type { ControlPlane } from '../../control/types.js';
import { type CatalogChange, foldName } from '../../xfr/catz/format.js';
import { type CatalogMemberZone, CatalogPlanner, COO_HOLD_MS } from '../../xfr/catz/producer.js';
import { describeError, type Logger } from '../shared/log.js';

/** Changes written per catalog version (a bigger reconciliation is several versions). */
const CHANGES_PER_VERSION = 10_000;
/** Zones planned per turn of the event loop in a reconciliation. */
const PLAN_PART = 2_000;
/** Zone names read per query. */
const NAMES_PER_READ = 500;
/**
 * How long changes are gathered before they are written — at least; after a write that took
 * longer, as long as it took (at most `MAX_BATCH_MS`): a version of a big catalog costs what any
 * change of a big zone costs (the whole zone checked and compiled: ~1 CPU s at 100,000 members,
 * docs/PERFORMANCE.md), so under a steady stream of zones created and deleted the writer spends
 * at most about half its time writing, and each version carries more members.
 */
const BATCH_MS = 20;
const MAX_BATCH_MS = 5_000;
/** After a failed write: a whole reconciliation this much later. */
const RETRY_MS = 5_000;

/**
 * How long a moved zone stays listed, with `coo`, in the catalog it left: COO_HOLD_MS, or
 * `SWITCHBOARD_CATALOG_COO_HOLD_MS` (tests only: a hold of seconds).
 */
export function cooHoldMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.SWITCHBOARD_CATALOG_COO_HOLD_MS);
  return Number.isInteger(v) && v > 0 ? v : COO_HOLD_MS;
}

export interface CatalogWriter {
  /** Resolves once the first reconciliation is written (or failed, logged). */
  readonly ready: Promise<void>;
  /** True for a catalog zone the writer keeps: the fleet catalog, or a Producer zone it loaded. */
  isCatalog(zone: string): boolean;
  close(): void;
}

/**
 * Starts the writer over `control` (nothing when the control plane has no catalog zones).
 * `fleet`: the fleet catalog's name (made by `ensureFleetCatalog` before).
 */
export function startCatalogWriter(
  control: ControlPlane,
  fleet: string | undefined,
  log: Logger,
): CatalogWriter {
  const snapshot = control.catalogSnapshot?.bind(control);
  const named = control.catalogZonesNamed?.bind(control);
  const write = control.writeCatalog?.bind(control);
  const ptrsOf = control.catalogPtrs?.bind(control);
  if (!snapshot || !named || !write) return { ready: Promise.resolve(), isCatalog: () => false, close() {} };
  const planner = new CatalogPlanner(fleet, { cooHoldMs: cooHoldMs() });
  let cooTimer: NodeJS.Timeout | undefined;
  /** A timer for the next end of a `coo` listing: its zone planned again then. */
  const scheduleCoo = (): void => {
    if (cooTimer !== undefined) clearTimeout(cooTimer);
    cooTimer = undefined;
    const next = planner.nextCooEnd();
    if (closed || next === undefined) return;
    cooTimer = setTimeout(
      () => {
        cooTimer = undefined;
        for (const z of planner.cooEnded()) pending.add(z);
        if (pending.size > 0) schedule();
        scheduleCoo();
      },
      Math.min(2 ** 31 - 1, Math.max(0, next - Date.now()) + 10),
    );
    cooTimer.unref();
  };
  let closed = false;
  let pending = new Set<string>();
  let full = true;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  /** How long the last flush's writes took. */
  let lastWriteMs = 0;

  const writeAll = async (plan: Map<string, CatalogChange[]>): Promise<void> => {
    for (const [catalog, changes] of plan)
      for (let at = 0; at < changes.length && !closed; at += CHANGES_PER_VERSION) {
        const slice = changes.slice(at, at + CHANGES_PER_VERSION);
        const r = await write(catalog, slice);
        planner.applied(catalog, slice);
        if (r.changed) log.info(`catalog ${catalog}: ${slice.length} member changes (serial ${r.serial})`);
      }
  };

  const reconcile = async (): Promise<void> => {
    const s = await snapshot();
    planner.setProducers(s.producers);
    const cleanup = new Map<string, CatalogChange[]>();
    for (const [catalog, ptrs] of s.ptrs) {
      const c = planner.load(catalog, ptrs);
      if (c.length > 0) cleanup.set(catalog, c);
    }
    await writeAll(cleanup);
    // As `planner.reconcile`, in parts with the loop let go between them: at 100,000 zones the
    // whole plan is about a second of CPU, and this loop serves the API.
    const zones = new Map<string, CatalogMemberZone | undefined>();
    for (const z of s.zones) zones.set(z.name, z);
    for (const name of planner.listed()) if (!zones.has(name)) zones.set(name, undefined);
    const plan = new Map<string, CatalogChange[]>();
    let part = new Map<string, CatalogMemberZone | undefined>();
    const planPart = () => {
      for (const [catalog, changes] of planner.plan(part)) {
        const list = plan.get(catalog);
        if (list) for (const c of changes) list.push(c);
        else plan.set(catalog, changes);
      }
      part = new Map();
    };
    for (const [name, z] of zones) {
      part.set(name, z);
      if (part.size >= PLAN_PART) {
        planPart();
        await new Promise((r) => setImmediate(r));
        if (closed) return;
      }
    }
    planPart();
    await writeAll(plan);
  };

  const incremental = async (names: string[]): Promise<void> => {
    for (let at = 0; at < names.length && !closed; at += NAMES_PER_READ) {
      const r = await named(names.slice(at, at + NAMES_PER_READ));
      planner.setProducers(r.producers);
      // A Producer zone not seen before (new, or restored with the PTRs it had): what it holds.
      for (const p of r.producers)
        if (!planner.knows(p.name) && ptrsOf) {
          const ptrs = await ptrsOf(p.name);
          const cleanup = planner.load(p.name, ptrs);
          if (cleanup.length > 0) await writeAll(new Map([[p.name, cleanup]]));
          // Its members are planned again next (a restored catalog's stale ones removed).
          for (const m of ptrs) if (m.type === undefined) pending.add(m.target);
          if (ptrs.length > 0) schedule();
        }
      await writeAll(planner.plan(r.zones));
    }
  };

  const flush = (): void => {
    timer = undefined;
    running = running.then(async () => {
      if (closed) return;
      const wasFull = full;
      const names = [...pending];
      full = false;
      pending = new Set();
      const started = performance.now();
      try {
        if (wasFull) await reconcile();
        else if (names.length > 0) await incremental(names);
        lastWriteMs = performance.now() - started;
        scheduleCoo();
      } catch (err) {
        if (closed) return;
        log.error(
          `catalog zones not brought up to date (again in ${RETRY_MS / 1000} s): ${describeError(err)}`,
        );
        full = true;
        schedule(RETRY_MS);
      }
    });
  };

  const schedule = (ms = Math.min(MAX_BATCH_MS, Math.max(BATCH_MS, lastWriteMs))): void => {
    if (closed || timer !== undefined) return;
    timer = setTimeout(flush, ms);
    timer.unref();
  };

  const offZones = control.onZoneChange((ev) => {
    pending.add(ev.zone);
    schedule();
  });
  const offSettings = control.onSettingsChange((c) => {
    if (!c.kinds.includes('catalog')) return;
    if (c.zone === undefined) full = true;
    else pending.add(c.zone);
    schedule();
  });
  flush();
  const ready = running;
  const fleetKey = fleet === undefined ? undefined : foldName(fleet);
  return {
    ready,
    isCatalog: (zone) => foldName(zone) === fleetKey || planner.knows(zone),
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      if (cooTimer !== undefined) clearTimeout(cooTimer);
      offZones();
      offSettings();
    },
  };
}
