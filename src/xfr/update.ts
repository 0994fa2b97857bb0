/**
 * DNS UPDATE (RFC 2136) on the wire, in `switchboard start`'s primary process: a DNS worker
 * relays each UPDATE message here untouched (`switchboard:dns-update`) and sends back the
 * octets this returns. Here the message is read (zone section, prerequisites, updates), its
 * TSIG verified against the keys of the zone's account (read from the store: a zone needs no
 * transfer settings for its tenants to sign updates), and the update handed to the control
 * plane (src/control/dns-updates.ts: who may, then the change as any other); the answer is
 * signed with the request's key.
 *
 * Bounded: at most `maxInFlight` updates at once in the process and `maxInFlightPerAccount` of
 * one account's zones (beyond: REFUSED at once — no tenant can hold every slot), a
 * message is at most 64 KiB, and its records at most MAX_UPDATE_RRS; the heavy part (the zone's
 * content, checks and diff) runs in the zone-work thread like every change.
 *
 * Replays: TSIG accepts a message again as long as its time is within the fudge (RFC 8945
 * §5.2.3 keeps no memory), and an UPDATE is not idempotent ("delete this, add that" replayed
 * after a later change undoes it). Every signed UPDATE that verified is remembered
 * (`SignedUpdateMemory`: key and MAC) until its time leaves its fudge: the same message again
 * — an attacker's replay, or the client's own retransmission — is not applied again and gets
 * the first one's answer.
 * @module
 */
import { Flag, Opcode, Rcode, RRType } from '../wire/constants.js';
import { readName } from '../wire/decode.js';
import { MessageWriter } from '../wire/encode.js';
import { WireFormatError } from '../wire/errors.js';
import type { Name } from '../wire/name.js';
import { readRdata } from '../wire/rdata.js';
import { stripTsig } from './service.js';
import {
  findTsig,
  makeTsigKey,
  signTsigError,
  TsigError,
  type TsigKey,
  type TsigRecord,
  TsigSigner,
  tsigNow,
  verifyTsigRequest,
} from './tsig.js';
import {
  CLASS_ANY,
  CLASS_NONE,
  type DnsUpdateRequest,
  type DnsUpdateResult,
  type UpdateRR,
} from './update-types.js';

/** What the handler needs of the control plane. */
export interface UpdateControl {
  zoneAccountKeys(
    zone: string,
  ): Promise<{ account: string; keys: { name: string; algorithm: string; secret: string }[] } | undefined>;
  dnsUpdate(req: DnsUpdateRequest): Promise<DnsUpdateResult>;
}

/** Told of every update answered (for the log and metrics): never a secret. */
export interface UpdateEvent {
  zone: string;
  address: string;
  key?: string;
  rcode: number;
  reason?: string;
  serial?: number;
  changed: boolean;
}

/** Updates handled at once in the process, at most (more: REFUSED at once). */
export const DEFAULT_UPDATES_IN_FLIGHT = 64;

/** Updates of one account's zones handled at once, at most (more: REFUSED): no tenant holds them all. */
export const DEFAULT_UPDATES_IN_FLIGHT_PER_ACCOUNT = 8;

/** Signed updates remembered at most (`SignedUpdateMemory`). */
export const DEFAULT_UPDATES_REMEMBERED = 10_000;

/**
 * The signed UPDATEs seen while their time is within their fudge, by key and MAC, each with
 * its answer (a promise while it is being applied). Bounded: at most `max` entries; when one
 * must be forgotten before its time is up, every message signed at or before its time is
 * refused from then on (`floor`), so a forgotten message can never be applied twice.
 */
export class SignedUpdateMemory {
  readonly #max: number;
  /** Insertion order = arrival order; `until`: the second after which its time is out of its fudge. */
  readonly #seen = new Map<string, { until: number; signed: number; answer: Promise<Uint8Array> }>();
  #floor = -1;

  constructor(max = DEFAULT_UPDATES_REMEMBERED) {
    this.#max = Math.max(1, max);
  }

  get size(): number {
    return this.#seen.size;
  }

