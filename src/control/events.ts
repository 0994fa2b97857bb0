/**
 * The change feed of the control plane: listeners of zone changes in this process and, with
 * PostgreSQL, the NOTIFY/LISTEN channel that carries other replicas' changes (with a resync
 * after a lost connection).
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { ChangeFeed, Repo, Store } from '../store/index.js';
import type { ZoneChangeEvent, ZoneSettingsChange, ZoneSettingsKind } from './types.js';

/** The NOTIFY channel of zone changes (issue 3: every replica LISTENs on it). */
export const ZONE_CHANGE_CHANNEL = 'switchboard_zone_change';

/** Settings kinds announced to the other replicas ('notify' requests stay in their replica). */
const ANNOUNCED_KINDS: readonly ZoneSettingsKind[] = ['shield', 'transfer', 'catalog'];

/** Zone change events: emitted here, announced to and received from the other replicas. */
export class ChangeEvents {
  readonly #store: Store;
  readonly #listeners = new Set<(ev: ZoneChangeEvent) => void>();
  readonly #settingsListeners = new Set<(change: ZoneSettingsChange) => void>();
  /** Identifies this replica in NOTIFY payloads, so its own changes are emitted once. */
  readonly #replica = randomUUID();
  /** Version of every zone as last emitted (PostgreSQL): what a resync compares against. */
  readonly #known = new Map<string, number>();
  #feed: ChangeFeed | undefined;

  constructor(store: Store) {
    this.#store = store;
  }

  /** The PostgreSQL change feed, when there is one (tests drop its connection). */
  get feed(): ChangeFeed | undefined {
    return this.#feed;
  }

  /** With PostgreSQL, starts listening for the other replicas' changes. */
  async start(): Promise<void> {
    if (this.#store.dialect !== 'postgres') return;
    for (const z of await this.#store.repo.zoneVersions()) this.#known.set(z.name, Number(z.version));
    this.#feed = await this.#store.listen(ZONE_CHANGE_CHANNEL, {
      onMessage: (payload) => this.#onNotify(payload),
      onReconnect: () => {
        // Settings changed meanwhile are read again whole (they are few).
        this.emitSettings({ kinds: [...ANNOUNCED_KINDS] });
        this.#resync().catch(() => {
          // The next reconnect or change brings it back in line.
        });
      },
    });
  }

  #onNotify(payload: string): void {
    let ev: ZoneChangeEvent & { origin?: string; shield?: boolean; settings?: unknown };
    try {
      ev = JSON.parse(payload) as ZoneChangeEvent & { origin?: string; shield?: boolean; settings?: unknown };
    } catch {
      return;
    }
    if (typeof ev?.zone !== 'string' || ev.origin === this.#replica) return;
    if (Array.isArray(ev.settings)) {
      const kinds = ev.settings.filter((k): k is ZoneSettingsKind => ANNOUNCED_KINDS.includes(k));
      if (kinds.length > 0) this.emitSettings(ev.zone === '' ? { kinds } : { zone: ev.zone, kinds });
      return;
    }
    // A replica of before the settings channel (`shield: true`: shield and transfer settings).
    if (ev.shield === true) {
      this.emitSettings({ zone: ev.zone, kinds: ['shield', 'transfer'] });
      return;
    }
    this.emit({ zone: ev.zone, version: Number(ev.version), deleted: ev.deleted === true });
  }

  /** After a lost LISTEN connection: emits every zone whose version moved meanwhile. */
  async #resync(): Promise<void> {
    const rows = await this.#store.repo.zoneVersions();
    const seen = new Set<string>();
    for (const r of rows) {
      seen.add(r.name);
      const v = Number(r.version);
      if (this.#known.get(r.name) !== v) this.emit({ zone: r.name, version: v, deleted: false });
    }
    for (const [name, v] of [...this.#known])
      if (!seen.has(name)) this.emit({ zone: name, version: v, deleted: true });
  }

  /** Tells this process's listeners about a change (after it committed). */
  emit(ev: ZoneChangeEvent): void {
    if (this.#store.dialect === 'postgres') {
      if (ev.deleted) this.#known.delete(ev.zone);
      else this.#known.set(ev.zone, ev.version);
    }
    for (const l of this.#listeners) {
      try {
        l(ev);
      } catch {
        // A failing listener must not fail the change that already committed.
      }
    }
  }

  /** Announces a change to the other replicas, inside the transaction that makes it. */
  async notify(repo: Repo, ev: ZoneChangeEvent): Promise<void> {
    await this.#store.notify(repo, ZONE_CHANGE_CHANNEL, JSON.stringify({ ...ev, origin: this.#replica }));
  }

  /**
   * Announces a change of a zone's settings (`kinds`: shield, transfer, …) to the other replicas,
   * inside the transaction that makes it: on the zone-change channel with payload
   * `{"zone": …, "settings": ["transfer"], "origin": …}` (no version: the zone did not change).
   */
  async notifySettings(repo: Repo, zone: string, kinds: readonly ZoneSettingsKind[]): Promise<void> {
    await this.#store.notify(
      repo,
      ZONE_CHANGE_CHANNEL,
      JSON.stringify({ zone, settings: kinds, origin: this.#replica }),
    );
  }

  /** Tells this process's listeners that a zone's settings changed (after commit). */
  emitSettings(change: ZoneSettingsChange): void {
    for (const l of this.#settingsListeners) {
      try {
        l(change);
      } catch {
        // as for zone changes
      }
    }
  }

  /** Listens to settings changes (this replica's and, with PostgreSQL, the others'). */
  onSettingsChange(listener: (change: ZoneSettingsChange) => void): () => void {
    this.#settingsListeners.add(listener);
    return () => {
      this.#settingsListeners.delete(listener);
    };
  }

  /** `notifySettings(repo, zone, ['shield'])`. */
  async notifyShield(repo: Repo, zone: string): Promise<void> {
    await this.notifySettings(repo, zone, ['shield']);
  }

  /** `emitSettings` of a shield change (zone unsaid: every zone's shield settings are read). */
  emitShield(zone?: string): void {
    this.emitSettings(zone === undefined ? { kinds: ['shield'] } : { zone, kinds: ['shield'] });
  }

  /** Listens to shield settings changes only. */
  onShieldChange(listener: () => void): () => void {
    return this.onSettingsChange((c) => {
      if (c.kinds.includes('shield')) listener();
    });
  }

  onZoneChange(listener: (ev: ZoneChangeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  clear(): void {
    this.#listeners.clear();
    this.#settingsListeners.clear();
  }
}
