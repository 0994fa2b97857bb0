/**
 * A `start` DNS worker's side of "the control plane learns its edges" (docs/EDGE.md): every
 * query or transfer signed with an edge key (`--transfer-key`) is noted — the key (the POP),
 * the source address, the zone and the serial served, and the NOTIFY address the edge sent in
 * its SOA checks — and sent to the primary once a second (`switchboard:edges-seen`), one entry
 * per (POP, zone), the newest kept; a NOTIFY address this worker has not passed on before is sent
 * at once (`onNewEdge`): a new edge that just checked the catalog must be NOTIFYed of a change made
 * in the next second, or it waits for its SOA refresh. Bounded: at most MAX_PENDING entries wait; more are dropped
 * until the next flush (counted).
 * @module
 */
import type { EdnsOptionData } from '../../wire/message.js';
import { EDGE_NOTIFY_OPTION } from '../../xfr/secondary/client.js';
import type { SignedQueryEvent, TransferEvent } from '../../xfr/service.js';

/** One sighting: a check (SOA) or a transfer (AXFR/IXFR done) by an edge. */
export interface EdgeSighting {
  pop: string;
  address: string;
  zone: string;
  serial: number;
  kind: 'check' | 'transfer';
  /** ms since the epoch. */
  at: number;
  /** `ADDR:PORT` the edge asked to be NOTIFYed at. */
  notify?: string;
}

/** Worker → primary: the sightings since the last message. */
export interface EdgesSeenMessage {
  type: 'switchboard:edges-seen';
  entries: EdgeSighting[];
  dropped: number;
}

export const MAX_PENDING_SIGHTINGS = 50_000;

/** A NOTIFY address as an edge sends it: `ADDR:PORT` (printable, short), else undefined. */
function notifyOf(options: readonly EdnsOptionData[]): string | undefined {
  const o = options.find((x) => x.code === EDGE_NOTIFY_OPTION);
  if (!o || o.data.length === 0 || o.data.length > 64) return undefined;
  const text = Buffer.from(o.data).toString('latin1');
  return /^[0-9A-Fa-f.:[\]]+$/.test(text) ? text : undefined;
}

/** At most this many (POP, NOTIFY address) pairs remembered as passed on (then forgotten at once). */
const MAX_KNOWN_NOTIFY = 10_000;

export class EdgeSightings {
  #pending = new Map<string, EdgeSighting>();
  #dropped = 0;
  /** (POP, NOTIFY address) pairs already passed on to the primary. */
  #known = new Set<string>();
  readonly #onNewEdge: (() => void) | undefined;

  /** `onNewEdge`: called when a sighting carries a NOTIFY address not passed on before (send now). */
  constructor(onNewEdge?: () => void) {
    this.#onNewEdge = onNewEdge;
  }

  #note(s: EdgeSighting): void {
    const k = `${s.pop}|${s.zone}`;
    if (!this.#pending.has(k) && this.#pending.size >= MAX_PENDING_SIGHTINGS) {
      this.#dropped++;
      return;
    }
    const had = this.#pending.get(k);
    // A transfer's serial is what the edge has; a later check keeps the NOTIFY address.
    this.#pending.set(k, had?.notify && !s.notify ? { ...s, notify: had.notify } : s);
    if (s.notify !== undefined) {
      const edge = `${s.pop}|${s.notify}`;
      if (!this.#known.has(edge)) {
        if (this.#known.size >= MAX_KNOWN_NOTIFY) this.#known.clear();
        this.#known.add(edge);
        this.#onNewEdge?.();
      }
    }
  }

  /** A signed non-transfer query (the TransferService's `onSignedQuery`). */
  signed(e: SignedQueryEvent): void {
    if (!e.edge || e.zone === undefined || e.serial === undefined) return;
    const notify = notifyOf(e.options);
    this.#note({
      pop: e.key,
      address: e.address,
      zone: e.zone,
      serial: e.serial,
      kind: 'check',
      at: Date.now(),
      ...(notify ? { notify } : {}),
    });
  }

  /** A transfer event (the TransferService's `onTransfer`): done ones by an edge key. */
  transfer(e: TransferEvent): void {
    if (!e.edge || e.outcome !== 'done' || e.key === undefined || e.serial === undefined) return;
    this.#note({
      pop: e.key,
      address: e.address,
      zone: e.zone,
      serial: e.serial,
      kind: 'transfer',
      at: Date.now(),
    });
  }

  /** The message to send (undefined when nothing is pending), emptying the list. */
  take(): EdgesSeenMessage | undefined {
    if (this.#pending.size === 0 && this.#dropped === 0) return undefined;
    const msg: EdgesSeenMessage = {
      type: 'switchboard:edges-seen',
      entries: [...this.#pending.values()],
      dropped: this.#dropped,
    };
    this.#pending = new Map();
    this.#dropped = 0;
    return msg;
  }
}