  /**
   * The answer already given (or being made) to this message; 'too-old' when it is signed at
   * or before the time of a message forgotten early; undefined when new — then `remember` it.
   */
  recall(id: string, signed: number): Promise<Uint8Array> | 'too-old' | undefined {
    const had = this.#seen.get(id);
    if (had !== undefined) return had.answer;
    if (signed <= this.#floor) return 'too-old';
    return undefined;
  }

  remember(id: string, signed: number, fudge: number, answer: Promise<Uint8Array>, now: number): void {
    // Entries whose time left their fudge cannot verify again: dropped, oldest first (arrival
    // order; a later one that is out already goes when it reaches the front).
    for (const [k, e] of this.#seen) {
      if (e.until >= now && this.#seen.size < this.#max) break;
      this.#seen.delete(k);
      if (e.until >= now) this.#floor = Math.max(this.#floor, e.signed);
    }
    this.#seen.set(id, { until: signed + fudge, signed, answer });
  }
}

const HEADER = 12;

function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

/** An answer of header and zone section (RFC 2136 §3.8: the zone section echoed, as BIND does). */
function answer(id: number, flags: number, rcode: number, zone?: { name: Name; zclass: number }): Uint8Array {
  const w = new MessageWriter(512);
  // QR, the opcode, and the request's RD (RFC 2136 §3.8: "copied from the request").
  w.header(id, Flag.QR | (Opcode.UPDATE << 11) | (flags & Flag.RD) | rcode);
  if (zone) w.question({ name: zone.name, type: RRType.SOA, class: zone.zclass });
  return w.finish();
}

export class UpdateHandler {
  readonly #control: UpdateControl;
  readonly #onUpdate: ((e: UpdateEvent) => void) | undefined;
  readonly #max: number;
  readonly #maxPerAccount: number;
  readonly #memory: SignedUpdateMemory;
  #inFlight = 0;
  /** Updates in flight per account (entries removed at 0). */
  readonly #perAccount = new Map<string, number>();
  /** Signed updates answered from the memory instead of applied again. */
  replays = 0;

  constructor(
    control: UpdateControl,
    opts: {
      maxInFlight?: number;
      maxInFlightPerAccount?: number;
      remembered?: number;
      onUpdate?: (e: UpdateEvent) => void;
    } = {},
  ) {
    this.#control = control;
    this.#max = opts.maxInFlight ?? DEFAULT_UPDATES_IN_FLIGHT;
    this.#maxPerAccount = opts.maxInFlightPerAccount ?? DEFAULT_UPDATES_IN_FLIGHT_PER_ACCOUNT;
    this.#memory = new SignedUpdateMemory(opts.remembered);
    this.#onUpdate = opts.onUpdate;
  }

  /** Updates being handled now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The answer to the UPDATE `query` from `address` (null: none — not an UPDATE request). */
  async handle(query: Uint8Array, address: string): Promise<Uint8Array | null> {
    if (query.length < HEADER || (query[2] & 0x80) !== 0) return null;
    const id = u16(query, 0);
    const flags = u16(query, 2);
    if (((flags >> 11) & 0xf) !== Opcode.UPDATE) return null;
    if (this.#inFlight >= this.#max) return answer(id, flags, Rcode.REFUSED);
    this.#inFlight++;
    try {
      return await this.#handle(query, id, flags, address);
    } finally {
      this.#inFlight--;
    }
  }

  async #handle(query: Uint8Array, id: number, flags: number, address: string): Promise<Uint8Array> {
    // RFC 2136 §3.1.1: exactly one zone, of type SOA.
    if (u16(query, 4) !== 1) return answer(id, flags, Rcode.FORMERR);
    let zoneName: Name;
    let zclass: number;
    let pos: number;
    try {
      const z = readName(query, HEADER);
      if (z.end + 4 > query.length) return answer(id, flags, Rcode.FORMERR);
      zoneName = z.name;
      if (u16(query, z.end) !== RRType.SOA) return answer(id, flags, Rcode.FORMERR);
      zclass = u16(query, z.end + 2);
      pos = z.end + 4;
    } catch (err) {
      if (err instanceof WireFormatError) return answer(id, flags, Rcode.FORMERR);
      throw err;
    }
    const zone = { name: zoneName, zclass };
    const tsig = findTsig(query);
    if (tsig === 'malformed') return answer(id, flags, Rcode.FORMERR, zone);
    const found = await this.#control.zoneAccountKeys(zoneName.toString());
    const report = (e: Omit<UpdateEvent, 'zone' | 'address'>): void =>
      this.#onUpdate?.({ zone: zoneName.toString(), address, ...e });
    if (found === undefined) {
      report({ rcode: Rcode.NOTAUTH, reason: 'not a zone here', changed: false });
      return answer(id, flags, Rcode.NOTAUTH, zone);
    }
    const account = found.account;
    const busy = this.#perAccount.get(account) ?? 0;
    if (busy >= this.#maxPerAccount) {
      report({ rcode: Rcode.REFUSED, reason: `the account has ${busy} updates in flight`, changed: false });
      return answer(id, flags, Rcode.REFUSED, zone);
    }
    this.#perAccount.set(account, busy + 1);
    try {
      return await this.#verified(query, tsig, found.keys, pos, zone, id, flags, address, report);
    } finally {
      const n = (this.#perAccount.get(account) ?? 1) - 1;
      if (n <= 0) this.#perAccount.delete(account);
      else this.#perAccount.set(account, n);
    }
  }

  /** The TSIG checked against the account's keys (and the replay memory), then applied. */
  async #verified(
    query: Uint8Array,
    tsig: TsigRecord | undefined,
    keys: { name: string; algorithm: string; secret: string }[],
    pos: number,
    zone: { name: Name; zclass: number },
    id: number,
    flags: number,
    address: string,
    report: (e: Omit<UpdateEvent, 'zone' | 'address'>) => void,
  ): Promise<Uint8Array> {
    let signer: TsigSigner | undefined;
    let key: TsigKey | undefined;
    if (tsig !== undefined) {
      const made: TsigKey[] = [];
      for (const k of keys)
        try {
          made.push(makeTsigKey(k.name, k.algorithm, k.secret));
        } catch {
          // A stored key that no longer parses signs nothing.
        }
      const verdict = verifyTsigRequest(query, tsig, (n) => made.find((k) => k.name.key === n.key));
      if (!verdict.ok) {
        report({
          rcode: Rcode.NOTAUTH,
          reason: `TSIG error ${verdict.error}`,
          changed: false,
          key: tsig.keyName.toString(),
        });
        if (verdict.rcode === Rcode.FORMERR) return answer(id, flags, Rcode.FORMERR, zone);
        return signTsigError(answer(id, flags, Rcode.NOTAUTH, zone), verdict);
      }
      key = verdict.key;
      signer = new TsigSigner(key, tsig.mac);
      const seen = `${key.name.key}|${Buffer.from(tsig.mac).toString('base64')}`;
      const had = this.#memory.recall(seen, tsig.timeSigned);
      if (had === 'too-old') {
        report({
          rcode: Rcode.NOTAUTH,
          reason: 'signed before an update forgotten early (BADTIME)',
          changed: false,
          key: key.name.toString(),
        });
        return signTsigError(answer(id, flags, Rcode.NOTAUTH, zone), {
          ok: false,
          rcode: Rcode.NOTAUTH,
          error: TsigError.BADTIME,
          tsig,
          key,
        });
      }
      if (had !== undefined) {
        this.replays++;
        report({
          rcode: Rcode.NOERROR,
          reason: 'the same signed message again: not applied again, the first answer sent',
          changed: false,
          key: key.name.toString(),
        });
        // The first answer, under this message's ID (TSIG's original ID keeps its MAC valid).
        const first = Uint8Array.from(await had);
        first[0] = id >> 8;
        first[1] = id & 0xff;
        return first;
      }
      const pending = this.#apply({ query, tsig, pos, zone, id, flags, address, key, signer, report });
      this.#memory.remember(seen, tsig.timeSigned, tsig.fudge, pending, tsigNow());
      return pending;
    }
    return this.#apply({ query, tsig, pos, zone, id, flags, address, key, signer, report });
  }

  /** The sections read and the update applied; the answer, signed when the request was. */
  async #apply(u: {
    query: Uint8Array;
    tsig: TsigRecord | undefined;
    pos: number;
    zone: { name: Name; zclass: number };
    id: number;
    flags: number;
    address: string;
    key: TsigKey | undefined;
    signer: TsigSigner | undefined;
    report: (e: Omit<UpdateEvent, 'zone' | 'address'>) => void;
  }): Promise<Uint8Array> {
    const { query, tsig, pos, zone, id, flags, address, key, signer, report } = u;
    const zoneName = zone.name;
    const zclass = zone.zclass;
    const sign = (bytes: Uint8Array): Uint8Array => (signer ? signer.sign(bytes) : bytes);
    const body = tsig === undefined ? query : stripTsig(query, tsig);
    let prereqs: UpdateRR[];
    let updates: UpdateRR[];
    try {
      const read = readSections(body, pos, u16(body, 6), u16(body, 8), u16(body, 10));
      prereqs = read.prereqs;
      updates = read.updates;
    } catch (err) {
      if (err instanceof WireFormatError) {
        report({ rcode: Rcode.FORMERR, reason: err.message, changed: false, key: key?.name.toString() });
        return sign(answer(id, flags, Rcode.FORMERR, zone));
      }
      throw err;
    }
    const result = await this.#control.dnsUpdate({
      zone: zoneName.toString(),
      zclass,
      ...(key !== undefined ? { key: key.name.toString() } : {}),
      address,
      prereqs,
      updates,
    });
    report({ ...result, ...(key !== undefined ? { key: key.name.toString() } : {}) });
    return sign(answer(id, flags, result.rcode, zone));
  }
}

