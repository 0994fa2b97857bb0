/**
 * The primary's IXFR journal (docs/TRANSFERS.md, "IXFR"): each zone change the feed sends as a
 * diff becomes a journal entry here (the RRsets then and now compared, bounded in characters),
 * kept in the primary's bounded journal and sent to every DNS worker; a worker that says hello
 * gets the whole journal. Changes that cannot be journaled (sent whole, deleted, too big)
 * start the zone's history over, here and in the workers. At start the journal is rebuilt
 * from the versions the store keeps (`rebuild`), so an IXFR from a serial before a restart is
 * still answered with a difference.
 * @module
 */
import { Name } from '../../wire/name.js';
import {
  BoundedJournal,
  DEFAULT_JOURNAL_STEP_CHARS,
  type JournalLimits,
  journalEntryFromChanges,
  type WireJournalEntry,
} from '../../xfr/journal.js';
import { parseZoneText } from '../../zone/parser.js';
import type { TransferJournalMessage } from '../shared/transfers.js';
import type { JournalStep } from './feed.js';

export class PrimaryJournal {
  readonly journal: BoundedJournal<WireJournalEntry>;
  readonly #send: (m: TransferJournalMessage) => void;
  readonly #maxChars: number;
  #queued: TransferJournalMessage['entries'] = [];
  /** Entries journaled and changes that reset a zone's history (for tests and logs). */
  readonly stats = { entries: 0, resets: 0 };
  /** Zones `step` was called for (the feed's changes since start): `rebuild` leaves them alone. */
  readonly #touched = new Set<string>();

  constructor(
    send: (m: TransferJournalMessage) => void,
    limits: JournalLimits & { maxStepChars?: number } = {},
  ) {
    this.journal = new BoundedJournal<WireJournalEntry>(limits);
    this.#send = send;
    this.#maxChars = limits.maxStepChars ?? DEFAULT_JOURNAL_STEP_CHARS;
  }

  /** The feed's hook: one zone pushed (a diff, or null: history starts over). */
  step(zone: string, step: JournalStep | null): void {
    let key: string;
    let origin: Name;
    try {
      origin = Name.parse(zone);
      key = origin.key;
    } catch {
      return;
    }
    this.#touched.add(key);
    const entry =
      step === null
        ? undefined
        : journalEntryFromChanges(
            origin,
            step.fromSerial,
            step.toSerial,
            step.changes,
            (text, o) => parseZoneText(text, { origin: o }),
            this.#maxChars,
          );
    if (entry !== undefined && this.journal.append(key, entry)) {
      this.stats.entries++;
      this.#queue({ zone, entry });
    } else {
      this.stats.resets++;
      this.journal.reset(key);
      this.#queue({ zone, entry: null });
    }
  }

  /**
   * Rebuilds the journal from the store's history at start: each zone's stored diffs
   * (`history`, oldest first), journaled as the feed's steps are — bounded by the same limits —
   * when they end at the serial the workers serve (`served`: the feed's zone; the same zone id)
   * and the feed has not journaled a change of the zone since. A turn of the loop per zone.
   * @returns the zones and versions journaled
   */
  async rebuild(
    history: AsyncIterable<{ name: string; id: string; serial: number; steps: JournalStep[] }>,
    served: (zone: string) => { serial: number; id?: string } | undefined,
    closed: () => boolean = () => false,
  ): Promise<{ zones: number; versions: number }> {
    const out = { zones: 0, versions: 0 };
    for await (const h of history) {
      if (closed()) break;
      let key: string;
      try {
        key = Name.parse(h.name).key;
      } catch {
        continue;
      }
      const held = served(h.name);
      const last = h.steps[h.steps.length - 1];
      if (this.#touched.has(key) || held === undefined || held.id !== h.id || last?.toSerial !== held.serial)
        continue;
      const before = this.stats.entries;
      for (const step of h.steps) this.step(h.name, step);
      // Its steps are not the feed's: a change heard later is still journaled after them.
      this.#touched.delete(key);
      if (this.stats.entries > before) {
        out.zones++;
        out.versions += this.stats.entries - before;
      }
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }

  /** The whole journal, for a worker that starts. */
  current(): TransferJournalMessage {
    const entries: TransferJournalMessage['entries'] = [];
    // The journal is keyed by the names' wire form; the message carries names (the workers parse them).
    for (const [key, entry] of this.journal.entries())
      entries.push({ zone: Name.fromWire(key).toString(), entry });
    return { type: 'switchboard:transfer-journal', entries };
  }

  #queue(e: TransferJournalMessage['entries'][number]): void {
    this.#queued.push(e);
    if (this.#queued.length > 1) return;
    queueMicrotask(() => {
      const entries = this.#queued;
      this.#queued = [];
      this.#send({ type: 'switchboard:transfer-journal', entries });
    });
  }
}
