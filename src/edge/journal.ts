/**
 * The edge's IXFR journal for its own secondaries (docs/EDGE.md "An edge as a primary"): each
 * IXFR the follower applied becomes journal entries — one per difference sequence, records as
 * received (its old SOA and the records removed, its new SOA and the records added) — kept in a
 * bounded journal and sent to every DNS worker (`switchboard:transfer-journal`, the message
 * `start`'s workers take); a zone transferred whole (AXFR), dropped or re-created starts its
 * history over. A worker that says hello gets the whole journal. The same entries are written to
 * the edge's store in the transaction that applies the difference (src/edge/store.ts, bounded
 * alike), and read back at start (`load`): a restarted edge still answers IXFR from before.
 * @module
 */
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import {
  BoundedJournal,
  type JournalLimits,
  recordBytes,
  type WireJournalEntry,
  type WireRecord,
} from '../xfr/journal.js';
import type { IxfrStep } from '../xfr/secondary/ixfr-in.js';

/** What the workers are sent (server/shared/transfers.ts's TransferJournalMessage). */
export interface EdgeJournalMessage {
  type: 'switchboard:transfer-journal';
  entries: { zone: string; entry: WireJournalEntry | null }[];
}

function wire(rr: RR): WireRecord {
  return [rr.name.wire, rr.type, rr.ttl, Buffer.from(rr.rdata).toString('base64')];
}

/**
 * One difference sequence as a journal entry; undefined when it is not one (no SOA first on
 * either side), which resets the zone's history.
 */
export function entryOfStep(step: IxfrStep): WireJournalEntry | undefined {
  const [fromSoa, ...del] = step.removed;
  const [toSoa, ...add] = step.added;
  if (fromSoa?.type !== 6 || toSoa?.type !== 6) return undefined;
  let bytes = 0;
  for (const rr of step.removed) bytes += recordBytes(rr);
  for (const rr of step.added) bytes += recordBytes(rr);
  return {
    from: step.from,
    to: step.to,
    bytes,
    fromSoa: wire(fromSoa),
    toSoa: wire(toSoa),
    del: del.map(wire),
    add: add.map(wire),
  };
}

export class EdgeJournal {
  readonly journal: BoundedJournal<WireJournalEntry>;
  readonly #send: (m: EdgeJournalMessage) => void;
  readonly stats = { entries: 0, resets: 0 };

  constructor(send: (m: EdgeJournalMessage) => void, limits: JournalLimits = {}) {
    this.journal = new BoundedJournal<WireJournalEntry>(limits);
    this.#send = send;
  }

  /** Zone `zone` changed: by these IXFR steps, or (undefined) whole / dropped. */
  changed(zone: string, steps: readonly IxfrStep[] | undefined): void {
    let key: string;
    try {
      key = Name.parse(zone).key;
    } catch {
      return;
    }
    const entries: EdgeJournalMessage['entries'] = [];
    let reset = steps === undefined || steps.length === 0;
    for (const step of steps ?? []) {
      const entry = entryOfStep(step);
      if (entry === undefined || !this.journal.append(key, entry)) {
        reset = true;
        break;
      }
      entries.push({ zone, entry });
    }
    if (reset) {
      this.stats.resets++;
      this.journal.reset(key);
      this.#send({ type: 'switchboard:transfer-journal', entries: [{ zone, entry: null }] });
      return;
    }
    this.stats.entries += entries.length;
    this.#send({ type: 'switchboard:transfer-journal', entries });
  }

  /**
   * An entry read back from the store at start (before any worker says hello: nothing is sent);
   * false when it did not chain (the zone's history then starts at it).
   */
  load(zone: string, entry: WireJournalEntry): boolean {
    let key: string;
    try {
      key = Name.parse(zone).key;
    } catch {
      return false;
    }
    return this.journal.append(key, entry);
  }

  /** The whole journal, for a worker that starts. */
  current(): EdgeJournalMessage {
    const entries: EdgeJournalMessage['entries'] = [];
    for (const [key, entry] of this.journal.entries())
      entries.push({ zone: Name.fromWire(key).toString(), entry });
    return { type: 'switchboard:transfer-journal', entries };
  }
}
