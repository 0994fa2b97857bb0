/**
 * The legitimate resolvers: each one a UDP socket bound to its own loopback address, asking
 * for names of the drill's zones (Zipf popularity over zones and names, a few typos, some AAAA
 * and large TXT), with a resolver's behaviour: about 800 ms timeout, then up to 3 retries, TCP
 * on TC=1 (modern classes), cookies (modern classes), and — for the storm class — a rate
 * multiplied 10-20x while answers are slow. A query succeeds when the right answer arrives
 * within 4 tries / 3.2 s; a failure's latency is its give-up time.
 * @module
 */
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { readResponse, TYPE_A, TYPE_AAAA, TYPE_TXT, wireName, writeQuery } from './packet.js';
import type { ResolverClass, ResolverSpec } from './population.js';
import { seeded, Zipf } from './random.js';
import { type DrillTarget, numberToIpv4 } from './target.js';
import { hostAddress, hostName, type ZoneSetShape, zoneOrigin } from './zones.js';

/** RFC 7873 §8: the extended RCODE of a server that wants its cookie first. */
const BADCOOKIE = 23;

/** Timeout of one try. */
export const TRY_TIMEOUT_MS = 800;
/** Tries per query (the first and 3 retries). */
export const MAX_TRIES = 4;
/** Give-up time (4 x 800 ms). */
export const GIVE_UP_MS = TRY_TIMEOUT_MS * MAX_TRIES;

/** What a query asked. */
export type QueryKind = 'name' | 'typo' | 'aaaa' | 'big';

/** The longest a resolver keeps an answer (BIND's max-cache-ttl is a week; a day is common). */
export const MAX_CACHE_TTL_S = 86_400;

/**
 * Why a failed query failed, as its resolver saw it: no answer to any try; only wrong answers
 * (wrong RCODE or records, SERVFAIL, REFUSED, FORMERR); only truncated answers (TC=1) and no
 * TCP answer (or the class does not use TCP). An answer after the give-up time is none.
 */
export type FailureCause = 'noAnswer' | 'wrongAnswer' | 'truncated';

/** Per-phase counters of the resolvers (every try, every answer; not per query). */
export interface ResolverCounters {
  /** Lookups answered from the resolver's cache (never sent). */
  cacheHits: number;
  /** UDP datagrams sent (first tries, retries, BADCOOKIE retries). */
  udpTries: number;
  /** UDP answers received that match a try (any RCODE, TC or not). */
  udpAnswers: number;
  /** TCP tries (after TC=1) and TCP answers received. */
  tcpTries: number;
  tcpAnswers: number;
  /** Answers that were wrong (counted as none) and truncated answers (TC=1). */
  wrongAnswers: number;
  truncatedAnswers: number;
  /** Of truncatedAnswers, those to the large TXT (too large for a 1232-octet EDNS answer: TC=1
   * by size); the rest the server chose (its shield's TC=1, RRL's slip). */
  truncatedLarge: number;
  /**
   * What became of each TCP try's connection: established (and how long the handshake took:
   * < 10, < 100, < 400, >= 400 ms), never established before the try was given up (a SYN or
   * the handshake's end lost: a listener's full accept queue, its socket filter), refused or
   * reset before it was established, closed or reset by the server after it was established
   * without an answer, and established but unanswered when the try was given up.
   */
  tcpConnected: number;
  tcpConnectMs: [number, number, number, number];
  tcpNoConnect: number;
  tcpRefused: number;
  tcpClosedUnanswered: number;
  tcpUnanswered: number;
  badcookieAnswers: number;
  /** Answers that arrived for a query already finished (after its give-up, or a duplicate). */
  lateAnswers: number;
  /** The drill's own clock: timer callbacks that ran late, and the worst lateness (ms). */
  ticks: number;
  ticksLate50ms: number;
  maxTickLagMs: number;
  /** Try timeouts handled more than 50 ms after they were due (the drill, not the server, was slow). */
  timeoutsLate50ms: number;
  /** Wrong answers by RCODE name. */
  wrongRcodes: Record<string, number>;
}

