/**
 * The primary's IXFR journal (docs/TRANSFERS.md, "IXFR"): each zone change the feed sends as a
 * diff becomes a journal entry here (the RRsets then and now compared, bounded in characters),
 * kept in the primary's bounded journal and sent to every DNS worker; a worker that says hello
 * gets the whole journal. Changes that cannot be journaled (sent whole, deleted, too big)
 * start the zone's history over, here and in the workers.
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

  /** The whole journal, for a worker that starts. */
  current(): TransferJournalMessage {
    const entries: TransferJournalMessage['entries'] = [];
    for (const [zone, entry] of this.journal.entries()) entries.push({ zone, entry });
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
