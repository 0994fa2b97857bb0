/**
 * IXFR in (RFC 1995), the client side: the query carries our SOA (its serial) in the authority
 * section; the answer is read over TCP, every message checked as AXFR in's are (client.ts: ID,
 * QR, opcode, RCODE, question, class IN, owners inside the zone, TSIG on every message with the
 * last one signed) and bounded in octets, records and time. Three answers are understood:
 *
 * - one SOA whose serial is not newer than ours: `current`;
 * - the whole zone in AXFR form (SOA, records, the same SOA; §4): `full`;
 * - differences (§4): SOA(new), then per step SOA(from), the records removed, SOA(to), the
 *   records added; the last step ends at the new serial and a final SOA(new) closes it:
 *   `incremental`, each step with its old SOA among the removals and its new SOA among the
 *   additions (applying the steps in order turns our zone into the new one).
 *
 * Anything else (a first step that does not start at our serial, steps that do not chain, a
 * record after the closing SOA, the stream cut short) fails the transfer: the caller keeps its
 * zone and falls back to AXFR (transferRecords).
 * @module
 */
import { RRClass, RRType, typeToString } from '../../wire/constants.js';
import type { RR } from '../../wire/message.js';
import type { Name } from '../../wire/name.js';
import { rdataToText, readSoa } from '../../wire/rdata.js';
import type { OutboundTarget } from '../outbound.js';
import { type TsigKey, TsigVerifier } from '../tsig.js';
import {
  buildQuery,
  checkResponse,
  checkTsig,
  DEFAULT_TRANSFER_LIMITS,
  type SoaTimers,
  TransferError,
  type TransferLimits,
  tcpExchange,
} from './client.js';

/** One difference sequence: from serial `from` to `to`. */
export interface IxfrStep {
  from: number;
  to: number;
  /** Records removed, the old SOA first. */
  removed: RR[];
  /** Records added, the new SOA first. */
  added: RR[];
}

/** What an IXFR (or AXFR) in brought. */
export type XfrInResult =
  | { kind: 'current'; serial: number; timers: SoaTimers; bytes: number; messages: number }
  | { kind: 'full'; serial: number; timers: SoaTimers; records: RR[]; bytes: number; messages: number }
  | {
      kind: 'incremental';
      serial: number;
      timers: SoaTimers;
      steps: IxfrStep[];
      bytes: number;
      messages: number;
    };

function timersOf(rdata: Uint8Array): SoaTimers {
  let s: ReturnType<typeof readSoa>;
  try {
    s = readSoa(rdata);
  } catch (err) {
    throw new TransferError(`malformed SOA in the transfer: ${(err as Error).message}`);
  }
  return { serial: s.serial, refresh: s.refresh, retry: s.retry, expire: s.expire };
}

/** RFC 1982: `a` is after `b`. */
export function serialAfter(a: number, b: number): boolean {
  return a !== b && (a - b) >>> 0 < 0x80000000;
}

/** The SOA we send in an IXFR query: only its serial is read by primaries (RFC 1995 §3). */
function ourSoa(zone: Name, serial: number): RR {
  // MNAME and RNAME the root, the timers 0: what kdig's IXFR=serial sends too.
  const rdata = new Uint8Array(2 + 20);
  new DataView(rdata.buffer).setUint32(2, serial >>> 0);
  return { name: zone, type: RRType.SOA, class: RRClass.IN, ttl: 0, rdata };
}

/**
 * Reads a zone transfer answer (AXFR, or IXFR when `serial` is given) over TCP from `target`
 * (a connection of its own, or `exchange`'s: connection.ts's persistent, pipelined ones).
 * @throws TransferError (the zone is then left as it was)
 */