export function emptyCounters(): ResolverCounters {
  return {
    cacheHits: 0,
    udpTries: 0,
    udpAnswers: 0,
    tcpTries: 0,
    tcpAnswers: 0,
    wrongAnswers: 0,
    truncatedAnswers: 0,
    truncatedLarge: 0,
    tcpConnected: 0,
    tcpConnectMs: [0, 0, 0, 0],
    tcpNoConnect: 0,
    tcpRefused: 0,
    tcpClosedUnanswered: 0,
    tcpUnanswered: 0,
    badcookieAnswers: 0,
    lateAnswers: 0,
    ticks: 0,
    ticksLate50ms: 0,
    maxTickLagMs: 0,
    timeoutsLate50ms: 0,
    wrongRcodes: {},
  };
}

/** A query kind's part of its cache key. */
const KIND_CODE: Record<QueryKind, number> = { name: 0, typo: 1, aaaa: 2, big: 3 };

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** One finished legitimate query. */
export interface QueryRecord {
  readonly phase: number;
  readonly cls: ResolverClass;
  readonly zone: number;
  readonly kind: QueryKind;
  readonly ok: boolean;
  readonly tries: number;
  readonly tcp: boolean;
  /** Milliseconds from the first send to the right answer, or GIVE_UP_MS. */
  readonly latencyMs: number;
  /** Whole seconds since the run started, when the query was first sent. */
  readonly startSecond: number;
  /** Milliseconds since the run started, when the query was first sent. */
  readonly startMs: number;
  /** Why it failed (failed queries only). */
  readonly cause?: FailureCause;
}

interface Expect {
  readonly rcode: number;
  /** The A record that must be in the answer (name kind). */
  readonly a?: number;
  /** The answer must hold at least one record (big kind). */
  readonly nonEmpty?: boolean;
}

interface Query {
  /** Its number among the run's queries (the timeouts name it by this, not by reference). */
  readonly handle: number;
  readonly r: Resolver;
  readonly zone: number;
  readonly kind: QueryKind;
  readonly name: Uint8Array;
  readonly qtype: number;
  readonly expect: Expect;
  readonly phase: number;
  readonly started: number;
  id: number;
  /** Every ID it was sent with (an answer to an earlier try still counts). */
  readonly ids: number[];
  tries: number;
  tcp: boolean;
  done: boolean;
  /** Its cache key (see ask). */
  readonly key: number;
  /** Answers it got that did not count: wrong, truncated. */
  wrong: number;
  truncated: number;
}

interface Resolver {
  readonly spec: ResolverSpec;
  socket?: Socket;
  readonly pending: Map<number, Query>;
  /** Fractional queries owed. */
  acc: number;
  nextId: number;
  /** Client cookie (8 octets) or the full cookie last returned by the server. */
  cookie?: Uint8Array;
  /** Last time one of its tries timed out (storm trigger). */
  lastSlow: number;
  /** Its cache: the key of a question (see ask) -> when the entry expires (performance.now(), whole
   * ms rounded up: small integers, so neither key nor value is a heap object that outlives a scavenge). */
  readonly cache: Map<number, number>;
}

/** Settings of the resolvers. */
export interface ResolverOptions {
  readonly target: DrillTarget;
  readonly shape: ZoneSetShape;
  readonly seed: number;
  /** Queries per second of one resolver (before a storm multiplies it). */
  readonly perResolverRate: number;
  /** Share of queries for names that do not exist (typos). */
  readonly typoShare: number;
  /** Called once per finished query. */
  readonly record: (q: QueryRecord) => void;
  /** Called per datagram or TCP query sent. */
  readonly onSend?: () => void;
  /**
   * Cache answers for their TTL and negative answers for the SOA's (RFC 2308), as resolvers do
   * (default true): a resolver then asks the server for a name once per TTL.
   */
  readonly cache?: boolean;
  /** SO_RCVBUF asked for each resolver socket (default 4 MiB; the kernel caps it at rmem_max). */
  readonly recvBufferSize?: number;
}

