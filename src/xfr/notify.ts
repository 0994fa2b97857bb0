/**
 * NOTIFY out (RFC 1996): tells a zone's targets that it has a new serial, over UDP, signed
 * with the zone's TSIG key when it names one, retried until the target answers.
 *
 * - One pending NOTIFY per zone and target: a newer serial replaces the one not yet answered.
 * - A target has answered when a response comes from its address and port with our ID,
 *   QR set and opcode NOTIFY: NOERROR ends it (`acked`); any other RCODE ends it too
 *   (`failed`: the target said no, asking again changes nothing). No answer within the
 *   timeout: sent again, up to `attempts` times in all, each wait twice the one before.
 * - Every target is checked against the operator's outbound policy at send time (it was at
 *   write time too; the policy may have changed since).
 * - Rate limits, in NOTIFY messages per second (retries included): one token bucket for the
 *   platform and one per account; a message waits for its tokens, and an account with more than
 *   `maxPendingPerAccount` messages waiting has the new ones dropped (counted) — a tenant
 *   cannot make the platform flood anyone, nor starve the other tenants' NOTIFYs.
 * @module
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { Flag, Opcode, RRClass, RRType } from '../wire/constants.js';
import { MessageWriter, Section } from '../wire/encode.js';
import type { Name } from '../wire/name.js';
import type { OutboundPolicy, OutboundTarget } from './outbound.js';
import { signTsigRequest, type TsigKey } from './tsig.js';

export interface NotifyOptions {
  policy: OutboundPolicy;
  /** Sends per NOTIFY at most (default 5). */
  attempts?: number;
  /** First wait for an answer (ms, default 1000; doubled after each send). */
  timeoutMs?: number;
  /** NOTIFY messages per second: the platform's (default 200) and each account's (default 20). */
  platformRate?: number;
  accountRate?: number;
  /** Messages an account may have waiting for tokens (default 1000). */
  maxPendingPerAccount?: number;
  /** Told of each NOTIFY that ended (logs). */
  onDone?: (e: NotifyDone) => void;
}

export interface NotifyJob {
  zone: Name;
  serial: number;
  /** The zone's account (rate limits). */
  account: string;
  targets: OutboundTarget[];
  key?: TsigKey;
  /**
   * Carry the serial in the answer section (RFC 1996 §3.7: a hint the secondary may use), as a
   * SOA whose names are the root and timers 0 — only its serial is meant (`start` to its edges,
   * which go straight to IXFR when it is newer than theirs: docs/EDGE.md).
   */
  serialHint?: boolean;
}

export interface NotifyDone {
  zone: string;
  target: string;
  serial: number;
  outcome: 'acked' | 'failed' | 'refused-target';
  /** Why it failed: no answer, an RCODE, the policy. */
  reason?: string;
  attempts: number;
}

/** Counters (metrics). */
export interface NotifyStats {
  sent: number;
  acked: number;
  failed: number;
  dropped: number;
}

interface Pending {
  key: string;
  job: NotifyJob;
  target: OutboundTarget;
  id: number;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  waitMs: number;
}

/** A token bucket: `rate` per second, up to `rate` at once. */
class Bucket {
  #tokens: number;
  #at = performance.now();
  constructor(readonly rate: number) {
    this.#tokens = rate;
  }
  /** Ms until a token is there (0: now). */
  wait(): number {
    const now = performance.now();
    this.#tokens = Math.min(this.rate, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    this.#at = now;
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.rate) * 1000);
  }
  take(): void {
    this.#tokens -= 1;
  }
}

export class NotifySender {
  readonly #policy: OutboundPolicy;
  readonly #attempts: number;
  readonly #timeoutMs: number;
  readonly #platform: Bucket;
  readonly #accountRate: number;
  readonly #accounts = new Map<string, { bucket: Bucket; queue: Pending[]; timer?: NodeJS.Timeout }>();
  readonly #maxPending: number;
  readonly #onDone: ((e: NotifyDone) => void) | undefined;
  /** By zone|address|port. */
  readonly #pending = new Map<string, Pending>();
  /** By address|port|id: what an answer is matched to. */
  readonly #byId = new Map<string, Pending>();
  #v4: dgram.Socket | undefined;
  #v6: dgram.Socket | undefined;
  #closed = false;
  readonly stats: NotifyStats = { sent: 0, acked: 0, failed: 0, dropped: 0 };

  constructor(opts: NotifyOptions) {
    this.#policy = opts.policy;
    this.#attempts = opts.attempts ?? 5;
    this.#timeoutMs = opts.timeoutMs ?? 1000;
    this.#platform = new Bucket(opts.platformRate ?? 200);
    this.#accountRate = opts.accountRate ?? 20;
    this.#maxPending = opts.maxPendingPerAccount ?? 1000;
    this.#onDone = opts.onDone;
  }

