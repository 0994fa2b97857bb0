/**
 * The change feed of the control plane: listeners of zone changes in this process and, with
 * PostgreSQL, the NOTIFY/LISTEN channel that carries other replicas' changes (with a resync
 * after a lost connection).
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { ChangeFeed, Repo, Store } from '../store/index.js';
import type { ZoneChangeEvent } from './types.js';

/** The NOTIFY channel of zone changes (issue 3: every replica LISTENs on it). */
export const ZONE_CHANGE_CHANNEL = 'switchboard_zone_change';

/** Zone change events: emitted here, announced to and received from the other replicas. */
export class ChangeEvents {
  readonly #store: Store;
  readonly #listeners = new Set<(ev: ZoneChangeEvent) => void>();
  readonly #shieldListeners = new Set<() => void>();
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
        // Shield settings changed meanwhile are read again whole (they are few).
        this.emitShield();
        this.#resync().catch(() => {
          // The next reconnect or change brings it back in line.
        });
      },
    });
  }

  #onNotify(payload: string): void {
    let ev: ZoneChangeEvent & { origin?: string; shield?: boolean };
    try {
      ev = JSON.parse(payload) as ZoneChangeEvent & { origin?: string; shield?: boolean };
    } catch {
      return;
    }
    if (typeof ev?.zone !== 'string' || ev.origin === this.#replica) return;
    if (ev.shield === true) {
      this.emitShield();
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
   * Announces a change of a zone's shield settings to the other replicas, inside the
   * transaction that makes it (same channel as zone changes, `shield: true`: no version).
   */
  async notifyShield(repo: Repo, zone: string): Promise<void> {
    await this.#store.notify(
      repo,
      ZONE_CHANGE_CHANNEL,
      JSON.stringify({ zone, shield: true, origin: this.#replica }),
    );
  }

  /** Tells this process's listeners that some zone's shield settings changed (after commit). */
  emitShield(): void {
    for (const l of this.#shieldListeners) {
      try {
        l();
      } catch {
        // as for zone changes
      }
    }
  }

  onShieldChange(listener: () => void): () => void {
    this.#shieldListeners.add(listener);
    return () => {
      this.#shieldListeners.delete(listener);
    };
  }

  onZoneChange(listener: (ev: ZoneChangeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  clear(): void {
    this.#listeners.clear();
    this.#shieldListeners.clear();
  }
}
