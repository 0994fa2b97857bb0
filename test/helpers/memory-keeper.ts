/**
 * What the control plane keeps of secondary zones, in memory (tests and benches of the
 * secondary refresher, src/server/shared/secondary-refresher.ts): the zones listed (names,
 * masters, key), the last text transferred of each, an IXFR's differences applied to it as
 * serve's folder applies them (`patchZoneText`).
 * @module
 */
import type { SecondaryZone } from '../../src/control/secondary.js';
import type { ZoneChangeResult } from '../../src/control/types.js';
import { patchZoneText, type RefresherControl } from '../../src/server/shared/secondary-refresher.js';
import { RRType } from '../../src/wire/constants.js';
import { parseZoneText } from '../../src/zone/parser.js';

export function memoryKeeper(
  names: readonly string[],
  masters: string[],
  key: SecondaryZone['key'],
): { control: RefresherControl; texts: Map<string, string> } {
  const texts = new Map<string, string>();
  const serialOf = (name: string): number => {
    const text = texts.get(name);
    if (text === undefined) return 0;
    const soa = parseZoneText(text, { origin: name }).find((r) => r.type === RRType.SOA);
    return soa ? new DataView(soa.rdata.buffer, soa.rdata.byteOffset).getUint32(soa.rdata.length - 20) : 0;
  };
  const control: RefresherControl = {
    async secondaryZones(): Promise<SecondaryZone[]> {
      return names.map((name) => ({
        name,
        id: name,
        // An account each: the per-account limit of transfers at once does not apply.
        accountId: name,
        serial: serialOf(name),
        masters,
        key,
        lastSuccess: texts.has(name) ? new Date().toISOString() : null,
        maxRecords: 1_000_000,
      }));
    },
    async transferIn(_id, name, text): Promise<ZoneChangeResult> {
      const changed = texts.get(name) !== text;
      texts.set(name, text);
      return { changed, serial: serialOf(name), name } as unknown as ZoneChangeResult;
    },
    // As serve's folder: the difference applied to the text held (start's rule).
    async transferInSteps(id, name, steps, comment) {
      const text = texts.get(name);
      if (text === undefined) throw new Error('no text held');
      return control.transferIn(id, name, await patchZoneText(text, name, steps), comment);
    },
    async servedZone(name) {
      const text = texts.get(name);
      return text === undefined ? null : { name, serial: serialOf(name), version: 0, text };
    },
    async recordSecondaryCheck() {},
    onSecondaryRefresh: () => () => {},
    onShieldChange: () => () => {},
    onZoneChange: () => () => {},
  };
  return { control, texts };
}