  /** NOTIFYs not answered yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Queues a NOTIFY of `job.zone` at `job.serial` to each of its targets. */
  notify(job: NotifyJob): void {
    if (this.#closed) return;
    for (const target of job.targets) {
      const key = `${job.zone.key}|${target.address}|${target.port}`;
      const old = this.#pending.get(key);
      if (old !== undefined) this.#forget(old);
      const p: Pending = { key, job, target, id: 0, attempts: 0, timer: undefined, waitMs: this.#timeoutMs };
      this.#pending.set(key, p);
      this.#enqueue(p);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    for (const a of this.#accounts.values()) clearTimeout(a.timer);
    this.#pending.clear();
    this.#byId.clear();
    this.#accounts.clear();
    this.#v4?.close();
    this.#v6?.close();
  }

  #enqueue(p: Pending): void {
    let a = this.#accounts.get(p.job.account);
    if (a === undefined) {
      a = { bucket: new Bucket(this.#accountRate), queue: [] };
      this.#accounts.set(p.job.account, a);
    }
    if (a.queue.length >= this.#maxPending) {
      this.stats.dropped++;
      this.#end(p, 'failed', 'rate limited: too many NOTIFYs waiting for this account');
      return;
    }
    a.queue.push(p);
    this.#pump(p.job.account);
  }

  /** Sends what the account's and the platform's buckets allow, then waits for more tokens. */
  #pump(account: string): void {
    const a = this.#accounts.get(account);
    if (a === undefined || a.timer !== undefined) return;
    while (a.queue.length > 0) {
      const wait = Math.max(a.bucket.wait(), this.#platform.wait());
      if (wait > 0) {
        a.timer = setTimeout(() => {
          a.timer = undefined;
          this.#pump(account);
        }, wait);
        a.timer.unref();
        return;
      }
      const p = a.queue.shift() as Pending;
      if (this.#pending.get(p.key) !== p) continue; // replaced meanwhile
      a.bucket.take();
      this.#platform.take();
      this.#send(p);
    }
    // The account's bucket stays (its rate must not start afresh): one per account.
  }

  #send(p: Pending): void {
    if (this.#closed) return;
    const why = this.#policy.refusal(p.target.address);
    if (why !== undefined) {
      this.#end(p, 'refused-target', why);
      return;
    }
    if (p.id !== 0) this.#byId.delete(`${p.target.address}|${p.target.port}|${p.id}`);
    p.id = randomInt(1, 0x10000);
    this.#byId.set(`${p.target.address}|${p.target.port}|${p.id}`, p);
    p.attempts++;
    let msg = notifyMessage(p.id, p.job.zone, p.job.serialHint ? p.job.serial : undefined);
    if (p.job.key) msg = signTsigRequest(msg, p.job.key);
    const socket = this.#socket(isIP(p.target.address) === 6);
    this.stats.sent++;
    socket.send(msg, p.target.port, p.target.address, () => {
      // A send error (unreachable) is an unanswered attempt: the timer retries.
    });
    clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      p.timer = undefined;
      if (this.#pending.get(p.key) !== p) return;
      if (p.attempts >= this.#attempts) {
        this.#end(p, 'failed', `no answer after ${p.attempts} attempts`);
        return;
      }
      p.waitMs *= 2;
      this.#enqueue(p);
    }, p.waitMs);
    p.timer.unref();
  }

  #socket(v6: boolean): dgram.Socket {
    const have = v6 ? this.#v6 : this.#v4;
    if (have) return have;
    const s = dgram.createSocket(v6 ? 'udp6' : 'udp4');
    s.on('message', (m, rinfo) => this.#answer(m, rinfo.address, rinfo.port));
    s.on('error', () => {
      // Unanswered attempts are retried by their timers.
    });
    s.unref();
    if (v6) this.#v6 = s;
    else this.#v4 = s;
    return s;
  }

  #answer(m: Buffer, address: string, port: number): void {
    if (m.length < 12) return;
    const id = (m[0] << 8) | m[1];
    const p = this.#byId.get(`${address}|${port}|${id}`);
    if (p === undefined) return;
    const qr = (m[2] & 0x80) !== 0;
    const opcode = (m[2] >> 3) & 0xf;
    if (!qr || opcode !== Opcode.NOTIFY) return;
    const rcode = m[3] & 0xf;
    if (rcode === 0) this.#end(p, 'acked');
    else this.#end(p, 'failed', `answered RCODE ${rcode}`);
  }

  #end(p: Pending, outcome: NotifyDone['outcome'], reason?: string): void {
    this.#forget(p);
    if (outcome === 'acked') this.stats.acked++;
    else this.stats.failed++;
    this.#onDone?.({
      zone: p.job.zone.toString(),
      target: `${p.target.address}:${p.target.port}`,
      serial: p.job.serial,
      outcome,
      reason,
      attempts: p.attempts,
    });
  }

  #forget(p: Pending): void {
    clearTimeout(p.timer);
    p.timer = undefined;
    if (this.#pending.get(p.key) === p) this.#pending.delete(p.key);
    if (p.id !== 0) this.#byId.delete(`${p.target.address}|${p.target.port}|${p.id}`);
  }
}

/** A NOTIFY request (RFC 1996 §3.7): opcode NOTIFY, AA, the zone's SOA as the question. */
export function notifyMessage(id: number, zone: Name, serial?: number): Uint8Array {
  const w = new MessageWriter(512);
  w.header(id, (Opcode.NOTIFY << 11) | Flag.AA);
  w.question({ name: zone, type: RRType.SOA, class: RRClass.IN });
  if (serial !== undefined) {
    // MNAME and RNAME the root, the timers 0: the serial is the hint.
    const rdata = new Uint8Array(2 + 20);
    new DataView(rdata.buffer).setUint32(2, serial >>> 0);
    w.rr(Section.Answer, { name: zone, type: RRType.SOA, class: RRClass.IN, ttl: 0, rdata });
  }
  return w.finish();
}
