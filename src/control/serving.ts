/**
 * Serving: the zones as the DNS workers load them (name, serial, version, text).
 * @module
 */
import type { PlaneContext } from './context.js';
import { parseZoneName, type RRsetState, renderServedText, rrsetKey } from './records.js';
import { contentIdOf, parseChanges, rowToRRset } from './rows.js';
import type { ServedChanges, ServedRRsetChange, ServedStep, ServedZone } from './types.js';
import { SERVED_TEXT_MIN } from './zone-work.js';

/** Zones per query when listing every zone for the DNS workers. */
const SERVED_PAGE = 1000;

/**
 * `servedChanges` answers null beyond this many changed RRsets (default): a change that
 * big costs about what reading and compiling the whole zone does.
 */
export const SERVED_CHANGES_MAX = 20_000;

/** Version kinds whose stored diff is not against the version before it as served. */
const NOT_A_DIFF = new Set(['create', 'restore']);

/** `name` as a zone name in its stored spelling, or null when it cannot be one. */
function zoneNameOrNull(name: string): string | null {
  try {
    return parseZoneName(name).toString();
  } catch {
    return null;
  }
}

/**
 * A secondary zone before its first transfer (its placeholder content at serial 0): not given
 * to the DNS workers, which answer its names REFUSED rather than made-up data.
 */
function neverTransferred(z: { kind?: string; serial: number | string }): boolean {
  return (z.kind === 'Slave' || z.kind === 'Consumer') && Number(z.serial) === 0;
}

/** The served text of zone `zoneId` at `version` rendered off the request loop, if it can be. */
export type RenderServed = (zoneId: string, version: number) => Promise<string | undefined>;

/** What the DNS workers read from the control plane. */
export class Serving {
  readonly #ctx: PlaneContext;
  readonly #render: RenderServed | undefined;

  /** `render`: a big zone's served text from the zone-work thread's copy (see servedZone). */
  constructor(ctx: PlaneContext, render?: RenderServed) {
    this.#ctx = ctx;
    this.#render = render;
  }