export async function transferIn(
  target: OutboundTarget,
  zone: Name,
  key: TsigKey | undefined,
  serial: number | undefined,
  limits: TransferLimits = DEFAULT_TRANSFER_LIMITS,
  exchange: typeof tcpExchange = tcpExchange,
): Promise<XfrInResult> {
  const type = serial === undefined ? RRType.AXFR : RRType.IXFR;
  const query = buildQuery(zone, type, key, 0, serial === undefined ? [] : [ourSoa(zone, serial)]);
  const verifier = key ? new TsigVerifier(key, query) : undefined;
  let bytes = 0;
  let messages = 0;
  let records = 0;
  /** The new SOA (first record). */
  let first: RR | undefined;
  let timers: SoaTimers | undefined;
  let form = 'unknown' as 'unknown' | 'full' | 'incremental';
  let done = false;
  let current = false;
  const full: RR[] = [];
  const steps: IxfrStep[] = [];
  /** In an incremental answer: reading removals (after SOA(from)) or additions (after SOA(to)). */
  let phase: 'del' | 'add' = 'del';
  const isZoneSoa = (rr: RR) => rr.type === RRType.SOA && rr.name.equals(zone);
  const take = (rr: RR): void => {
    if (done) throw new TransferError('records after the closing SOA');
    if (rr.class !== RRClass.IN) throw new TransferError(`a record of class ${rr.class} in the transfer`);
    if (!rr.name.isSubdomainOf(zone)) throw new TransferError(`${rr.name} is outside the zone`);
    if (++records > limits.maxRecords + 2)
      throw new TransferError(`transfer of more than ${limits.maxRecords} records: cut off`);
    if (first === undefined || timers === undefined) {
      if (!isZoneSoa(rr)) throw new TransferError("the transfer does not start with the zone's SOA");
      first = rr;
      timers = timersOf(rr.rdata);
      return;
    }
    const newSerial = timers.serial;
    if (form === 'unknown') {
      // The second record says which form (§4): a SOA starts differences (AXFR never has two).
      if (serial !== undefined && isZoneSoa(rr)) {
        const from = timersOf(rr.rdata).serial;
        if (from === newSerial) {
          // SOA(new), SOA(new): an empty zone is impossible, so this is an up-to-date answer
          // some servers send over TCP; nothing to change.
          current = true;
          done = true;
          return;
        }
        if (from !== serial)
          throw new TransferError(`the differences start at serial ${from}, not at ours (${serial})`);
        form = 'incremental';
        steps.push({ from, to: from, removed: [rr], added: [] });
        phase = 'del';
        return;
      }
      form = 'full';
      full.push(first);
    }
    if (form === 'full') {
      if (isZoneSoa(rr)) {
        if (timersOf(rr.rdata).serial !== newSerial)
          throw new TransferError('the closing SOA has another serial (the zone changed mid-transfer)');
        done = true;
        return;
      }
      full.push(rr);
      return;
    }
    const step = steps[steps.length - 1];
    if (!isZoneSoa(rr)) {
      (phase === 'del' ? step.removed : step.added).push(rr);
      return;
    }
    const s = timersOf(rr.rdata).serial;
    if (phase === 'del') {
      step.to = s;
      step.added.push(rr);
      phase = 'add';
      return;
    }
    // After additions, a SOA either closes the answer (the new serial, once the last step
    // reached it) or opens the next step, which must start where this one ended.
    if (s === newSerial && step.to === newSerial) {
      done = true;
      return;
    }
    if (s !== step.to) throw new TransferError(`difference from serial ${s} does not follow ${step.to}`);
    steps.push({ from: s, to: s, removed: [rr], added: [] });
    phase = 'del';
  };
  await exchange(target, query, limits, (m) => {
    bytes += m.length;
    const msg = checkResponse(m, query, zone, type, messages === 0);
    messages++;
    checkTsig(verifier, m);
    for (const rr of msg.answers) take(rr);
    // One SOA alone in the first message, not newer than ours: up to date (§4).
    if (
      !done &&
      messages === 1 &&
      serial !== undefined &&
      msg.answers.length === 1 &&
      timers !== undefined &&
      !serialAfter(timers.serial, serial)
    ) {
      current = true;
      done = true;
    }
    if (done && verifier && !verifier.endsSigned)
      throw new TransferError('TSIG check failed: the last message is not signed');
    return done;
  });
  if (!done || timers === undefined) throw new TransferError('incomplete transfer');
  if (current) return { kind: 'current', serial: timers.serial, timers, bytes, messages };
  if (form === 'incremental')
    return { kind: 'incremental', serial: timers.serial, timers, steps, bytes, messages };
  return { kind: 'full', serial: timers.serial, timers, records: full, bytes, messages };
}

/** A record's identity in a difference: owner (case-folded), type and RDATA — not the TTL. */
export function recordKey(rr: RR): string {
  return `${rr.name.key}|${rr.type}|${Buffer.from(rr.rdata).toString('base64')}`;
}

/** A record as a master-file line (absolute names), as AXFR in writes them. */
export function recordLine(rr: RR): string {
  return `${rr.name.toString()} ${rr.ttl} IN ${typeToString(rr.type)} ${rdataToText(rr.type, rr.rdata)}`;
}
