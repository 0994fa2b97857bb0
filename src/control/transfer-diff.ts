/**
 * A secondary zone's IXFR difference (RFC 1995) applied to its stored content (zone-work.ts,
 * job `ixfr`; docs/TRANSFERS.md "Secondary role"): in the zone-work thread, against the zone as
 * last committed, instead of the zone's whole text rendered, patched and imported again. Each
 * step's removed records must be held (else the difference is not against what is stored:
 * refused, and the refresher transfers the zone whole by AXFR); an RRset that keeps records and
 * gets others added under another TTL is refused likewise (the primary's RRset would hold two
 * TTLs: AXFR settles what it serves). Records are parsed as an imported zone file's are, so
 * the content ends up as an AXFR of the same zone would make it.
 * @module
 */
import { typeToString } from '../wire/constants.js';
import type { Name } from '../wire/name.js';
import { type EditLimits, parseZonefile } from './edit.js';
import type { RRsetState, ZoneContent } from './records.js';
import { ControlError } from './types.js';

/** One difference sequence: the records removed and added, as master-file lines (absolute names). */
export interface TransferStep {
  removed: string;
  added: string;
}

function refused(message: string): ControlError {
  return new ControlError('CTL_ERR_VALIDATION', `the IXFR difference does not apply: ${message}`);
}

/** Applies `steps` in order to `draft` (new RRset objects: those of `draft` are not changed). */
export function applyTransferSteps(
  draft: ZoneContent,
  origin: Name,
  limits: EditLimits,
  steps: readonly TransferStep[],
): void {
  for (const step of steps) {
    for (const [key, gone] of parseZonefile(step.removed, origin, limits).content) {
      const held = draft.get(key);
      const left = held ? [...held.records] : [];
      for (const r of gone.records) {
        const i = left.findIndex((h) => h.content === r.content);
        if (i < 0)
          throw refused(`it removes ${gone.name} ${typeToString(gone.type)} ${r.content}, which is not held`);
        left.splice(i, 1);
      }
      if (left.length === 0) draft.delete(key);
      else draft.set(key, { ...(held as RRsetState), records: left });
    }
    for (const [key, added] of parseZonefile(step.added, origin, limits).content) {
      const held = draft.get(key);
      if (held === undefined) {
        draft.set(key, added);
        continue;
      }
      if (held.ttl !== added.ttl)
        throw refused(
          `${added.name} ${typeToString(added.type)} would hold records of TTL ${held.ttl} and ${added.ttl}`,
        );
      const records = [...held.records];
      for (const r of added.records) if (!records.some((h) => h.content === r.content)) records.push(r);
      draft.set(key, { ...held, records });
    }
  }
}