  async *servedZones(): AsyncIterable<ServedZone> {
    this.#ctx.checkOpen();
    let after: string | undefined;
    for (;;) {
      // One snapshot per page: a zone's version, serial and text always agree.
      const page = await this.#ctx.store.read(async (repo) => {
        const zones = await repo.listZones({ after, limit: SERVED_PAGE });
        const rows = await repo.getRRsetsOfZones(zones.map(contentIdOf));
        return { zones, rows };
      });
      const byZone = new Map<string, RRsetState[]>();
      for (const r of page.rows) {
        let list = byZone.get(r.zone_id);
        if (!list) {
          list = [];
          byZone.set(r.zone_id, list);
        }
        list.push(rowToRRset(r));
      }
      for (const z of page.zones)
        if (!neverTransferred(z))
          yield {
            name: z.name,
            serial: z.serial,
            version: Number(z.version),
            text: renderServedText(byZone.get(contentIdOf(z)) ?? []),
            id: z.id,
          };
      if (page.zones.length < SERVED_PAGE) return;
      after = page.zones[page.zones.length - 1].name;
    }
  }

  async servedZone(name: string): Promise<ServedZone | null> {
    this.#ctx.checkOpen();
    const zname = zoneNameOrNull(name);
    if (zname === null) return null;
    // A big zone changed by a small change (no text rendered with it: zone-work.ts
    // incremental.ts): rendered by the zone-work thread from its copy of that version, not
    // read and rendered on this loop. Asked outside the read (the thread may be busy).
    if (this.#render) {
      const zone = await this.#ctx.store.repo.getZoneByName(zname);
      if (
        zone &&
        !neverTransferred(zone) &&
        Number(zone.record_count) >= SERVED_TEXT_MIN &&
        !this.#ctx.servedAt(zone.id, Number(zone.version))
      ) {
        const version = Number(zone.version);
        const text = await this.#render(zone.id, version);
        if (text !== undefined) {
          const served = { name: zone.name, serial: zone.serial, version, text };
          this.#ctx.rememberServed(served, zone.id);
          return { ...served, id: zone.id };
        }
      }
    }
    return this.#ctx.store.read(async (repo) => {
      const zone = await repo.getZoneByName(zname);
      if (!zone || neverTransferred(zone)) return null;
      const kept = this.#ctx.servedAt(zone.id, Number(zone.version));
      if (kept) return { ...kept, id: zone.id };
      const rows = await repo.getRRsets(contentIdOf(zone));
      // In owner-key and type order, as servedZones reads them (src/image/patch.ts writes a
      // zone's records in that order too).
      return {
        name: zone.name,
        serial: zone.serial,
        version: Number(zone.version),
        text: renderServedText(rows.map(rowToRRset)),
        id: zone.id,
      };
    });
  }

  async servedChanges(
    name: string,
    since: { id: string; version: number },
    maxRRsets = SERVED_CHANGES_MAX,
  ): Promise<ServedChanges | null> {
    this.#ctx.checkOpen();
    const zname = zoneNameOrNull(name);
    if (zname === null) return null;
    return this.#ctx.store.read(async (repo) => {
      const zone = await repo.getZoneByName(zname);
      if (!zone || zone.id !== since.id) return null;
      const version = Number(zone.version);
      if (version < since.version) return null;
      const rows = version === since.version ? [] : await repo.versionsAfter(zone.id, since.version);
      // Every version in between, none pruned (newest first).
      if (rows.length !== version - since.version) return null;
      // A big change (an import, a big PATCH) goes the whole way before its stored diff is
      // parsed: parsing the JSON of 100,000 changes would hold this loop (every tenant's API
      // calls) for about a second. Records added + removed bound the work; past 4× the RRset
      // limit the diff is surely not worth it (at worst a patchable change is read whole).
      let records = 0;
      for (const row of rows) records += Number(row.added) + Number(row.removed);
      if (records > 4 * maxRRsets) return null;
      const after = new Map<string, RRsetState | { gone: RRsetState }>();
      // Each RRset as it was at `since` (its first change's `before`; null: none then).
      const was = new Map<string, RRsetState | null>();
      for (let i = rows.length - 1; i >= 0; i--) {
        const row = rows[i];
        if (Number(row.version) !== since.version + rows.length - i || NOT_A_DIFF.has(row.kind)) return null;
        for (const { before, after: now } of parseChanges(row.changes)) {
          const s = now ?? before;
          if (!s) continue;
          const key = rrsetKey(s.nameKey, s.type);
          if (!was.has(key)) was.set(key, before ?? null);
          after.set(key, now ?? { gone: s });
        }
        if (after.size > maxRRsets) return null;
      }
      const changes: ServedRRsetChange[] = [];
      for (const [key, s] of after) {
        const before = was.get(key);
        const old = before ? renderServedText([before]) : '';
        if ('gone' in s)
          changes.push({ owner: s.gone.name, type: s.gone.type, ttl: s.gone.ttl, text: '', was: old });
        else changes.push({ owner: s.name, type: s.type, ttl: s.ttl, text: renderServedText([s]), was: old });
      }
      return { name: zone.name, id: zone.id, version, serial: zone.serial, changes };
    });
  }

  /**
   * The stored history of every zone changed since its creation, for the IXFR journal of a
   * primary that starts (docs/TRANSFERS.md "IXFR"): per zone, its last versions' diffs as the
   * journal takes them, oldest first — at most `maxVersions`, back to the latest version that
   * is not a diff (a create, restore or import read whole), a pruned one, or one that changed
   * more than `maxRRsets` RRsets. Zones in name order, read a page at a time.
   */
  async *servedHistory(
    maxVersions: number,
    maxRRsets = SERVED_CHANGES_MAX,
  ): AsyncIterable<{ name: string; id: string; serial: number; steps: ServedStep[] }> {
    this.#ctx.checkOpen();
    let after: string | undefined;
    for (;;) {
      let q = this.#ctx.store.repo.db
        .selectFrom('zones')
        .select(['name', 'id', 'version', 'serial', 'kind'])
        .where('version', '>', 1);
      if (after !== undefined) q = q.where('name', '>', after);
      const page = await q.orderBy('name').limit(SERVED_PAGE).execute();
      for (const z of page) {
        if (neverTransferred(z)) continue;
        const version = Number(z.version);
        const rows = await this.#ctx.store.repo.versionsAfter(z.id, Math.max(0, version - maxVersions));
        // Newest first: walked back while each is the diff of the version before it.
        const steps: ServedStep[] = [];
        let expect = version;
        for (const row of rows) {
          if (Number(row.version) !== expect || NOT_A_DIFF.has(row.kind) || expect <= 1) break;
          if (Number(row.added) + Number(row.removed) > 4 * maxRRsets) break;
          const changes: ServedRRsetChange[] = [];
          for (const { before, after: now } of parseChanges(row.changes)) {
            const s = now ?? before;
            if (!s) continue;
            changes.push({
              owner: s.name,
              type: s.type,
              ttl: s.ttl,
              text: now ? renderServedText([now]) : '',
              was: before ? renderServedText([before]) : '',
            });
          }
          if (changes.length > maxRRsets) break;
          steps.push({ fromSerial: Number(row.from_serial), toSerial: Number(row.serial), changes });
          expect--;
        }
        if (steps.length > 0)
          yield { name: z.name, id: z.id, serial: Number(z.serial), steps: steps.reverse() };
      }
      if (page.length < SERVED_PAGE) return;
      after = page[page.length - 1].name;
    }
  }

  async isEmpty(): Promise<boolean> {
    this.#ctx.checkOpen();
    return this.#ctx.store.repo.noZones();
  }
}
