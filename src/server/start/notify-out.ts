/**
 * When `start` sends NOTIFY (docs/TRANSFERS.md, "NOTIFY"): for every new version of a zone, once
 * every DNS worker that was sent it says it applied it (so a secondary that asks at once gets
 * the new serial), or after `releaseMs` at the latest; and at once when asked through the API.
 * To whom: the zone's `ALSO-NOTIFY` targets, signed with the first key of its
 * `master_tsig_key_ids` (src/xfr/notify.ts sends, retries and rate-limits).
 * @module
 */
import { Name } from '../../wire/name.js';
import type { NotifyJob, NotifySender } from '../../xfr/notify.js';
import { type OutboundTarget, parseOutboundTarget } from '../../xfr/outbound.js';
import { makeTsigKey, type TsigKey } from '../../xfr/tsig.js';
import type { TransferZonesMessage } from '../shared/transfers.js';
import type { ZonesMessage } from './protocol.js';

/** Longest wait for the workers before NOTIFY goes anyway (ms). */
export const NOTIFY_RELEASE_MS = 10_000;

interface Wanted {
  serial: number;
  waiting: Set<number>;
  timer: NodeJS.Timeout;
}

export class NotifyOut {
  readonly #sender: NotifySender;
  readonly #settings: () => TransferZonesMessage;
  readonly #releaseMs: number;
  /** Every NOTIFY released (the edges are NOTIFYed from here: start/edges.ts). */
  readonly #onNotify: ((zone: string, serial: number) => void) | undefined;
  readonly #slots: () => Iterable<number>;
  /** Zone → the serial last wanted (a moved image or a resent version is not NOTIFYed again). */
  readonly #last = new Map<string, number>();
  readonly #wanted = new Map<string, Wanted>();
  /** Slot → message seq → the zones and serials it carried. */
  readonly #sentBySlot = new Map<number, Map<number, [string, number][]>>();
  #index:
    | { of: TransferZonesMessage; byZone: Map<string, TransferZonesMessage['zones'][number]> }
    | undefined;

  /**
   * `slots`: the workers that take updates now — a new version waits for all of them, also those
   * a staggered (big) update reaches later.
   */
  constructor(
    sender: NotifySender,
    settings: () => TransferZonesMessage,
    slots: () => Iterable<number>,
    releaseMs = NOTIFY_RELEASE_MS,
    onNotify?: (zone: string, serial: number) => void,
  ) {
    this.#onNotify = onNotify;
    this.#sender = sender;
    this.#settings = settings;
    this.#slots = slots;
    this.#releaseMs = releaseMs;
  }

  /** The primary sent `msg` to worker `slot`. */
  sent(slot: number, msg: ZonesMessage): void {
    if (msg.kind !== 'update') return;
    const carried: [string, number][] = [];
    for (const z of msg.zones) {
      if (z.text === null && z.ref === undefined) {
        this.#last.delete(z.name);
        this.#drop(z.name);
        continue;
      }
      carried.push([z.name, z.serial]);
      let w = this.#wanted.get(z.name);
      if (w === undefined || w.serial !== z.serial) {
        if (this.#last.get(z.name) === z.serial) continue;
        this.#last.set(z.name, z.serial);
        this.#drop(z.name);
        const name = z.name;
        const timer = setTimeout(() => this.#release(name), this.#releaseMs);
        timer.unref();
        w = { serial: z.serial, waiting: new Set(this.#slots()), timer };
        this.#wanted.set(z.name, w);
      }
      w.waiting.add(slot);
    }
    if (carried.length === 0) return;
    let bySeq = this.#sentBySlot.get(slot);
    if (bySeq === undefined) {
      bySeq = new Map();
      this.#sentBySlot.set(slot, bySeq);
    }
    bySeq.set(msg.seq, carried);
  }

  /** Worker `slot` applied message `seq`. */
  applied(slot: number, seq: number): void {
    const bySeq = this.#sentBySlot.get(slot);
    const carried = bySeq?.get(seq);
    if (bySeq === undefined || carried === undefined) return;
    bySeq.delete(seq);
    // Older messages of that slot are applied too (one ordered channel).
    for (const s of bySeq.keys()) if (s < seq) bySeq.delete(s);
    for (const [zone, serial] of carried) {
      const w = this.#wanted.get(zone);
      if (w === undefined || w.serial !== serial) continue;
      w.waiting.delete(slot);
      if (w.waiting.size === 0) this.#release(zone);
    }
  }

  /** Worker `slot` is gone: nobody waits for it. */
  gone(slot: number): void {
    this.#sentBySlot.delete(slot);
    for (const [zone, w] of [...this.#wanted]) {
      if (!w.waiting.delete(slot)) continue;
      if (w.waiting.size === 0) this.#release(zone);
    }
  }

  /** NOTIFY `zone` now at `serial` (the API's `notify`). */
  request(zone: string, serial: number): void {
    this.#notify(zone, serial);
  }

  close(): void {
    for (const w of this.#wanted.values()) clearTimeout(w.timer);
    this.#wanted.clear();
    this.#sentBySlot.clear();
  }

  #drop(zone: string): void {
    const w = this.#wanted.get(zone);
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.#wanted.delete(zone);
  }

  #release(zone: string): void {
    const w = this.#wanted.get(zone);
    if (w === undefined) return;
    this.#drop(zone);
    this.#notify(zone, w.serial);
  }

  #notify(zone: string, serial: number): void {
    this.#onNotify?.(zone, serial);
    const job = this.#job(zone, serial);
    if (job !== undefined) this.#sender.notify(job);
  }

  /** The zone's targets and key from the transfer settings in force (none: undefined). */
  #job(zone: string, serial: number): NotifyJob | undefined {
    const msg = this.#settings();
    if (this.#index?.of !== msg) {
      const byZone = new Map<string, TransferZonesMessage['zones'][number]>();
      for (const z of msg.zones) byZone.set(z.zone, z);
      this.#index = { of: msg, byZone };
    }
    const s = this.#index.byZone.get(zone);
    if (s === undefined || !s.alsoNotify || s.alsoNotify.length === 0) return undefined;
    const targets: OutboundTarget[] = [];
    for (const t of s.alsoNotify)
      try {
        targets.push(parseOutboundTarget(t));
      } catch {
        // checked when written; a bad one is skipped
      }
    let key: TsigKey | undefined;
    for (const name of s.allowKeys) {
      const k = s.keys.find((x) => x.name === name);
      if (k === undefined) continue;
      try {
        key = makeTsigKey(k.name, k.algorithm, k.secret);
        break;
      } catch {
        // an unusable key: the next one
      }
    }
    let origin: Name;
    try {
      origin = Name.parse(zone);
    } catch {
      return undefined;
    }
    return { zone: origin, serial, account: s.account ?? '', targets, ...(key ? { key } : {}) };
  }
}