/** The legitimate resolvers of one run. */
export class Resolvers {
  private readonly resolvers: Resolver[];
  private readonly rand: () => number;
  private readonly zoneZipf: Zipf;
  private readonly nameZipf: Zipf;
  private readonly names = new Map<string, Uint8Array>();
  /** The tries' timeouts, in the order they were set. */
  private readonly timeouts = new TimeoutRing();
  /** The queries not finished, by handle: a finished one is let go at once (the timeouts hold only
   * its handle), so most die young instead of living on to be promoted and collected later. */
  private readonly live = new Map<number, Query>();
  private nextHandle = 0;
  private timer?: NodeJS.Timeout;
  private lastTick = 0;
  private t0 = 0;
  private active = new Set<ResolverClass>();
  private phase = 0;
  /** The wave now (or the last one), for the `lone` class's groups; -1 before any. */
  private wave = -1;
  private inFlight = 0;
  /** Counters per phase (index = phase). */
  readonly counters: ResolverCounters[] = [emptyCounters()];
  /** The worst lateness of the drill's own 10 ms tick (ms) per whole second since `t0`: a
   * second's late answers with a late tick beside them are (partly) the drill's own wait. */
  readonly tickLagBySecond: number[] = [];
  /** The drill process's own garbage collections: the longest pause (ms) per whole second since `t0`. */
  readonly gcMsBySecond: number[] = [];
  private gcObserver?: PerformanceObserver;
  /** Datagrams and TCP queries sent. */
  sent = 0;

  constructor(
    specs: readonly ResolverSpec[],
    private readonly opts: ResolverOptions,
  ) {
    this.rand = seeded(opts.seed);
    this.zoneZipf = new Zipf(opts.shape.zones, 0.8);
    this.nameZipf = new Zipf(opts.shape.names, 1.0);
    this.resolvers = specs.map((spec) => ({
      spec,
      pending: new Map(),
      acc: this.rand(),
      nextId: Math.floor(this.rand() * 65536),
      lastSlow: -1e9,
      cache: new Map(),
      cookie: spec.modern ? Uint8Array.from({ length: 8 }, () => Math.floor(this.rand() * 256)) : undefined,
    }));
  }

  /** Binds every resolver's socket (127.x addresses; ::1 for an IPv6 target). */
  async open(): Promise<void> {
    const v6 = this.opts.target.family === 6;
    await Promise.all(
      this.resolvers.map(
        (r) =>
          new Promise<void>((resolve, reject) => {
            const s = createSocket({
              type: v6 ? 'udp6' : 'udp4',
              recvBufferSize: this.opts.recvBufferSize ?? 4 << 20,
            });
            s.once('error', reject);
            s.on('message', (m) => this.onMessage(r, m));
            s.bind(0, v6 ? '::1' : numberToIpv4(r.spec.address), () => {
              s.removeListener('error', reject);
              s.on('error', () => {});
              r.socket = s;
              resolve();
            });
          }),
      ),
    );
  }

  /** "address:port" of every resolver socket, as /proc/net/udp shows them (sockets.ts). */
  socketKeys(): Set<string> {
    const out = new Set<string>();
    for (const r of this.resolvers) {
      if (!r.socket) continue;
      const a = r.socket.address();
      out.add(`${a.family === 'IPv6' ? '0:0:0:0:0:0:0:1' : a.address}:${a.port}`);
    }
    return out;
  }

  /** Starts sending (time zero of the run is `t0`, from performance.now()). */
  start(t0: number): void {
    this.t0 = t0;
    this.lastTick = performance.now();
    this.gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const sec = Math.floor((e.startTime - this.t0) / 1000);
        if (sec >= 0 && e.duration > (this.gcMsBySecond[sec] ?? 0))
          this.gcMsBySecond[sec] = Math.round(e.duration * 10) / 10;
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
    // The timeouts are handled after the poll phase (setImmediate), so that answers already
    // waiting in the sockets when the loop wakes up late are read before their tries expire.
    this.timer = setInterval(() => {
      this.tick();
      setImmediate(() => this.expire(performance.now()));
    }, 10);
  }

  /**
   * The classes that send from now on, and the phase new queries belong to; `wave`: the wave
   * this phase is or follows (scenario.ts waveOfPhases), whose group of the `lone` class sends.
   */
  setPhase(phase: number, active: Iterable<ResolverClass>, wave = -1): void {
    this.phase = phase;
    this.wave = wave;
    while (this.counters.length <= phase) this.counters.push(emptyCounters());
    this.active = new Set(active);
  }

  /** The counters of the phase queries are started in now. */
  private get now(): ResolverCounters {
    return this.counters[this.phase];
  }

  /** Stops starting queries; the ones in flight finish (answer or give-up). */
  quiesce(): void {
    this.active = new Set();
  }

  /** Queries started and not finished. */
  get pending(): number {
    return this.inFlight;
  }

