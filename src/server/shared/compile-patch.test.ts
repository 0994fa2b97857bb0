/**
 * IXFR differences as patch jobs (`switchboard edge`): `ixfrChanges` turns a transfer's steps
 * into per-RRset differences, `toPatches` applies them to the RRsets the served image holds,
 * and the image made from them is the image of the zone's new text, octet for octet (a delta
 * image where the change allows one) — on random zones and random differences that replace,
 * add and remove records and names.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom } from '../../../test/helpers/prng.js';
import { compileZone } from '../../image/compile.js';
import { compilePatchedWith } from '../../image/patch.js';
import { openImage } from '../../image/reader.js';
import { RRType } from '../../wire/constants.js';
import type { RR } from '../../wire/message.js';
import { type IxfrStep, recordKey, recordLine } from '../../xfr/secondary/ixfr-in.js';
import { loadZoneText } from '../../zone/load.js';
import { parseZoneText } from '../../zone/parser.js';
import { ixfrChanges, toPatches } from './compile-patch.js';

/**
 * `records` with the steps applied in order, record by record (the edge store's rule,
 * src/edge/store.ts `applyDiff`): the model the patched images are compared with.
 */
function applySteps(records: readonly RR[], steps: readonly IxfrStep[]): RR[] {
  const held = new Map<string, RR>();
  for (const rr of records) held.set(recordKey(rr), rr);
  for (const step of steps) {
    for (const rr of step.removed)
      if (!held.delete(recordKey(rr)))
        throw new Error(`the difference removes ${recordLine(rr)}, which is not held`);
    for (const rr of step.added) held.set(recordKey(rr), rr);
  }
  return [...held.values()];
}

const ORIGIN = 'ix.test.';

function soaRecord(serial: number): RR {
  return parseZoneText(`@ 3600 IN SOA ns1 host ${serial} 7200 900 1209600 300`, { origin: ORIGIN })[0];
}

function rr(line: string): RR {
  return parseZoneText(line, { origin: ORIGIN })[0];
}

/** The records as the served text has them: the SOA first, then by owner key, type and RDATA. */
function text(records: readonly RR[]): string {
  const sorted = [...records].sort((a, b) => {
    if (a.type === RRType.SOA) return -1;
    if (b.type === RRType.SOA) return 1;
    if (a.name.key !== b.name.key) return a.name.key < b.name.key ? -1 : 1;
    if (a.type !== b.type) return a.type - b.type;
    return Buffer.compare(a.rdata, b.rdata);
  });
  return `${sorted.map(recordLine).join('\n')}\n`;
}

function compileText(t: string): Uint8Array {
  return compileZone(loadZoneText(t, { origin: ORIGIN, strict: false }).zone);
}

describe('IXFR differences as patch jobs', () => {
  test('the image patched by random differences is the image of the new text (names added and removed)', () => {
    let compared = 0;
    let deltas = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const r = seededRandom(seed);
      const int = (n: number) => Math.floor(r() * n);
      const label = () => ['a', 'b', 'www', 'mail', 'x'][int(5)];
      const owner = () => (int(3) === 0 ? `${label()}.${label()}` : label());
      const line = (o: string) =>
        int(2) === 0 ? `${o} 300 IN A 192.0.2.${int(250)}` : `${o} 300 IN TXT "t${int(20)}"`;
      let records: RR[] = [soaRecord(1), rr('@ 3600 IN NS ns1'), rr('ns1 300 IN A 192.0.2.53')];
      const add = (l: string) => {
        const x = rr(l);
        if (
          !records.some(
            (y) => y.name.key === x.name.key && y.type === x.type && Buffer.compare(y.rdata, x.rdata) === 0,
          )
        )
          records.push(x);
      };
      for (let i = 0; i < 20; i++) add(line(owner()));
      let base = compileText(text(records));
      let serial = 1;
      for (let round = 0; round < 5; round++) {
        // One or two steps, each: the SOA, some records removed, some added.
        const steps: IxfrStep[] = [];
        let now = records;
        for (let s = 0, n = 1 + int(2); s < n; s++) {
          const removed: RR[] = [now.find((x) => x.type === RRType.SOA) as RR];
          const added: RR[] = [soaRecord(++serial)];
          const plain = now.filter(
            (x) =>
              x.type !== RRType.SOA &&
              x.name.key !== rr('ns1 1 IN A 1.1.1.1').name.key &&
              x.type !== RRType.NS,
          );
          for (let k = int(3); k > 0 && plain.length > 0; k--) {
            const x = plain.splice(int(plain.length), 1)[0];
            removed.push(x);
          }
          for (let k = int(3); k > 0; k--) {
            const x = rr(line(owner()));
            if (
              !now.some(
                (y) =>
                  y.name.key === x.name.key && y.type === x.type && Buffer.compare(y.rdata, x.rdata) === 0,
              ) &&
              !added.some(
                (y) =>
                  y.name.key === x.name.key && y.type === x.type && Buffer.compare(y.rdata, x.rdata) === 0,
              )
            )
              added.push(x);
          }
          const step = { from: serial - 1, to: serial, removed, added };
          now = applySteps(now, [step]);
          steps.push(step);
        }
        const made = compilePatchedWith(
          openImage(base),
          toPatches(ORIGIN, ixfrChanges(steps), openImage(base)),
        );
        const want = compileText(text(now));
        assert.deepEqual(Buffer.from(made.image), Buffer.from(want), `seed ${seed} round ${round}`);
        if (made.delta.image !== undefined) {
          deltas++;
          openImage(made.image); // fully validated
        }
        compared++;
        records = now;
        base = want;
      }
    }
    assert.ok(deltas > compared / 2, `${deltas} of ${compared} by delta`);
  });

  test('a difference that removes a record not held, or mixes TTLs in one RRset, is refused', () => {
    const records = [
      soaRecord(1),
      rr('@ 3600 IN NS ns1'),
      rr('ns1 300 IN A 192.0.2.53'),
      rr('www 300 IN A 192.0.2.1'),
    ];
    const base = openImage(compileText(text(records)));
    const missing: IxfrStep = {
      from: 1,
      to: 2,
      removed: [soaRecord(1), rr('www 300 IN A 192.0.2.9')],
      added: [soaRecord(2)],
    };
    assert.throws(
      () => toPatches(ORIGIN, ixfrChanges([missing]), base),
      /removed by the difference but not held/,
    );
    const ttls: IxfrStep = {
      from: 1,
      to: 2,
      removed: [soaRecord(1)],
      added: [soaRecord(2), rr('www 60 IN A 192.0.2.2')],
    };
    assert.throws(() => toPatches(ORIGIN, ixfrChanges([ttls]), base), /two TTLs/);
    // A record added then removed again in a later step: no change of that RRset.
    const back: IxfrStep[] = [
      { from: 1, to: 2, removed: [soaRecord(1)], added: [soaRecord(2), rr('new 300 IN A 192.0.2.7')] },
      { from: 2, to: 3, removed: [soaRecord(2), rr('new 300 IN A 192.0.2.7')], added: [soaRecord(3)] },
    ];
    const patches = toPatches(ORIGIN, ixfrChanges(back), base);
    const news = patches.find((p) => p.name.key === rr('new 1 IN A 1.1.1.1').name.key);
    assert.equal(news?.rdata.length, 0);
  });
});
