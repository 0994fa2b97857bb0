/**
 * Serving: the zones as the DNS workers load them (name, serial, version, text).
 * @module
 */
import type { PlaneContext } from './context.js';
import { parseZoneName, type RRsetState, renderServedText } from './records.js';
import { contentIdOf, rowToRRset } from './rows.js';
import type { ServedZone } from './types.js';

/** Zones per query when listing every zone for the DNS workers. */
const SERVED_PAGE = 1000;

/** What the DNS workers read from the control plane. */
export class Serving {
  readonly #ctx: PlaneContext;

  constructor(ctx: PlaneContext) {
    this.#ctx = ctx;
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
        yield {
          name: z.name,
          serial: z.serial,
          version: Number(z.version),
          text: renderServedText(byZone.get(contentIdOf(z)) ?? []),
        };
      if (page.zones.length < SERVED_PAGE) return;
      after = page.zones[page.zones.length - 1].name;
    }
  }

  async servedZone(name: string): Promise<ServedZone | null> {
    this.#ctx.checkOpen();
    let zname: string;
    try {
      zname = parseZoneName(name).toString();
    } catch {
      return null;
    }
    return this.#ctx.store.read(async (repo) => {
      const zone = await repo.getZoneByName(zname);
      if (!zone) return null;
      const kept = this.#ctx.servedAt(zone.id, Number(zone.version));
      if (kept) return kept;
      const rows = await repo.getRRsets(contentIdOf(zone));
      return {
        name: zone.name,
        serial: zone.serial,
        version: Number(zone.version),
        text: renderServedText(rows.map(rowToRRset)),
      };
    });
  }

  async isEmpty(): Promise<boolean> {
    this.#ctx.checkOpen();
    return this.#ctx.store.repo.noZones();
  }
}
