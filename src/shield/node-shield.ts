/**
 * The shield on the Node `dgram` path (`--io node`): per datagram the same decisions, in the
 * same order, as the native path's batch loop (native/shield_glue.c) — source tier (cookie
 * checked here), the QNAME's zone and whether the name exists, the zone's attack state and
 * budget, the overload level → answer, drop, an empty TC=1 reply, FORMERR for a malformed
 * COOKIE, BADCOOKIE with a fresh cookie; after the answer, response-rate limiting; our server
 * cookie added to every reply to a query that carried a client cookie, when it fits.
 *
 * Differences from the native path, by construction: no kernel prefilter (Node cannot attach
 * a BPF program to a dgram socket; a direct flood is shed here, after the read); the overload
 * meter is fed per *streak* of reads instead of per wake-up of the batch loop: libuv reads at
 * most 32 datagrams a socket per turn of the event loop, so a turn that read 32 left the queue
 * non-empty; a streak ends at a turn that read fewer (the queue was emptied), and a streak of
 * the native allowance (16 × 64 datagrams) or more counts as a full read, as a native wake-up
 * that used its whole allowance does (a burst the worker empties is not overload).
 *
 * Used as a wrapper around the worker's query handler (UDP only): `handle` returns the bytes
 * to send or null, as a handler does.
 * @module
 */

import { RRType } from '../wire/constants.js';
import { QueryView } from '../wire/query-view.js';
import { Admission, type AdmissionInput, Admit, type OverloadConfig, OverloadMeter } from './admission.js';
import {
  CookieSecrets,
  CookieStatus,
  checkCookie,
  cookieClock,
  cookieStillFresh,
  writeCookie,
} from './cookies.js';
import { addressOctets, type PrefixSet } from './prefix-set.js';
import { ResponseKind, ResponseRateLimiter, RrlAction, type RrlConfig } from './rrl.js';
import { SourceTable, type SourceTableConfig, UNREST_PRESSED_MS } from './sources.js';
import type { ShieldStats } from './stats.js';
import { type ZoneAttackConfig, ZoneAttackDetector, type ZoneFloors } from './zone-attack.js';

/** What the Node shield is configured with (as the native shield: transport/native-shield.ts). */
export interface NodeShieldSettings {
  mode: 'on' | 'dry-run';
  /** 16-octet secrets: the first makes cookies, the others are accepted (at most 3). */
  secrets: Uint8Array[];
  allow: PrefixSet;
  rrl: RrlConfig | null;
  zones?: ZoneAttackConfig;
  sources?: SourceTableConfig;
  overload?: OverloadConfig;
  /** Zones with settings of their own, by zone key. */
  zoneSettings?: ReadonlyMap<number, ZoneFloors & { rrlRates?: readonly number[]; metrics?: boolean }>;
  /** Our EDNS UDP size (the largest reply we send over UDP). Default 1232. */
  ednsSize?: number;
}

/** What a datagram's zone is, found by the caller (the served catalog). */
export interface ZoneSignal {
  /** The QNAME is in one of our zones. */
  inZone: boolean;
  /** It exists there (or is at or below a delegation, a DNAME, or matched by a wildcard). */
  exists: boolean;
  /** The zone's key (nativeZoneKey of its origin); 0 when not in a zone. */
  zoneKey: number;
}

/** Classifies the query `view` parsed. */
export type ZoneClassifier = (view: QueryView) => ZoneSignal;

/** libuv reads at most this many datagrams per socket and wake-up (uv__udp_recvmsg). */
const UV_READS_PER_WAKEUP = 32;
/** The native batch loop's allowance per wake-up (16 batches of 64): a streak this long is full. */
const NATIVE_ALLOWANCE = 16 * 64;
const HEADER = 12;
const COOKIE_OPTION = 10;
/** Octets an answer grows by when our cookie is added: option code, length, 24 octets. */
const COOKIE_GROWTH = 28;

const NO_ZONE: ZoneSignal = { inZone: false, exists: true, zoneKey: 0 };