  /** Closes every socket; unfinished queries are dropped. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.gcObserver?.disconnect();
    for (const r of this.resolvers) r.socket?.close();
  }

  private tick(): void {
    const now = performance.now();
    const lag = now - this.lastTick - 10;
    const c = this.now;
    c.ticks++;
    if (lag > 50) c.ticksLate50ms++;
    if (lag > c.maxTickLagMs) c.maxTickLagMs = Math.round(lag);
    const sec = Math.floor((now - this.t0) / 1000);
    if (sec >= 0 && lag > (this.tickLagBySecond[sec] ?? 0)) this.tickLagBySecond[sec] = Math.round(lag);
    const dt = Math.min(0.1, (now - this.lastTick) / 1000);
    this.lastTick = now;
    if (this.active.size === 0) return;
    const base = this.opts.perResolverRate * dt;
    for (const r of this.resolvers) {
      if (!this.active.has(r.spec.cls) || !r.socket) continue;
      if (r.spec.wave !== undefined && r.spec.wave !== this.wave) continue;
      const storming = r.spec.stormFactor > 1 && now - r.lastSlow < 5000;
      r.acc += base * (storming ? r.spec.stormFactor : 1);
      while (r.acc >= 1) {
        r.acc -= 1;
        this.ask(r, now);
      }
    }
  }

  private nameWire(text: string): Uint8Array {
    let w = this.names.get(text);
    if (!w) {
      w = wireName(text);
      if (this.names.size < 200_000) this.names.set(text, w);
    }
    return w;
  }

  private ask(r: Resolver, now: number): void {
    const zone = this.zoneZipf.sample(this.rand);
    const i = this.nameZipf.sample(this.rand);
    const u = this.rand();
    let kind: QueryKind = 'name';
    if (u < this.opts.typoShare) kind = 'typo';
    else if (u < this.opts.typoShare + 0.05) kind = 'aaaa';
    else if (u < this.opts.typoShare + 0.08 && r.spec.modern) kind = 'big';
    // One number per question asked ("qtype/name" as it was): the name's zone and index (none for the
    // zone's big TXT), and what was asked of it.
    const key = (zone * this.opts.shape.names + (kind === 'big' ? 0 : i)) * 4 + KIND_CODE[kind];
    if (this.opts.cache !== false) {
      const until = r.cache.get(key);
      if (until !== undefined && until > now) {
        this.now.cacheHits++;
        return;
      }
      if (until !== undefined) r.cache.delete(key);
    }
    let text: string;
    let qtype = TYPE_A;
    let expect: Expect;
    if (kind === 'typo') {
      text = `${hostName(zone, i).replace(/^n/, 'nn')}`;
      expect = { rcode: 3 };
    } else if (kind === 'big') {
      text = `big.${zoneOrigin(zone)}`;
      qtype = TYPE_TXT;
      expect = { rcode: 0, nonEmpty: true };
    } else {
      text = hostName(zone, i);
      if (kind === 'aaaa') {
        qtype = TYPE_AAAA;
        expect = { rcode: 0 };
      } else {
        const [a, b, c, d] = hostAddress(zone, i);
        expect = { rcode: 0, a: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0 };
      }
    }
    const q: Query = {
      handle: this.nextHandle++,
      r,
      zone,
      kind,
      name: this.nameWire(text),
      qtype,
      expect,
      phase: this.phase,
      started: now,
      id: 0,
      ids: [],
      tries: 0,
      tcp: false,
      done: false,
      wrong: 0,
      truncated: 0,
      key,
    };
    this.inFlight++;
    this.live.set(q.handle, q);
    this.sendUdp(q, now);
  }

  private buildQuery(q: Query, udp: boolean): Uint8Array {
    const buf = new Uint8Array(12 + q.name.length + 4 + 11 + 4 + 40);
    const edns = q.r.spec.modern
      ? { size: 1232, cookie: q.r.cookie }
      : udp && q.kind === 'big'
        ? { size: 1232 }
        : undefined;
    const len = writeQuery(buf, 0, q.id, q.name, q.qtype, edns);
    return buf.subarray(0, len);
  }

  private sendUdp(q: Query, now: number): void {
    const r = q.r;
    // A fresh ID per try, as resolvers do; an answer to an older try is still accepted.
    r.nextId = (r.nextId + 1) & 0xffff;
    q.id = r.nextId;
    q.ids.push(q.id);
    q.tries++;
    r.pending.set(q.id, q);
    const bytes = this.buildQuery(q, true);
    this.count();
    this.counters[q.phase].udpTries++;
    r.socket?.send(bytes, this.opts.target.port, this.opts.target.host);
    this.timeouts.push(q.handle, q.tries, now + TRY_TIMEOUT_MS);
  }

  private sendTcp(q: Query, now: number): void {
    const r = q.r;
    q.tries++;
    q.tcp = true;
    const tries = q.tries;
    this.timeouts.push(q.handle, tries, now + TRY_TIMEOUT_MS);
    const query = this.buildQuery(q, false);
    const frame = new Uint8Array(2 + query.length);
    frame[0] = query.length >> 8;
    frame[1] = query.length & 255;
    frame.set(query, 2);
    this.count();
    this.counters[q.phase].tcpTries++;
    const v6 = this.opts.target.family === 6;
    const sock = connect({
      host: this.opts.target.host,
      port: this.opts.target.port,
      localAddress: v6 ? '::1' : numberToIpv4(r.spec.address),
    });
    let got = Buffer.alloc(0);
    const c = this.counters[q.phase];
    const opened = performance.now();
    let connected = false;
    let answered = false;
    let timedOut = false;
    let failed = false;
    const finish = () => sock.destroy();
    sock.setTimeout(TRY_TIMEOUT_MS, () => {
      timedOut = true;
      finish();
    });
    sock.on('error', () => {
      failed = true;
      finish();
    });
    sock.on('connect', () => {
      connected = true;
      c.tcpConnected++;
      const ms = performance.now() - opened;
      c.tcpConnectMs[ms < 10 ? 0 : ms < 100 ? 1 : ms < 400 ? 2 : 3]++;
      sock.write(frame);
    });
    sock.once('close', () => {
      if (answered) return;
      if (!connected) {
        if (failed && !timedOut) c.tcpRefused++;
        else c.tcpNoConnect++;
      } else if (timedOut) c.tcpUnanswered++;
      else c.tcpClosedUnanswered++;
    });
    sock.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 2) return;
      const len = got.readUInt16BE(0);
      if (got.length < 2 + len) return;
      answered = true;
      finish();
      c.tcpAnswers++;
      if (q.done || q.tries !== tries) {
        c.lateAnswers++;
        return;
      }
      this.onAnswer(q, got.subarray(2, 2 + len), performance.now());
    });
  }

  private count(): void {
    this.sent++;
    this.opts.onSend?.();
  }

  private onMessage(r: Resolver, m: Buffer): void {
    if (m.length < 12) return;
    const q = r.pending.get((m[0] << 8) | m[1]);
    if (!q || q.done) {
      // An answer to a try of a query already given up (its IDs are forgotten then) or answered.
      this.now.lateAnswers++;
      return;
    }
    this.counters[q.phase].udpAnswers++;
    this.onAnswer(q, m, performance.now());
  }

  private onAnswer(q: Query, m: Uint8Array, now: number): void {
    // Past the give-up time (its last timeout is due but its timer ran late): a failure, as a
    // resolver that gave up on time would have counted it.
    if (now - q.started > GIVE_UP_MS) {
      this.counters[q.phase].lateAnswers++;
      this.finish(q, false, GIVE_UP_MS);
      return;
    }
    const info = readResponse(m, q.name, q.qtype);
    const c = this.counters[q.phase];
    if (!info) {
      c.wrongAnswers++;
      c.wrongRcodes.malformed = (c.wrongRcodes.malformed ?? 0) + 1;
      q.wrong++;
      return;
    }
    if (info.cookie && q.r.spec.modern && info.cookie.length >= 16) q.r.cookie = info.cookie;
    // BADCOOKIE (RFC 7873 §5.3): a resolver that speaks cookies retries at once with the
    // server cookie it was just given, as BIND and Unbound do — no timeout in between.
    if (info.rcode === BADCOOKIE) c.badcookieAnswers++;
    if (info.rcode === BADCOOKIE && q.r.spec.modern && !q.tcp && q.tries < MAX_TRIES && info.cookie) {
      this.sendUdp(q, now);
      return;
    }
    if (info.tc) {
      c.truncatedAnswers++;
      if (q.kind === 'big') c.truncatedLarge++;
      q.truncated++;
      if (q.r.spec.modern && !q.tcp && q.tries < MAX_TRIES) this.sendTcp(q, now);
      return; // the plain class waits for its timeout and retries over UDP
    }
    const e = q.expect;
    const right =
      info.rcode === e.rcode &&
      (e.a === undefined || info.a.includes(e.a)) &&
      (!e.nonEmpty || info.ancount > 0) &&
      (e.a !== undefined || e.nonEmpty || e.rcode !== 0 || info.ancount === 0);
    if (right) {
      if (this.opts.cache !== false) {
        // RFC 2308 §5: a negative answer (NXDOMAIN, NODATA) for the SOA's min(TTL, MINIMUM).
        const negative = e.rcode === 3 || (e.a === undefined && !e.nonEmpty);
        const ttl = negative ? info.negativeTtl : info.ttl;
        if (ttl !== undefined && ttl > 0)
          q.r.cache.set(q.key, Math.ceil(now + Math.min(ttl, MAX_CACHE_TTL_S) * 1000));
      }
      this.finish(q, true, now - q.started);
      return;
    }
    // A wrong answer (SERVFAIL, REFUSED, …) is treated as no answer: the timer retries.
    c.wrongAnswers++;
    q.wrong++;
    const name = RCODE_NAMES[info.rcode] ?? `RCODE${info.rcode}`;
    const label = info.rcode === e.rcode ? `${name} (wrong records)` : name;
    c.wrongRcodes[label] = (c.wrongRcodes[label] ?? 0) + 1;
  }

  private finish(q: Query, ok: boolean, latency: number): void {
    if (q.done) return;
    q.done = true;
    this.inFlight--;
    this.live.delete(q.handle);
    for (const id of q.ids) if (q.r.pending.get(id) === q) q.r.pending.delete(id);
    this.opts.record({
      phase: q.phase,
      cls: q.r.spec.cls,
      zone: q.zone,
      kind: q.kind,
      ok,
      tries: q.tries,
      tcp: q.tcp,
      latencyMs: ok ? latency : GIVE_UP_MS,
      startSecond: Math.floor((q.started - this.t0) / 1000),
      startMs: Math.round(q.started - this.t0),
      cause: ok ? undefined : q.wrong > 0 ? 'wrongAnswer' : q.truncated > 0 ? 'truncated' : 'noAnswer',
    });
  }

  private expire(now: number): void {
    const t = this.timeouts;
    while (t.size > 0 && t.headAt <= now) {
      const at = t.headAt;
      const tries = t.headTries;
      const q = this.live.get(t.shift());
      if (q === undefined || q.done || q.tries !== tries) continue;
      if (now - at > 50) this.counters[q.phase].timeoutsLate50ms++;
      q.r.lastSlow = now;
      if (q.tries >= MAX_TRIES || now - q.started >= GIVE_UP_MS) this.finish(q, false, GIVE_UP_MS);
      else this.sendUdp(q, now);
    }
  }
}

/** A first-in first-out ring of (query handle, try, when due) in typed arrays, grown by doubling. */
class TimeoutRing {
  #handle = new Int32Array(1 << 12);
  #tries = new Uint8Array(1 << 12);
  #at = new Float64Array(1 << 12);
  #head = 0;
  size = 0;

  push(handle: number, tries: number, at: number): void {
    if (this.size === this.#at.length) this.#grow();
    const i = (this.#head + this.size) & (this.#at.length - 1);
    this.#handle[i] = handle;
    this.#tries[i] = tries;
    this.#at[i] = at;
    this.size++;
  }

  /** When the oldest is due, and its try (size > 0). */
  get headAt(): number {
    return this.#at[this.#head];
  }
  get headTries(): number {
    return this.#tries[this.#head];
  }

  /** Takes the oldest off; its query's handle. */
  shift(): number {
    const h = this.#handle[this.#head];
    this.#head = (this.#head + 1) & (this.#at.length - 1);
    this.size--;
    return h;
  }

  #grow(): void {
    const n = this.#at.length;
    const handle = new Int32Array(n * 2);
    const tries = new Uint8Array(n * 2);
    const at = new Float64Array(n * 2);
    for (let k = 0; k < this.size; k++) {
      const i = (this.#head + k) & (n - 1);
      handle[k] = this.#handle[i];
      tries[k] = this.#tries[i];
      at[k] = this.#at[i];
    }
    this.#handle = handle;
    this.#tries = tries;
    this.#at = at;
    this.#head = 0;
  }
}
