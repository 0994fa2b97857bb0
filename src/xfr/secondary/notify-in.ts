/**
 * A DNS worker's part of the secondary role (docs/TRANSFERS.md "Secondary role"): NOTIFY in
 * (RFC 1996) for secondary zones, and SERVFAIL for expired ones.
 *
 * A NOTIFY (opcode 4) whose question names a secondary zone is answered here: NOERROR with AA
 * and the question echoed (RFC 1996 §4.7) only when it comes from one of the zone's masters'
 * addresses and, when the zone has a transfer key, is signed with it (TSIG checked; the answer
 * signed); from another address REFUSED; a wrong signature NOTAUTH (BADSIG/BADKEY, §5.3.2 of
 * RFC 8945). An accepted NOTIFY is relayed to the primary process (`onNotify`), at most once per
 * second per zone from this worker (the refresher rate-limits again); one that comes sooner is
 * relayed when that second is up (once, however many came), never dropped — a primary's two
 * versions in a row must not leave the second one unfetched. NOTIFY for other zones is
 * left to the Responder (NOTIMP), as before.
 *
 * Queries for a zone that has expired (no successful refresh within its SOA expire) are
 * answered SERVFAIL, as BIND and Knot do. The cost on the query path is one opcode read and,
 * only while some zone is expired, one name walk against the short expired list.
 * @module
 */
import type { QueryHandler } from '../../transport/handler.js';
import { Flag, Opcode, Rcode, RRType } from '../../wire/constants.js';
import { decodeMessage, readName } from '../../wire/decode.js';
import { MessageWriter } from '../../wire/encode.js';
import type { Message } from '../../wire/message.js';
import { Name } from '../../wire/name.js';
import { readSoa } from '../../wire/rdata.js';
import {
  findTsig,
  makeTsigKey,
  signTsigError,
  type TsigKey,
  TsigSigner,
  verifyTsigRequest,
} from '../tsig.js';
import { addExpire, wantsExpire } from './expire.js';

/** One secondary zone as the primary sends it to the workers (secret base64). */
export interface SecondaryZoneWire {
  zone: string;
  /** The masters' addresses (ports do not matter for a NOTIFY's source). */
  masters: string[];
  key: { name: string; algorithm: string; secret: string } | null;
}

/** Primary → workers: every secondary zone, and the expired ones. */
export interface SecondaryZonesMessage {
  type: 'switchboard:secondary-zones';
  zones: SecondaryZoneWire[];
  expired: string[];
  /**
   * `switchboard edge`: the one primary every zone comes from (its `zone` unused): a NOTIFY for
   * any zone not in `zones` is checked against it (the edge's follower ignores zones it does not
   * follow), so 100,000 zones need not be listed.
   */
  anyZone?: SecondaryZoneWire;
  /**
   * `switchboard edge`: when it last heard from its primary (ms since the epoch): SOA queries
   * asking for EDNS EXPIRE (RFC 7314) are answered with the seconds left (expire.ts).
   */
  contactAt?: number;
}

/** Worker → primary: an accepted NOTIFY. */
export interface NotifyInMessage {
  type: 'switchboard:notify-in';
  zone: string;
  address: string;
  serial?: number;
}

export function isSecondaryZonesMessage(msg: unknown): msg is SecondaryZonesMessage {
  return (
    typeof msg === 'object' &&
    msg !== null &&
    (msg as { type?: unknown }).type === 'switchboard:secondary-zones'
  );
}

export function isNotifyInMessage(msg: unknown): msg is NotifyInMessage {
  return (
    typeof msg === 'object' &&
    msg !== null &&
    (msg as { type?: unknown }).type === 'switchboard:notify-in' &&
    typeof (msg as { zone?: unknown }).zone === 'string' &&
    typeof (msg as { address?: unknown }).address === 'string'
  );
}

interface ZoneEntry {
  name: string;
  masters: Set<string>;
  key: TsigKey | undefined;
  /** The key could not be made: every NOTIFY is refused. */
  broken: boolean;
}

/** Least time between two relays of one zone's NOTIFY from one worker. */
const RELAY_INTERVAL_MS = 1000;

function plainAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export class SecondaryInbound {
  #zones = new Map<string, ZoneEntry>();
  /** `anyZone`: the masters and key for every other zone (name filled in per NOTIFY). */
  #any: ZoneEntry | undefined;
  #contactAt: number | undefined;
  /** Expired zones' origin keys. */
  #expired: Name[] = [];
  /** Their folded wire keys: a query's name is checked by its suffixes, not by decoding it. */
  #expiredKeys = new Set<string>();
  readonly #lastRelay = new Map<string, number>();
  /** Zones whose NOTIFY came within the interval: relayed when it is up (one timer per zone). */
  /** The NOTIFY to relay when the interval is up: the latest one (its serial hint the newest). */
  readonly #deferred = new Map<string, NotifyInMessage>();
  readonly #onNotify: (m: NotifyInMessage) => void;
  readonly #onRefused: ((text: string) => void) | undefined;
  #lastRefusedLog = 0;
  readonly stats = { notifyAccepted: 0, notifyRefused: 0, expiredAnswers: 0 };

  /** `onRefused`: a line saying why a NOTIFY was refused (at most one a second). */
  constructor(onNotify: (m: NotifyInMessage) => void, onRefused?: (text: string) => void) {
    this.#onNotify = onNotify;
    this.#onRefused = onRefused;
  }

  #refused(zone: string, address: string, why: string): void {
    this.stats.notifyRefused++;
    const now = Date.now();
    if (this.#onRefused && now - this.#lastRefusedLog >= 1000) {
      this.#lastRefusedLog = now;
      this.#onRefused(`NOTIFY for ${zone} from ${address} refused: ${why}`);
    }
  }

  apply(msg: SecondaryZonesMessage): void {
    const zones = new Map<string, ZoneEntry>();
    const entryOf = (z: SecondaryZoneWire, name: string): ZoneEntry => {
      let key: TsigKey | undefined;
      let broken = false;
      if (z.key)
        try {
          key = makeTsigKey(z.key.name, z.key.algorithm, z.key.secret);
        } catch {
          broken = true;
        }
      return { name, masters: new Set(z.masters.map(plainAddress)), key, broken };
    };
    for (const z of msg.zones) {
      let origin: Name;
      try {
        origin = Name.parse(z.zone);
      } catch {
        continue;
      }
      zones.set(origin.key, entryOf(z, origin.toString()));
    }
    this.#zones = zones;
    this.#any = msg.anyZone ? entryOf(msg.anyZone, '') : undefined;
    this.#contactAt = msg.contactAt;
    const expired: Name[] = [];
    for (const e of msg.expired)
      try {
        expired.push(Name.parse(e));
      } catch {
        // A name the control plane stored; nothing to fail otherwise.
      }
    this.#expired = expired;
    this.#expiredKeys = new Set(expired.map((n) => n.key));
  }

  /** The expired zones' origin keys (kept out of the C answers). */
  expiredKeys(): Set<string> {
    return new Set(this.#expired.map((n) => n.key));
  }

  wrap(handler: QueryHandler): QueryHandler {
    return (query, ctx) => {
      if (query.length >= 12 && (query[2] & 0x80) === 0) {
        const opcode = (query[2] >> 3) & 0xf;
        if (opcode === Opcode.NOTIFY && (this.#zones.size > 0 || this.#any !== undefined)) {
          const r = this.#notify(query, ctx.address);
          if (r !== undefined) return r;
        } else if (opcode === Opcode.QUERY) {
          if (this.#expired.length > 0) {
            const r = this.#servfailIfExpired(query);
            if (r !== undefined) return r;
          }
          const contactAt = this.#contactAt;
          if (contactAt !== undefined && wantsExpire(query)) {
            const r = handler(query, ctx);
            return r === null ? r : addExpire(r, contactAt);
          }
        }
      }
      return handler(query, ctx);
    };
  }

  /**
   * SERVFAIL for a query inside an expired zone. Only the question name is read (bounds-checked
   * by readName) and its suffixes looked up in a Set: a query of any other zone pays a name
   * read and one lookup per label, never a full decode; the message is decoded only to answer.
   */
  #servfailIfExpired(query: Uint8Array): Uint8Array | undefined {
    let key: string;
    try {
      key = readName(query, 12).name.key;
    } catch {
      return undefined;
    }
    let inside = false;
    // Label boundaries of the folded wire key: each suffix is a candidate zone origin.
    for (let i = 0; i < key.length; i += key.charCodeAt(i) + 1)
      if (this.#expiredKeys.has(key.slice(i))) {
        inside = true;
        break;
      }
    if (!inside) return undefined;
    let msg: Message;
    try {
      msg = decodeMessage(query);
    } catch {
      return undefined;
    }
    if (msg.questions.length !== 1) return undefined;
    this.stats.expiredAnswers++;
    return this.#short(msg, Rcode.SERVFAIL, false);
  }

  #short(msg: Message, rcode: number, aa: boolean, opcode: number = Opcode.QUERY): Uint8Array {
    const w = new MessageWriter(512);
    w.header(msg.id, Flag.QR | (opcode << 11) | (aa ? Flag.AA : 0) | (msg.flags & Flag.RD) | rcode);
    if (msg.questions.length === 1) w.question(msg.questions[0]);
    return w.finish();
  }

  /** The answer to a NOTIFY for a secondary zone, or undefined when it names none. */
  #notify(query: Uint8Array, address: string): Uint8Array | undefined {
    const tsig = findTsig(query);
    if (tsig === 'malformed') return undefined;
    let msg: Message;
    try {
      msg = decodeMessage(tsig === undefined ? query : stripped(query, tsig.offset));
    } catch {
      return undefined;
    }
    const q = msg.questions[0];
    if (msg.questions.length !== 1 || q === undefined) return undefined;
    const zone =
      this.#zones.get(q.name.key) ?? (this.#any ? { ...this.#any, name: q.name.toString() } : undefined);
    if (!zone) return undefined;
    const refuse = (why: string): Uint8Array => {
      this.#refused(zone.name, address, why);
      return this.#short(msg, Rcode.REFUSED, false, Opcode.NOTIFY);
    };
    if (!zone.masters.has(plainAddress(address))) return refuse('not from one of its masters');
    if (zone.broken) return refuse('its TSIG key cannot be used');
    let signer: TsigSigner | undefined;
    if (zone.key) {
      if (tsig === undefined) return refuse('not signed with its transfer key');
      const key = zone.key;
      const verdict = verifyTsigRequest(query, tsig, (n) => (n.equals(key.name) ? key : undefined));
      if (!verdict.ok) {
        this.#refused(zone.name, address, `TSIG error ${verdict.error} (rcode ${verdict.rcode})`);
        const bytes = this.#short(msg, verdict.rcode, false, Opcode.NOTIFY);
        return verdict.rcode === Rcode.NOTAUTH ? signTsigError(bytes, verdict) : bytes;
      }
      signer = new TsigSigner(key, tsig.mac);
    }
    this.stats.notifyAccepted++;
    // RFC 1996 §3.7: the SOA in the answer section is a hint (its serial).
    let serial: number | undefined;
    const soa = msg.answers.find((r) => r.type === RRType.SOA && r.name.equals(q.name));
    if (soa)
      try {
        serial = readSoa(soa.rdata).serial;
      } catch {
        serial = undefined;
      }
    const now = Date.now();
    const relay: NotifyInMessage = {
      type: 'switchboard:notify-in',
      zone: zone.name,
      address: plainAddress(address),
      ...(serial !== undefined ? { serial } : {}),
    };
    const key = q.name.key;
    const since = now - (this.#lastRelay.get(key) ?? 0);
    if (since >= RELAY_INTERVAL_MS) {
      this.#lastRelay.set(key, now);
      this.#onNotify(relay);
    } else {
      // Within the interval: the latest is relayed once when it is up (one timer per known zone).
      if (!this.#deferred.has(key)) {
        const timer = setTimeout(() => {
          const latest = this.#deferred.get(key) ?? relay;
          this.#deferred.delete(key);
          this.#lastRelay.set(key, Date.now());
          this.#onNotify(latest);
        }, RELAY_INTERVAL_MS - since);
        timer.unref?.();
      }
      this.#deferred.set(key, relay);
    }
    const bytes = this.#short(msg, Rcode.NOERROR, true, Opcode.NOTIFY);
    return signer ? signer.sign(bytes) : bytes;
  }
}

/** The message without its TSIG RR (ARCOUNT − 1): a copy (over TCP `query` is a Buffer, whose slice is a view). */
function stripped(query: Uint8Array, offset: number): Uint8Array {
  const out = new Uint8Array(offset);
  out.set(query.subarray(0, offset));
  const ar = ((out[10] << 8) | out[11]) - 1;
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
  return out;
}