/**
 * The prerequisite (ANCOUNT) and update (NSCOUNT) sections as UpdateRRs; the additional
 * section is read past (RFC 2136 §3.5: ignored) and must end the message. RDATA of class ANY
 * deletions is empty (RDLENGTH 0, whatever the type), so it is read per record, not by
 * decodeMessage (which checks each type's RDATA). @throws WireFormatError
 */
function readSections(
  buf: Uint8Array,
  start: number,
  prcount: number,
  upcount: number,
  adcount: number,
): { prereqs: UpdateRR[]; updates: UpdateRR[] } {
  const prereqs: UpdateRR[] = [];
  const updates: UpdateRR[] = [];
  let pos = start;
  const total = prcount + upcount + adcount;
  for (let i = 0; i < total; i++) {
    const n = readName(buf, pos);
    pos = n.end;
    if (pos + 10 > buf.length)
      throw new WireFormatError('DNS_ERR_SHORT', 'RR header runs past the end of the message', pos);
    const type = u16(buf, pos);
    const cls = u16(buf, pos + 2);
    const ttl = ((buf[pos + 4] << 24) | (buf[pos + 5] << 16) | (buf[pos + 6] << 8) | buf[pos + 7]) >>> 0;
    const rdlength = u16(buf, pos + 8);
    pos += 10;
    if (pos + rdlength > buf.length)
      throw new WireFormatError('DNS_ERR_SHORT', 'RDATA runs past the end of the message', pos);
    if (i < prcount + upcount) {
      // Empty RDATA is taken as is (class ANY and NONE prerequisites, class ANY deletions);
      // any other is read as its type's (compressed names expanded, layout checked).
      const rdata =
        rdlength === 0 && (cls === CLASS_ANY || cls === CLASS_NONE)
          ? ''
          : hex(readRdata(buf, pos, rdlength, type));
      const rr: UpdateRR = { name: n.name.toString(), class: cls, type, ttl, rdata };
      if (i < prcount) prereqs.push(rr);
      else updates.push(rr);
    }
    pos += rdlength;
  }
  if (pos !== buf.length)
    throw new WireFormatError('DNS_ERR_TRAILING', `${buf.length - pos} octets after the last record`, pos);
  return { prereqs, updates };
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}