/** The shield of one Node worker's UDP sockets. */
export class NodeShield {
  readonly view = new QueryView();
  readonly #dry: boolean;
  #secrets: CookieSecrets | undefined;
  readonly #allow: PrefixSet;
  readonly #sources: SourceTable;
  readonly #zones: ZoneAttackDetector;
  readonly #admission = new Admission();
  readonly #overload: OverloadMeter;
  /** Since when the overload level has been >= 1 in a row (hist23), as datagrams saw it. */
  #pressedSince: number | undefined;
  #rrl: ResponseRateLimiter | undefined;
  #zoneSettings: NodeShieldSettings['zoneSettings'];
  readonly #rrlWhenZoned: ConstructorParameters<typeof ResponseRateLimiter>[0];
  readonly #ednsSize: number;
  readonly #events: [number, number][] = [];
  #lostEvents = 0;
  #turn = 0;
  #streak = 0;
  #turnScheduled = false;
  readonly #c = {
    seen: 0,
    answered: 0,
    dropped: 0,
    truncated: 0,
    allowed: 0,
    wouldDrop: 0,
    wouldTruncate: 0,
    rrlDropped: 0,
    rrlSlipped: 0,
    formerr: 0,
    badcookie: 0,
    wouldBadcookie: 0,
    tcpRefused: 0,
    wouldRefuseTcp: 0,
  };
  readonly #cookies = [0, 0, 0, 0, 0];
  /** Admission's input, reused per datagram. */
  readonly #input: AdmissionInput = {
    tier: 0,
    inZone: false,
    exists: true,
    zoneAttacked: false,
    withinZoneBudget: true,
    overload: 0,
    usedTcp: false,
    nowMs: 0,
  };
  /** The IPv4 source of the datagram being decided (reused: nothing keeps it). */
  readonly #v4 = new Uint8Array(4);

  constructor(s: NodeShieldSettings) {
    this.#dry = s.mode === 'dry-run';
    this.setSecrets(s.secrets);
    this.#allow = s.allow;
    this.#sources = new SourceTable(s.sources);
    const floors = new Map<number, ZoneFloors>();
    for (const [k, v] of s.zoneSettings ?? []) floors.set(k, v);
    this.#zones = new ZoneAttackDetector({ ...s.zones, zones: floors });
    this.#zones.onChange((e) => {
      if (this.#events.length < 64) this.#events.push([e.zone, e.attacked ? 1 : 0]);
      else this.#lostEvents++;
    });
    this.#overload = new OverloadMeter(s.overload);
    const zoneRrl = [...(s.zoneSettings?.values() ?? [])].some((z) => z.rrlRates !== undefined);
    const rrl = s.rrl ?? (zoneRrl ? { responsesPerSecond: 0 } : null);
    this.#rrl = rrl ? new ResponseRateLimiter({ ...rrl, dryRun: this.#dry }) : undefined;
    this.#rrlWhenZoned = { responsesPerSecond: 0, dryRun: this.#dry };
    this.#zoneSettings = s.zoneSettings;
    this.#ednsSize = s.ednsSize ?? 1232;
  }

  /**
   * New per-zone settings (pushed to a running worker), the tables kept: floors of zones
   * tracked now change at once, rates from the next answer; a zone rate starts the limiter
   * (its own rates 0) when the server had none — as the native shield's shieldSetZones.
   */
  setZoneSettings(zoneSettings: NonNullable<NodeShieldSettings['zoneSettings']>): void {
    const floors = new Map<number, ZoneFloors>();
    for (const [k, v] of zoneSettings) floors.set(k, v);
    this.#zones.setZones(floors);
    if (this.#rrl === undefined && [...zoneSettings.values()].some((z) => z.rrlRates !== undefined))
      this.#rrl = new ResponseRateLimiter(this.#rrlWhenZoned);
    this.#zoneSettings = zoneSettings;
  }

  /** New cookie secrets (RFC 9018 rollover), the tables kept. */
  setSecrets(secrets: readonly Uint8Array[]): void {
    if (secrets.length > 3) throw new RangeError('at most 3 cookie secrets');
    this.#secrets = secrets.length > 0 ? new CookieSecrets(secrets[0], secrets.slice(1)) : undefined;
  }

  /** A query answered over TCP from `address`: the `tcp` tier when it follows a TC=1 of ours. */
  noteTcp(address: Uint8Array, nowMs: number): boolean {
    return this.#sources.noteTcp(this.#sources.key(address), nowMs);
  }

  /**
   * A TCP connection just accepted from `address`: false when it is a stranger under pressure —
   * the worker behind (overload level >= 1), the address not on the allow-list and nothing
   * vouching for it (SourceTable.vouched) — as the native shield's sb_shield_tcp_admit. In dry
   * run never false (counted).
   */
  tcpAdmit(address: Uint8Array, nowMs: number): boolean {
    if (this.#overload.level < 1 || (this.#allow.size > 0 && this.#allow.has(address))) return true;
    if (this.#sources.vouched(this.#sources.key(address), nowMs)) return true;
    if (this.#dry) {
      this.#c.wouldRefuseTcp++;
      return true;
    }
    this.#c.tcpRefused++;
    return false;
  }

  /**
   * Decides on one UDP datagram from `address` (text, as dgram gives it): returns the reply to
   * send (the answer from `answer`, possibly with our cookie; an empty TC=1, FORMERR or
   * BADCOOKIE reply) or null (dropped).
   */
  handle(
    query: Uint8Array,
    address: string,
    nowMs: number,
    classify: ZoneClassifier,
    answer: () => Uint8Array | null,
  ): Uint8Array | null {
    this.#countTurn();
    const c = this.#c;
    c.seen++;
    let addr: Uint8Array | undefined = ipv4Octets(address, this.#v4);
    if (addr === undefined) {
      try {
        addr = addressOctets(address);
      } catch {
        c.answered++;
        return answer();
      }
    }
    const view = this.view;
    const parsed = view.parse(query);
    const allowed = this.#allow.size > 0 && this.#allow.has(addr);
    const signal = parsed ? classify(view) : NO_ZONE;
    const classified = parsed && signal.inZone;
    const exists = signal.exists;
    const wall = cookieClock();
    let cookie: CookieStatus = CookieStatus.none;
    const cookieAt = parsed ? view.cookieAt : -1;
    if (this.#secrets !== undefined)
      cookie = checkCookie(query, cookieAt, view.cookieLength, addr, wall, this.#secrets);
    this.#cookies[cookie]++;
    const key = this.#sources.key(addr);
    if (cookie === CookieStatus.valid) this.#sources.noteCookie(key, nowMs);
    const tier = this.#sources.tier(key, cookie === CookieStatus.valid, nowMs);
    let attacked = false;
    let within = true;
    if (classified) {
      const slot = this.#zones.observe(signal.zoneKey, exists, nowMs);
      attacked = this.#zones.isAttacked(slot);
      if (attacked && !exists) within = this.#zones.admitMissing(slot, nowMs);
    }
    // hist23: behind for UNREST_PRESSED_MS in a row is an attack in progress (the native shield
    // also counts a /24 blocked and the bridge, which this path has not): no history earned for
    // the source table's calmAfterSeconds after it.
    if (this.#overload.level >= 1) {
      if (this.#pressedSince === undefined) this.#pressedSince = nowMs;
      else if (nowMs - this.#pressedSince >= UNREST_PRESSED_MS) this.#sources.noteUnrest(nowMs);
    } else this.#pressedSince = undefined;
    if (this.#overload.level === 0 && !attacked && parsed) this.#sources.noteCalmQuery(key, exists, nowMs);
    // Our cookie goes into every reply to a client cookie (none otherwise: no work).
    const cookied = cookieAt >= 0 && this.#secrets !== undefined;
    if (allowed) {
      c.allowed++;
      c.answered++;
      const r = answer();
      return cookied && r !== null ? this.#withCookie(query, cookieAt, cookie, addr, wall, r) : r;
    }
    if (cookie === CookieStatus.malformed && !this.#dry) {
      c.formerr++;
      return this.#shortReply(query, false, 1);
    }
    if (
      (cookie === CookieStatus.clientOnly || cookie === CookieStatus.invalid) &&
      parsed &&
      view.edns &&
      (this.#overload.level >= 1 || (attacked && !exists))
    ) {
      if (this.#dry) c.wouldBadcookie++;
      else {
        c.badcookie++;
        const r = this.#shortReply(query, false, 23);
        return r !== null ? this.#withCookie(query, cookieAt, cookie, addr, wall, r) : null;
      }
    }
    const input = this.#input;
    input.tier = tier;
    input.inZone = classified;
    input.exists = exists;
    input.zoneAttacked = attacked;
    input.withinZoneBudget = within;
    input.overload = this.#overload.level;
    input.usedTcp =
      (input.overload >= 2 || (attacked && !exists)) &&
      this.#sources.usedTcp(key, cookie === CookieStatus.valid, nowMs);
    input.nowMs = nowMs;
    const verdict = this.#admission.decide(input);
    if (this.#dry) {
      if (verdict === Admit.drop) c.wouldDrop++;
      if (verdict === Admit.truncate) c.wouldTruncate++;
    } else if (verdict === Admit.drop) {
      c.dropped++;
      return null;
    } else if (verdict === Admit.truncate) {
      c.truncated++;
      this.#sources.noteTruncated(key, nowMs);
      const r = this.#shortReply(query, true, 0);
      return cookied && r !== null ? this.#withCookie(query, cookieAt, cookie, addr, wall, r) : r;
    }
    c.answered++;
    const ans = answer();
    if (ans === null) return null;
    // An answer too large for the client's UDP size: it will come back over TCP.
    if (ans.length >= HEADER && (ans[2] & 0x02) !== 0) this.#sources.noteTruncated(key, nowMs);
    if (this.#rrl !== undefined && ans.length >= HEADER) {
      const action = this.#rateLimit(ans, addr, signal, parsed, nowMs);
      if (action === RrlAction.drop) {
        c.rrlDropped++;
        return null;
      }
      if (action === RrlAction.slip) {
        c.rrlSlipped++;
        this.#sources.noteTruncated(key, nowMs);
        // As BIND 9.18 and Knot: the limited response truncated, its RCODE (NXDOMAIN stays
        // NXDOMAIN) and AA kept. Only NOERROR and NXDOMAIN slip (an error is dropped).
        const r = this.#shortReply(query, true, ans[3] & 0x0f, (ans[2] & 0x04) !== 0);
        return cookied && r !== null ? this.#withCookie(query, cookieAt, cookie, addr, wall, r) : r;
      }
    }
    return cookied ? this.#withCookie(query, cookieAt, cookie, addr, wall, ans) : ans;
  }

  /** Once a second: the attacked zones brought up to now (a flood's end noticed without queries). */
  tick(nowMs: number): void {
    this.#zones.sweep(nowMs);
  }

  /** The counters, attacked zones, events since the last call (drained), busiest zones. */
  stats(nowMs: number): ShieldStats {
    const c = this.#c;
    const events = this.#events.splice(0);
    const watched: [number, number, number][] = [];
    for (const [k, z] of this.#zoneSettings ?? []) {
      if (!z.metrics) continue;
      const r = this.#zones.ratesOf(k, nowMs);
      if (r) watched.push([k, r.queriesPerSecond, r.missingPerSecond]);
    }
    return {
      ...c,
      rrlDropped: c.rrlDropped,
      cookies: this.#cookies.slice(),
      overload: this.#overload.level,
      shedBudget: Array.from(this.#admission.shed['zone-budget']),
      shedOverload: Array.from(this.#admission.shed.overload),
      attacked: this.#zones.attackedZones(),
      events,
      lostEvents: this.#lostEvents,
      calmRefused: this.#sources.calmRefused,
      blocksMade: 0,
      wouldBlock: 0,
      blocked: 0,
      top: this.#zones.top(nowMs).map((r) => [r.zone, r.queriesPerSecond, r.missingPerSecond]),
      watched,
    };
  }

  /** Counts datagrams per turn of the event loop; the overload meter reads each streak. */
  #countTurn(): void {
    this.#turn++;
    if (this.#turnScheduled) return;
    this.#turnScheduled = true;
    setImmediate(() => {
      const turn = this.#turn;
      this.#turn = 0;
      this.#turnScheduled = false;
      this.#streak += turn;
      // The queue was emptied (a short turn), or a whole allowance was read without emptying it.
      if (turn < UV_READS_PER_WAKEUP || this.#streak >= NATIVE_ALLOWANCE) {
        this.#overload.read(this.#streak, NATIVE_ALLOWANCE, performance.now());
        this.#streak = 0;
      }
    });
  }

  /** RRL on the reply's header (the kinds and keys of shield_glue.c's sb_shield_after). */
  #rateLimit(
    ans: Uint8Array,
    addr: Uint8Array,
    signal: ZoneSignal,
    parsed: boolean,
    nowMs: number,
  ): RrlAction {
    const rrl = this.#rrl as ResponseRateLimiter;
    const rcode = ans[3] & 0x0f;
    const an = (ans[6] << 8) | ans[7];
    const aa = (ans[2] & 0x04) !== 0;
    const qname = parsed ? nameHash(this.view) : 0;
    let kind: ResponseKind;
    let h: number;
    if (rcode === 3) {
      kind = ResponseKind.nxdomain;
      h = (signal.inZone && signal.zoneKey ? signal.zoneKey : authorityOwnerHash(ans)) || qname;
    } else if (rcode === 0 && an > 0) {
      kind = ResponseKind.answer;
      h = mix(qname, parsed ? this.view.qtype : 0);
    } else if (rcode === 0 && !aa) {
      kind = ResponseKind.referral;
      h = (signal.zoneKey ? mix(signal.zoneKey, 0x5eed) : authorityOwnerHash(ans)) || qname;
    } else if (rcode === 0) {
      kind = ResponseKind.nodata;
      h = qname;
    } else {
      kind = ResponseKind.error;
      h = 0;
    }
    const rates =
      signal.inZone && signal.zoneKey ? this.#zoneSettings?.get(signal.zoneKey)?.rrlRates : undefined;
    return rrl.decide(rrl.blockHash(addr), kind, h, nowMs, rates);
  }

  /**
   * An empty reply to `query` (its question, our OPT with the query's DO bit when it had one):
   * TC=1 or an RCODE (extended when > 15: in the OPT), AA when `aa`. Null when the question
   * cannot be read back.
   */
  #shortReply(query: Uint8Array, tc: boolean, rcode: number, aa = false): Uint8Array | null {
    const view = this.view;
    if (!view.parse(query)) {
      // Only FORMERR answers what the pre-parse refuses: a header, nothing else.
      if (rcode !== 1 || query.length < HEADER || (query[2] & 0x80) !== 0) return null;
      const out = new Uint8Array(HEADER);
      out.set(query.subarray(0, 4));
      out[2] = 0x80 | (query[2] & 0x79);
      out[3] = (query[3] & 0x10) | 1;
      return out;
    }
    const qend = view.questionEnd;
    const opt = view.edns;
    if (rcode > 15 && !opt) return null;
    const out = new Uint8Array(qend + (opt ? 11 : 0));
    out.set(query.subarray(0, qend));
    out[2] = 0x80 | (query[2] & 0x79) | (aa ? 0x04 : 0) | (tc ? 0x02 : 0);
    out[3] = (query[3] & 0x10) | (rcode & 0x0f);
    out[4] = 0;
    out[5] = 1;
    out.fill(0, 6, 12);
    if (opt) {
      // RFC 3225 §3: the query's DO bit copied.
      const dnssecOk = (view.ednsFlags & 0x8000) !== 0 ? 0x80 : 0;
      out.set([0, 0, 41, this.#ednsSize >> 8, this.#ednsSize & 0xff, rcode >> 4, 0, dnssecOk, 0, 0, 0], qend);
      out[11] = 1;
    }
    return out;
  }

  /**
   * `reply` with our server cookie in its OPT (the query's own when valid and under half an
   * hour old, else a new one), when the query carried a client cookie, the reply ends with its
   * OPT and the cookie fits the client's UDP size; else `reply` as it is.
   */
  #withCookie(
    query: Uint8Array,
    cookieAt: number,
    cookie: CookieStatus,
    addr: Uint8Array,
    wall: number,
    reply: Uint8Array,
  ): Uint8Array {
    const secrets = this.#secrets;
    if (secrets === undefined || cookieAt < 0) return reply;
    if (
      cookie !== CookieStatus.clientOnly &&
      cookie !== CookieStatus.invalid &&
      cookie !== CookieStatus.valid
    )
      return reply;
    const limit = Math.min(Math.max(512, this.view.edns ? this.view.udpSize : 512), this.#ednsSize);
    if (reply.length + COOKIE_GROWTH > limit) return reply;
    const opt = findOpt(reply);
    if (opt < 0) return reply;
    const rdlen = (reply[opt + 9] << 8) | reply[opt + 10];
    if (rdlen + COOKIE_GROWTH > 0xffff) return reply;
    const out = new Uint8Array(reply.length + COOKIE_GROWTH);
    out.set(reply);
    const w = reply.length;
    out.set([0, COOKIE_OPTION, 0, 24], w);
    if (cookie === CookieStatus.valid && cookieStillFresh(query, cookieAt, wall))
      out.set(query.subarray(cookieAt, cookieAt + 24), w + 4);
    else writeCookie(out, w + 4, query, cookieAt, addr, wall, secrets.current);
    const n = rdlen + COOKIE_GROWTH;
    out[opt + 9] = n >> 8;
    out[opt + 10] = n & 0xff;
    return out;
  }
}

/**
 * The octets of a dotted-quad IPv4 address (as dgram gives it, or IPv4-mapped `::ffff:a.b.c.d`)
 * written into `out`; undefined for anything else (the caller parses it fully).
 */
export function ipv4Octets(text: string, out: Uint8Array): Uint8Array | undefined {
  let i = text.length > 7 && text.charCodeAt(0) === 0x3a ? text.lastIndexOf(':') + 1 : 0;
  if (i > 0 && text.slice(0, i).toLowerCase() !== '::ffff:') return undefined;
  for (let part = 0; part < 4; part++) {
    let v = 0;
    let digits = 0;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      digits++;
    }
    if (digits === 0 || digits > 3 || v > 255) return undefined;
    out[part] = v;
    if (part < 3) {
      if (text.charCodeAt(i) !== 0x2e) return undefined;
      i++;
    }
  }
  return i === text.length ? out : undefined;
}

/** FNV-1a of the folded QNAME. */
function nameHash(view: QueryView): number {
  let h = 0x811c9dc5;
  const f = view.folded;
  for (let i = 0; i < view.qnameLength; i++) h = Math.imul(h ^ f[i], 0x01000193);
  return h >>> 0;
}

function mix(h: number, v: number): number {
  return Math.imul(h ^ v, 0x9e3779b1) >>> 0;
}

/** The end of the name at m[p], or -1 when it runs past the message. */
function skipName(m: Uint8Array, p: number): number {
  while (p < m.length) {
    const l = m[p];
    if (l === 0) return p + 1;
    if ((l & 0xc0) === 0xc0) return p + 2 <= m.length ? p + 2 : -1;
    if (l & 0xc0) return -1;
    p += 1 + l;
  }
  return -1;
}

/** The offset just past the resource record at `p`, or -1 when it cannot be read. */
function skipRecord(m: Uint8Array, p: number): number {
  p = skipName(m, p);
  if (p < 0 || p + 10 > m.length) return -1;
  const rdlen = (m[p + 8] << 8) | m[p + 9];
  p += 10;
  return rdlen > m.length - p ? -1 : p + rdlen;
}

/** The offset just past the message's question section (at least HEADER long), or -1. */
function skipQuestions(m: Uint8Array): number {
  const qd = (m[4] << 8) | m[5];
  let p = HEADER;
  for (let i = 0; i < qd; i++) {
    p = skipName(m, p);
    if (p < 0 || p + 4 > m.length) return -1;
    p += 4;
  }
  return p;
}

/**
 * FNV-1a of the owner of the reply's first authority record (uncompressed wire form, folded to
 * lower case: the native zone key when it is a zone's origin), or 0 when there is none or it
 * cannot be read — what BIND keys NXDOMAIN (the SOA owner: the zone) and referrals (the NS
 * owner: the delegation point) by. shield_glue.c's authority_owner_hash.
 */
export function authorityOwnerHash(m: Uint8Array): number {
  if (m.length < HEADER || (m[8] === 0 && m[9] === 0)) return 0;
  const an = (m[6] << 8) | m[7];
  let p = skipQuestions(m);
  if (p < 0) return 0;
  for (let i = 0; i < an && p >= 0; i++) p = skipRecord(m, p);
  if (p < 0) return 0;
  let h = 0x811c9dc5;
  let wire = 0;
  for (let jumps = 0; p < m.length; ) {
    const l = m[p];
    if ((l & 0xc0) === 0xc0) {
      if (p + 1 >= m.length || ++jumps > 64) return 0;
      p = ((l & 0x3f) << 8) | m[p + 1];
      continue;
    }
    wire += l + 1;
    if ((l & 0xc0) !== 0 || l > m.length - p - 1 || wire > 255) return 0;
    h = Math.imul(h ^ l, 0x01000193);
    if (l === 0) return h >>> 0;
    for (let i = p + 1; i <= p + l; i++) {
      const c = m[i];
      h = Math.imul(h ^ (c >= 0x41 && c <= 0x5a ? c | 0x20 : c), 0x01000193);
    }
    p += 1 + l;
  }
  return 0;
}

/** The offset of the reply's OPT when it is its last record and ends it; else -1. */
export function findOpt(m: Uint8Array): number {
  if (m.length < HEADER || (m[10] === 0 && m[11] === 0)) return -1;
  const records = ((m[6] << 8) | m[7]) + ((m[8] << 8) | m[9]) + ((m[10] << 8) | m[11]);
  let p = skipQuestions(m);
  if (p < 0) return -1;
  let last = -1;
  for (let i = 0; i < records && p >= 0; i++) {
    last = p;
    p = skipRecord(m, p);
  }
  if (p !== m.length || last < 0 || last + 11 > m.length) return -1;
  if (m[last] !== 0 || m[last + 1] !== 0 || m[last + 2] !== RRType.OPT) return -1;
  return last;
}
