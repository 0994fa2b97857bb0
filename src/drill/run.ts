/**
 * One drill run: the target's capacity (measured, unless given), then the scenario's phases
 * with the legitimate resolvers in this process and the attack from the sender processes,
 * reported per phase, per zone and per resolver class. It stops by itself at --max-seconds or
 * --max-packets, whichever comes first.
 * @module
 */
import { FloodPool, type FloodTotals } from './flood.js';
import { type AttackKind, type AttackMix, KINDS, TCP_COUNTERS } from './flood-protocol.js';
import { type MetricSample, metricDeltas, scrapeMetrics } from './metrics.js';
import { COUNTS_PER_KIND } from './native.js';
import { checkRotate24s, makeResolvers, RESOLVER_CLASSES, type ResolverClass } from './population.js';
import { cpuBusySeconds, cpuSet, cpusAllowed, isAlive, processTree, treeCpuSeconds } from './proc.js';
import { TargetSampler } from './proc-sampler.js';
import { QueryLog } from './query-log.js';
import {
  emptyCounters,
  type FailureCause,
  type QueryRecord,
  type ResolverCounters,
  Resolvers,
  TRY_TIMEOUT_MS,
} from './resolvers.js';
import { type Scenario, waveOfPhases } from './scenario.js';
import { type SettleReport, settleTarget } from './settle.js';
import {
  AcceptQueueSampler,
  type AcceptQueueStats,
  type KernelLosses,
  kernelLosses,
  type SocketOwners,
  sampleListenQueueOff,
  sampleSockets,
} from './sockets.js';
import { type LegitStats, percent, StatsBuilder } from './stats.js';
import { DrillConfigError, type DrillTarget, type HardStops } from './target.js';
import { ThreadTrace } from './thread-trace.js';
import type { ZoneSetShape } from './zones.js';

/** Everything a run needs. */
export interface DrillOptions {
  readonly target: DrillTarget;
  readonly stops: HardStops;
  /** A scenario, or undefined to only measure the capacity. */
  readonly scenario?: Scenario;
  readonly seed: number;
  readonly shape: ZoneSetShape;
  /** The attacked zone. */
  readonly victim: number;
  readonly resolvers: number;
  /**
   * The `lone` class (own22): resolvers that first appear when a wave starts, each in a /24 of
   * its own, on top of `resolvers` — this many per wave (a fresh group each wave, sending until
   * the next wave starts), at most LONE_MAX in all (defaultLonePerWave: what the CLI and
   * bench/drill.ts use). Default 0: none.
   */
  readonly lonePerWave?: number;
  readonly bots: number;
  /**
   * maps25: the bots' UDP datagrams rotate their sources over this many /24s, taken in turn
   * (population.ts rotatingAddress; 127.4.0.0/24 on, at most ROTATE_MAX). IPv4 targets and the
   * native sender only. Default 0: the `bots` addresses.
   */
  readonly rotate24s?: number;
  /** Queries per second per resolver. */
  readonly perResolverRate: number;
  readonly typoShare: number;
  readonly senders: number;
  readonly io: 'auto' | 'native' | 'node';
  /** Random-subdomain queries per UDP GSO message from one source (native path; 1 = off). Default 16. */
  readonly gso?: number;
  /** The target's capacity (queries per second): skips the measurement when given. */
  readonly capacity?: number;
  /**
   * Before the first phase, at most this many ms of settle (settle.ts): a few warm-up queries of
   * every zone from an address outside the population, then a wait until the target's tree is
   * quiet — the baseline then measures the calm service, not the target's start-up. 0 or absent:
   * the first phase starts at once (as before base20).
   */
  readonly settleMs?: number;
  /** First rate the capacity search tries. */
  readonly capacityStart?: number;
  readonly targetPid?: number;
  /** Per-thread CPU of the target's tree every 100 ms into `file` during the scenario (thread-trace.ts);
   * `cgroupDir`: the CPU quota's cgroup, whose throttling counters go with each sample. */
  readonly threadTrace?: { readonly file: string; readonly cgroupDir?: string };
  /** One-line progress on stderr. */
  readonly progress?: boolean;
  /** Description of the target for the report (e.g. 'switchboard --io native'). */
  readonly label?: string;
  /** The target's Prometheus page (loopback http), read at each phase boundary. */
  readonly targetMetrics?: URL;
  /** Resolvers cache answers for their TTL (default true; false: every lookup is sent). */
  readonly cache?: boolean;
  /** Nice value of the sender processes (default 10); see prioritizeResolvers(). */
  readonly senderNice?: number;
  /** Nice value of this process (for the report). */
  readonly drillNice?: number;
}

/**
 * Where the legitimate queries of a phase went (docs/DRILL.md "Where the lost queries went").
 * The resolvers' figures are of the queries started in the phase; the kernel's and the
 * target's are of the phase's wall-clock interval.
 */
export interface LossReport {
  /** Every try and answer of the legitimate resolvers. */
  readonly resolvers: ResolverCounters;
  /** Failed queries by what their resolver saw. */
  readonly failedBy: Record<FailureCause, number>;
  /** Of failedBy.truncated, queries for the large TXT (TC=1 by size: only TCP can answer them);
   * the rest were truncated by the server's choice (shield, RRL slip) or asked by `plain`. */
  readonly failedTruncatedLarge: number;
  /** UDP tries that got no answer at all (tries - answers). */
  readonly unansweredTries: number;
  /** The kernel's counters (the target's sockets, the drill's, the host's). */
  readonly kernel: KernelLosses;
  /** Legitimate share of the UDP datagrams sent to the target in the phase. */
  readonly legitShare: number;
  /**
   * Legitimate tries that the target's full receive queue most likely dropped: the queue is
   * FIFO, so a legitimate datagram is dropped with the same odds as any other
   * (legitShare x the target's queue overflows).
   */
  readonly legitInTargetQueue: number;
  /**
   * The same odds applied to the target's socket filter (the shield's BPF prefilter): a loose
   * upper bound, since the filter aims at the bots' /24s (only the `nat` class shares them).
   */
  readonly legitInTargetFilter: number;
  /** Legitimate answers lost in the drill's own resolver sockets (exact). */
  readonly legitInDrillQueue: number;
  /**
   * Unanswered tries the queue figures do not explain (unanswered - legitInTargetQueue -
   * legitInDrillQueue): refused by the target's socket filter, or dropped by the target after
   * reading them (the shield, RRL, overload shedding: see targetCounters). Rough: the queue
   * figure is an estimate.
   */
  readonly legitAfterRead: number;
  /** What the target's counters say it dropped, shed or slipped (with --target-metrics). */
  readonly targetCounters?: MetricSample;
  /** The accept queue of the target's TCP listeners, read every ACCEPT_QUEUE_SAMPLE_MS (Linux):
   * full, a resolver's TCP handshake is refused; long, its connection waits there. */
  readonly acceptQueue?: AcceptQueueStats;
}

/** How often the drill reads the target's TCP accept queue (/proc/net/tcp). */
export const ACCEPT_QUEUE_SAMPLE_MS = 100;

/** One step of the capacity search. */
export interface CapacityStep {
  readonly offered: number;
  readonly sent: number;
  readonly answered: number;
  readonly ratio: number;
  /** The warm-up before the search (not counted: a cold target compiles, JITs and fills caches). */
  readonly warmup?: true;
}

export interface CapacityResult {
  /** Highest rate at which >= 99% were answered, queries per second. */
  readonly qps: number;
  readonly measured: boolean;
  /** The senders could not go faster: the capacity is at least qps. */
  readonly senderLimited: boolean;
  readonly steps: CapacityStep[];
}

export interface AttackStats {
  readonly rate: number;
  readonly sent: Record<AttackKind, number>;
  readonly answered: Record<AttackKind, number>;
  /** Answers per RCODE name (NOERROR, NXDOMAIN, REFUSED, …) and TC, all kinds. */
  readonly rcodes: Record<string, number>;
  /** Datagrams the senders fell behind their rate by. */
  readonly behind: number;
  /** TCP floods: connections tried, established, answered, failed, slow ones the server closed; slow ones open at the end. */
  readonly tcp: Record<(typeof TCP_COUNTERS)[number], number>;
}

export interface PhaseReport {
  readonly name: string;
  readonly seconds: number;
  readonly legit: {
    readonly all: LegitStats;
    readonly byClass: Record<string, LegitStats>;
    /** Each class's queries but the attacked zone's typos (NXDOMAIN-bound, shed by design while it
     * is attacked): the names the targets speak of (every zone not attacked, the attacked zone's
     * existing names) — a class's p99 against the target. Absent in reports before session 24. */
    readonly byClassNames?: Record<string, LegitStats>;
    /** The victim's existing names, its typos, and the other zones. */
    readonly byZoneGroup: Record<'victim' | 'victimTypos' | 'others', LegitStats>;
    readonly byZone: LegitStats[];
  };
  readonly attack: AttackStats;
  readonly target?: {
    readonly cpuCores: number;
    /** How busy the CPUs the target may run on were, every process counted (cores, /proc/stat):
     * well above cpuCores, other processes took CPU the target could have used. */
    readonly cpusBusyCores?: number;
    readonly rssPeakBytes: number;
    readonly pssPeakBytes: number;
    readonly alive: boolean;
  };
  /** The drill's own CPU (its process and the senders): near 1 core per CPU it has means it was the limit. */
  readonly drill: { readonly cpuCores: number };
  /** Where the lost legitimate queries went. */
  readonly losses?: LossReport;
  /** When the phase started: wall clock (ms since the epoch; to line up with a server's log). */
  readonly startedAtMs?: number;
  /** An attack phase's first seconds, per ONSET_SLICE_MS (see OnsetSlice). */
  readonly onset?: OnsetSlice[];
  /** A phase's legitimate queries over the p99 target (SLOW_MS), per second (see SlowSecond); every
   * phase's since base20, an attack phase's only before. */
  readonly slow?: SlowSecond[];
}

/** The p99 target: a query answered later than this counts toward a phase's `slow` seconds. */
export const SLOW_MS = 100;

/**
 * One second of a phase: the legitimate queries first sent in it, the attacked zone's
 * typos left out (shed by design), and of them those not answered within SLOW_MS, by where the
 * time went — `udpQueued`: answered on the first UDP try but after SLOW_MS (a queue: the
 * target's socket or its CPU); `udpRetried`: a first UDP try lost (answered at a retry, or
 * never); `tcp`: went over TCP after a TC=1. A p99 under SLOW_MS needs the three under 1% of
 * `queries` over the phase.
 */
export interface SlowSecond {
  readonly fromS: number;
  queries: number;
  udpQueued: number;
  udpRetried: number;
  tcp: number;
  /** Of `udpQueued`: the worst latency (ms). */
  udpQueuedMaxMs?: number;
  /** The drill's own clock in that second: its 10 ms tick's worst lateness (ms; resolvers.ts). */
  drillLagMs?: number;
  /** The drill process's longest garbage collection pause in that second (ms). */
  drillGcMs?: number;
}

/** The first ONSET_MS of an attack phase are reported per ONSET_SLICE_MS. */
export const ONSET_MS = 3000;
export const ONSET_SLICE_MS = 100;

/**
 * One slice of an attack phase's first seconds: the attack the senders sent in it (a second's
 * rate), and the legitimate queries first sent in it — how many, answered (retries included),
 * answered in time (before the first try's timeout: on the first UDP try, or over TCP right
 * after a TC=1) — in all and per resolver class ([queries, answered, in time]).
 */
export interface OnsetSlice {
  /** Milliseconds from the phase's start. */
  readonly fromMs: number;
  attackPerSecond: number;
  queries: number;
  answered: number;
  inTime: number;
  readonly byClass: Record<string, [number, number, number]>;
  /**
   * The queries not answered in time, by what they were: the attacked zone's typos (shed by
   * design while it is attacked), queries that went to TCP after a TC=1 (the large TXT always),
   * and the rest (UDP: a first try lost, answered at a retry or never). Absent in older reports.
   */
  late?: { typo: number; tcp: number; udp: number };
}

export interface TimelinePoint {
  readonly t: number;
  readonly phase: string;
  legitQueries: number;
  legitAnswered: number;
  readonly attackSent: number;
  readonly attackAnswered: number;
  readonly cpuCores?: number;
  readonly rssBytes?: number;
}

export interface DrillReport {
  readonly version: 1;
  readonly scenario: string;
  readonly label: string;
  readonly target: string;
  readonly startedAt: string;
  readonly seed: number;
  readonly io: {
    readonly legit: string;
    readonly attack: string;
    readonly attackSources: number;
    readonly senders: number;
    /** CPUs the drill may run on, and the target (with --target-pid); they should not overlap. */
    readonly drillCpus: string;
    readonly targetCpus?: string;
    /** Nice values: the resolvers' process, the senders. */
    readonly drillNice?: number;
    readonly senderNice?: number;
    /** Whether the resolvers cache answers (TTL, RFC 2308 negative caching). */
    readonly resolverCache: boolean;
  };
  readonly population: {
    readonly resolvers: Record<string, number>;
    readonly bots: number;
    /** maps25: /24s the bots' UDP flood rotated over (0: none). */
    readonly rotate24s?: number;
    readonly zones: number;
    readonly names: number;
    readonly victim: string;
  };
  readonly capacity?: CapacityResult;
  /** The settle before the first phase (with settleMs). */
  readonly settle?: SettleReport;
  readonly phases: PhaseReport[];
  readonly timeline: TimelinePoint[];
  readonly stoppedBy: string;
  readonly packets: { readonly legit: number; readonly attack: number };
  readonly seconds: number;
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs a drill; resolves with its report. */
export async function runDrill(opts: DrillOptions): Promise<DrillReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const deadlineMs = started + opts.stops.maxSeconds * 1000;
  const waveOf = opts.scenario ? waveOfPhases(opts.scenario) : [];
  const waves = waveOf.length > 0 ? Math.max(0, ...waveOf) + 1 : 0;
  const rotate24s = checkRotate24s(opts.rotate24s ?? 0);
  if (rotate24s > 0 && opts.target.family !== 4)
    throw new DrillConfigError('--rotate-24s: IPv4 targets only (the IPv6 flood sends from ::1 alone)');
  if (rotate24s > 0 && opts.io === 'node')
    throw new DrillConfigError(
      '--rotate-24s: needs the native sender (a source address per datagram), not --io node',
    );
  const specs = makeResolvers(opts.resolvers, opts.bots, opts.seed, undefined, {
    perWave: opts.lonePerWave ?? 0,
    waves,
  });
  const records = new QueryLog();
  const resolvers = new Resolvers(specs, {
    target: opts.target,
    shape: opts.shape,
    seed: opts.seed,
    perResolverRate: opts.perResolverRate,
    typoShare: opts.typoShare,
    record: (r) => records.push(r),
    cache: opts.cache,
  });
  await resolvers.open();
  let pool: FloodPool | undefined;
  let stoppedBy = 'end of scenario';
  let abort = false;
  const packetsSent = () => resolvers.sent + (pool?.totals().total ?? 0);
  const watchdog = setInterval(() => {
    if (abort) return;
    if (performance.now() >= deadlineMs) {
      abort = true;
      stoppedBy = `--max-seconds ${opts.stops.maxSeconds}`;
    } else if (packetsSent() >= opts.stops.maxPackets) {
      abort = true;
      stoppedBy = `--max-packets ${opts.stops.maxPackets}`;
    }
    if (abort) {
      pool?.setRate(0, {});
      resolvers.quiesce();
    }
  }, 50);
  const wait = async (ms: number) => {
    const end = performance.now() + ms;
    while (!abort && performance.now() < end) await sleep(Math.min(50, end - performance.now()));
  };
  const phases: PhaseReport[] = [];
  const timeline: TimelinePoint[] = [];
  const kernel: KernelLosses[] = [];
  const counterDeltas: (MetricSample | undefined)[] = [];
  const acceptQueues: (AcceptQueueStats | undefined)[] = [];
  let capacity: CapacityResult | undefined;
  let settle: SettleReport | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  let sampler: TargetSampler | undefined;
  let threadTrace: ThreadTrace | undefined;
  try {
    // The senders share the packet budget left after a generous allowance for the resolvers.
    const legitAllowance = Math.ceil(opts.perResolverRate * specs.length * 20 * opts.stops.maxSeconds);
    pool = await FloodPool.start({
      target: opts.target,
      senders: opts.senders,
      seed: opts.seed,
      zones: opts.shape.zones,
      names: opts.shape.names,
      victim: opts.victim,
      bots: opts.bots,
      // The random names sent through resolvers go through the resolvers of standing, not through
      // the `lone` class: its /24s carry only its own queries (a stranger, not a relay of the flood).
      resolverAddresses: specs.filter((s) => s.cls !== 'lone').map((s) => s.address),
      deadline: Date.now() + opts.stops.maxSeconds * 1000 + 1000,
      maxPackets: Math.max(
        opts.senders,
        opts.stops.maxPackets - Math.min(legitAllowance, opts.stops.maxPackets / 2),
      ),
      io: opts.io,
      gso: opts.gso ?? 16,
      senderNice: opts.senderNice,
      rotate24s,
    });
    const owners: SocketOwners = {
      targetPort: opts.target.port,
      resolvers: resolvers.socketKeys(),
      senderPorts: new Set(pool.ports),
    };
    let sockBefore = sampleSockets(owners);
    let metricsBefore = await scrapeMetrics(opts.targetMetrics);
    const p = pool;
    const needCapacity =
      opts.scenario === undefined || opts.scenario.phases.some((ph) => ph.attack?.multiple);
    if (opts.capacity !== undefined)
      capacity = { qps: opts.capacity, measured: false, senderLimited: false, steps: [] };
    else if (needCapacity) capacity = await measureCapacity(p, opts, wait, () => abort);
    if (opts.scenario && !abort && opts.settleMs)
      settle = await settleTarget(opts.target, opts.shape, opts.settleMs, opts.targetPid, () => abort);
    if (opts.scenario && !abort) {
      // CPU from /proc/PID/stat here (cheap); memory from the sampler thread (smaps_rollup is slow).
      const pid = opts.targetPid;
      sampler = pid ? new TargetSampler(pid, 1000) : undefined;
      await sampler?.next();
      if (pid && opts.threadTrace) {
        threadTrace = new ThreadTrace(
          pid,
          opts.threadTrace.file,
          opts.threadTrace.cgroupDir,
          opts.target.port,
        );
        await threadTrace.ready();
      }
      // The resolvers start once the sampler threads are up: a thread's start (its module loaded
      // and compiled, on the drill's one CPU) held the resolvers' loop back 100-300 ms in the
      // baseline's first 0.3 s, and their first queries' answers were timed that much late (base20).
      const t0 = performance.now();
      resolvers.start(t0);
      let phaseName = '';
      const phaseStarts: number[] = [];
      let lastFlood = p.totals();
      const cpuNow = () => (pid ? treeCpuSeconds(pid) : 0);
      let lastCpu = cpuNow();
      let lastT = t0;
      const tick = () => {
        const now = performance.now();
        const f = p.totals();
        const cpu = cpuNow();
        const dt = (now - lastT) / 1000;
        const point: TimelinePoint = {
          t: Math.round((now - t0) / 100) / 10,
          phase: phaseName,
          legitQueries: 0,
          legitAnswered: 0,
          attackSent: Math.round((sum(f.sent) - sum(lastFlood.sent)) / dt),
          attackAnswered: Math.round((sum(f.answered) - sum(lastFlood.answered)) / dt),
          cpuCores: pid ? round2((cpu - lastCpu) / dt) : undefined,
          rssBytes: sampler?.latest?.rssBytes,
        };
        timeline.push(point);
        lastFlood = f;
        lastCpu = cpu;
        lastT = now;
        if (opts.progress) progressLine(point, records, resolvers.sent, totalSeconds);
      };
      const scenario = opts.scenario;
      const totalSeconds = scenario.phases.reduce((t, ph) => t + ph.seconds, 0);
      progressTimer = setInterval(tick, 1000);
      let before = await p.switchRate(0, {});
      for (let i = 0; i < scenario.phases.length && !abort; i++) {
        const ph = scenario.phases[i];
        phaseName = ph.name;
        const rate = ph.attack
          ? (ph.attack.rate ?? Math.round((ph.attack.multiple ?? 0) * (capacity?.qps ?? 0)))
          : 0;
        const cpuStart = cpuNow();
        const busyStart = cpuBusySeconds();
        const selfStart = drillSample(opts.targetPid);
        sampler?.resetPeaks();
        resolvers.setPhase(i, ph.classes, waveOf[i]);
        p.setRate(rate, ph.attack?.mix ?? {}, ph.attack?.tcp);
        const phaseStart = performance.now();
        const startedAtMs = Date.now();
        // An attack phase's first seconds: the attack sent per slice (read every slice's length).
        const onset: OnsetSlice[] = [];
        let onsetTimer: NodeJS.Timeout | undefined;
        if (rate > 0) {
          for (let k = 0; k * ONSET_SLICE_MS < Math.min(ONSET_MS, ph.seconds * 1000); k++)
            onset.push({
              fromMs: k * ONSET_SLICE_MS,
              attackPerSecond: 0,
              queries: 0,
              answered: 0,
              inTime: 0,
              byClass: {},
              late: { typo: 0, tcp: 0, udp: 0 },
            });
          // The senders report every ~200 ms: what a report adds is spread over the slices since
          // the one before.
          let lastSent = sum(p.totals().sent);
          let lastAt = phaseStart;
          onsetTimer = setInterval(() => {
            const now = performance.now();
            const sent = sum(p.totals().sent);
            if (sent === lastSent && now - phaseStart < ONSET_MS) return;
            const rate = Math.round(((sent - lastSent) * 1000) / Math.max(now - lastAt, 1));
            const from = Math.floor((lastAt - phaseStart) / ONSET_SLICE_MS);
            const to = Math.min(onset.length, Math.ceil((now - phaseStart) / ONSET_SLICE_MS));
            for (let k = Math.max(from, 0); k < to; k++) onset[k].attackPerSecond = rate;
            lastSent = sent;
            lastAt = now;
            if (now - phaseStart >= ONSET_MS) clearInterval(onsetTimer);
          }, ONSET_SLICE_MS / 2);
        }
        const acceptQueue = new AcceptQueueSampler();
        // Off the loop (sockets.ts sampleListenQueueOff), one reading at a time.
        let acceptBusy = false;
        const acceptTimer = setInterval(() => {
          if (acceptBusy) return;
          acceptBusy = true;
          sampleListenQueueOff(opts.target.port, (q) => {
            acceptBusy = false;
            acceptQueue.add(q);
          });
        }, ACCEPT_QUEUE_SAMPLE_MS);
        await wait(ph.seconds * 1000);
        clearInterval(acceptTimer);
        acceptQueues.push(acceptQueue.stats());
        clearInterval(onsetTimer);
        const elapsed = (performance.now() - phaseStart) / 1000;
        const after = await p.switchRate(0, {});
        const sockAfter = sampleSockets(owners);
        const metricsAfter = await scrapeMetrics(opts.targetMetrics);
        kernel.push(kernelLosses(sockBefore, sockAfter));
        counterDeltas.push(metricDeltas(metricsBefore, metricsAfter));
        sockBefore = sockAfter;
        metricsBefore = metricsAfter;
        const cpuEnd = cpuNow();
        const busyEnd = cpuBusySeconds();
        const targetCpus = pid ? [...cpuSet(cpusAllowed(pid))] : [];
        const busy = targetCpus.reduce((t, c) => t + (busyEnd[c] ?? 0) - (busyStart[c] ?? 0), 0);
        const selfEnd = drillSample(opts.targetPid);
        phases.push({
          name: ph.name,
          seconds: round2(elapsed),
          legit: emptyLegit(opts.shape.zones),
          attack: attackStats(rate, before, after),
          target:
            pid && sampler
              ? {
                  cpuCores: round2((cpuEnd - cpuStart) / Math.max(elapsed, 0.001)),
                  cpusBusyCores: targetCpus.length > 0 ? round2(busy / Math.max(elapsed, 0.001)) : undefined,
                  rssPeakBytes: sampler.rssPeak,
                  pssPeakBytes: sampler.pssPeak,
                  alive: isAlive(pid),
                }
              : undefined,
          drill: { cpuCores: round2((selfEnd.cpuSeconds - selfStart.cpuSeconds) / Math.max(elapsed, 0.001)) },
          startedAtMs,
          onset: onset.length > 0 ? onset : undefined,
          // Every phase's, the calm ones too (base20: the baseline's slow seconds were its first).
          slow: Array.from({ length: Math.ceil(ph.seconds) }, (_, k) => ({
            fromS: k,
            queries: 0,
            udpQueued: 0,
            udpRetried: 0,
            tcp: 0,
          })),
        });
        phaseStarts.push(phaseStart - t0);
        before = after;
      }
      // No new queries; the ones in flight finish (answer or give-up) within 3.2 s.
      resolvers.quiesce();
      const drainEnd = performance.now() + 3500;
      while (resolvers.pending > 0 && performance.now() < drainEnd && performance.now() < deadlineMs + 3500)
        await sleep(50);
      clearInterval(progressTimer);
      if (opts.progress) process.stderr.write('\n');
      fillLegit(phases, records, timeline, opts.shape.zones, opts.victim);
      fillOnset(phases, phaseStarts, records, opts.victim);
      fillDrillLag(phases, phaseStarts, resolvers.tickLagBySecond, resolvers.gcMsBySecond);
      phases.forEach((ph, i) => {
        (ph as { losses?: LossReport }).losses = lossReport(
          resolvers.counters[i] ?? emptyCounters(),
          records.ofPhase(i),
          i,
          kernel[i],
          counterDeltas[i],
          ph.attack,
          acceptQueues[i],
        );
      });
    }
  } finally {
    clearInterval(watchdog);
    if (progressTimer) clearInterval(progressTimer);
    await sampler?.close();
    await threadTrace?.stop();
    await pool?.stop();
    resolvers.close();
  }
  const flood = pool?.totals();
  const byClass: Record<string, number> = {};
  for (const s of specs) byClass[s.cls] = (byClass[s.cls] ?? 0) + 1;
  return {
    version: 1,
    scenario: opts.scenario?.name ?? 'capacity',
    label: opts.label ?? '',
    target:
      opts.target.family === 6
        ? `[${opts.target.host}]:${opts.target.port}`
        : `${opts.target.host}:${opts.target.port}`,
    startedAt,
    seed: opts.seed,
    io: {
      legit: 'node dgram + net (one socket per resolver)',
      attack: pool?.io.startsWith('native')
        ? `native sendmmsg (IP_PKTINFO source per datagram${pool.io.includes('gso') ? `; UDP GSO runs of ${pool.io.slice(10)} queries from one source` : ''})`
        : 'node dgram (sockets bound per source)',
      attackSources: pool?.sources ?? 0,
      senders: opts.senders,
      drillCpus: cpusAllowed(process.pid),
      targetCpus: opts.targetPid ? cpusAllowed(opts.targetPid) : undefined,
      drillNice: opts.drillNice,
      senderNice: opts.senderNice ?? 10,
      resolverCache: opts.cache !== false,
    },
    population: {
      resolvers: byClass,
      bots: opts.bots,
      rotate24s: opts.rotate24s ?? 0,
      zones: opts.shape.zones,
      names: opts.shape.names,
      victim: `z${opts.victim}.drill`,
    },
    capacity,
    settle,
    phases,
    timeline,
    stoppedBy,
    packets: { legit: resolvers.sent, attack: flood?.total ?? 0 },
    seconds: round2((performance.now() - started) / 1000),
  };
}

/**
 * Finds the highest offered rate of valid-name queries (from bot addresses) at which >= 99%
 * are answered: doubling from the start rate, then halving the interval.
 */
async function measureCapacity(
  pool: FloodPool,
  opts: DrillOptions,
  wait: (ms: number) => Promise<void>,
  aborted: () => boolean,
): Promise<CapacityResult> {
  const steps: CapacityStep[] = [];
  const mix: AttackMix = { direct: 1 };
  let rate = opts.capacityStart ?? 10_000;
  let lo = 0; // highest offered rate answered >= 99%
  let hi = 0; // lowest offered rate answered < 99% (0: none yet)
  let best = 0; // highest rate actually sent at a step answered >= 99%
  let senderLimited = false;
  const tryRate = async (offered: number): Promise<CapacityStep> => {
    const before = await pool.switchRate(offered, mix);
    await wait(1000);
    const stopped = await pool.switchRate(0, mix);
    // Late answers: wait until they stop coming (at least 300 ms, at most 2 s), so that a
    // server running behind is not credited with this step's answers in the next step.
    await wait(300);
    let after = await pool.switchRate(0, mix);
    for (let waited = 300; waited < 2000 && !aborted(); waited += 200) {
      await wait(200);
      const later = await pool.switchRate(0, mix);
      const moved = sum(later.answered) !== sum(after.answered);
      after = later;
      if (!moved) break;
    }
    const sent = sum(stopped.sent) - sum(before.sent);
    const answered = sum(after.answered) - sum(before.answered);
    const ratio = sent === 0 ? 0 : answered / sent;
    const s = { offered, sent, answered, ratio: round4(ratio) };
    steps.push(s);
    return s;
  };
  // One second at a quarter of the start rate first, not counted: a target that has just started
  // answers its first second slowly (zones compiled on their first query, code not yet optimised),
  // and a first step failed for that capped the whole search (a short drill under load measured
  // 15,006/s where the same build measures ~45,000/s: its first step at 16,000/s answered 10.8%).
  if (!aborted()) {
    const w = await tryRate(Math.max(1000, Math.round(rate / 4)));
    steps[steps.length - 1] = { ...w, warmup: true };
  }
  for (let step = 0; step < 14 && !aborted(); step++) {
    const offered = hi > 0 ? Math.round((lo + hi) / 2) : rate;
    let s = await tryRate(offered);
    // One more try before a rate counts as too much: on a shared machine one second can be
    // lost to someone else's work (the target or the drill not scheduled), not to overload.
    if (s.ratio < 0.99 && !aborted()) {
      const again = await tryRate(offered);
      if (again.ratio > s.ratio) s = again;
    }
    const { sent, ratio } = s;
    if (ratio >= 0.99) {
      lo = offered;
      best = Math.max(best, sent);
      if (sent < offered * 0.9) {
        senderLimited = true;
        break;
      }
    } else hi = offered;
    if (hi > 0 && (hi - lo) / hi < 0.08) break;
    if (hi === 0) rate *= 2;
  }
  return { qps: best, measured: true, senderLimited, steps };
}

/** Puts a phase's counters together: see LossReport. */
export function lossReport(
  c: ResolverCounters,
  records: Iterable<QueryRecord>,
  phase: number,
  kernel: KernelLosses,
  targetCounters: MetricSample | undefined,
  attack: AttackStats,
  acceptQueue?: AcceptQueueStats,
): LossReport {
  const failedBy: Record<FailureCause, number> = { noAnswer: 0, wrongAnswer: 0, truncated: 0 };
  let failedTruncatedLarge = 0;
  for (const r of records)
    if (r.phase === phase && !r.ok && r.cause) {
      failedBy[r.cause]++;
      if (r.cause === 'truncated' && r.kind === 'big') failedTruncatedLarge++;
    }
  const attackSent = Object.values(attack.sent).reduce((a, b) => a + b, 0);
  const legitShare = c.udpTries + attackSent === 0 ? 0 : c.udpTries / (c.udpTries + attackSent);
  return {
    resolvers: c,
    failedBy,
    failedTruncatedLarge,
    unansweredTries: Math.max(0, c.udpTries - c.udpAnswers),
    kernel,
    legitShare: round4(legitShare),
    legitInTargetQueue: Math.round(legitShare * kernel.targetQueueFull),
    legitInTargetFilter: Math.round(legitShare * kernel.targetFilter),
    legitInDrillQueue: kernel.drillResolverDrops,
    legitAfterRead: Math.max(
      0,
      Math.max(0, c.udpTries - c.udpAnswers) -
        Math.round(legitShare * kernel.targetQueueFull) -
        kernel.drillResolverDrops,
    ),
    targetCounters,
    acceptQueue,
  };
}

function emptyLegit(zones: number): PhaseReport['legit'] {
  const e = new StatsBuilder().summary();
  return {
    all: e,
    byClass: {},
    byZoneGroup: { victim: e, victimTypos: e, others: e },
    byZone: new Array(zones).fill(e),
  };
}

/**
 * Each phase second's `drillLagMs` and `drillGcMs`: the worst lateness of the drill's own tick
 * and its longest GC pause over the whole seconds of the run (from t0) the phase's second overlaps.
 */
export function fillDrillLag(
  phases: PhaseReport[],
  starts: readonly number[],
  lagBySecond: readonly number[],
  gcBySecond: readonly number[] = [],
): void {
  phases.forEach((ph, i) => {
    const start = starts[i];
    if (!ph.slow || start === undefined) return;
    for (const sec of ph.slow) {
      const from = Math.floor((start + sec.fromS * 1000) / 1000);
      sec.drillLagMs = Math.max(lagBySecond[from] ?? 0, lagBySecond[from + 1] ?? 0);
      sec.drillGcMs = Math.max(gcBySecond[from] ?? 0, gcBySecond[from + 1] ?? 0);
    }
  });
}

/** Fills each attack phase's onset slices from the queries first sent in them. */
export function fillOnset(
  phases: PhaseReport[],
  starts: readonly number[],
  records: Iterable<QueryRecord>,
  victim = 0,
): void {
  for (const r of records) {
    const ph = phases[r.phase];
    const start = starts[r.phase];
    const sec = ph?.slow?.[Math.floor((r.startMs - start) / 1000)];
    if (sec && r.startMs >= start && !(r.kind === 'typo' && r.zone === victim)) {
      sec.queries++;
      if (!r.ok || r.latencyMs > SLOW_MS) {
        if (r.tcp) sec.tcp++;
        else if (r.ok && r.tries === 1) {
          sec.udpQueued++;
          sec.udpQueuedMaxMs = Math.max(sec.udpQueuedMaxMs ?? 0, Math.round(r.latencyMs));
        } else sec.udpRetried++;
      }
    }
    if (!ph?.onset || start === undefined) continue;
    const slice = ph.onset[Math.floor((r.startMs - start) / ONSET_SLICE_MS)];
    if (!slice || r.startMs < start) continue;
    const first = r.ok && r.latencyMs < TRY_TIMEOUT_MS ? 1 : 0;
    slice.queries++;
    slice.answered += r.ok ? 1 : 0;
    slice.inTime += first;
    const c = slice.byClass[r.cls] ?? [0, 0, 0];
    slice.byClass[r.cls] = c;
    c[0]++;
    c[1] += r.ok ? 1 : 0;
    c[2] += first;
    if (!first && slice.late) {
      if (r.kind === 'typo' && r.zone === victim) slice.late.typo++;
      else if (r.tcp) slice.late.tcp++;
      else slice.late.udp++;
    }
  }
}

/** Fills each phase's legitimate figures and the timeline's from the finished queries. */
function fillLegit(
  phases: PhaseReport[],
  records: Iterable<QueryRecord>,
  timeline: TimelinePoint[],
  zones: number,
  victim: number,
): void {
  const b = phases.map(() => ({
    all: new StatsBuilder(),
    byClass: new Map<ResolverClass, StatsBuilder>(),
    byClassNames: new Map<ResolverClass, StatsBuilder>(),
    victim: new StatsBuilder(),
    victimTypos: new StatsBuilder(),
    others: new StatsBuilder(),
    byZone: Array.from({ length: zones }, () => new StatsBuilder()),
  }));
  for (const r of records) {
    const x = b[r.phase];
    if (x) {
      x.all.add(r);
      let c = x.byClass.get(r.cls);
      if (!c) {
        c = new StatsBuilder();
        x.byClass.set(r.cls, c);
      }
      c.add(r);
      if (r.zone !== victim || r.kind !== 'typo') {
        let n = x.byClassNames.get(r.cls);
        if (!n) {
          n = new StatsBuilder();
          x.byClassNames.set(r.cls, n);
        }
        n.add(r);
      }
      if (r.zone !== victim) x.others.add(r);
      else if (r.kind === 'typo') x.victimTypos.add(r);
      else x.victim.add(r);
      x.byZone[r.zone]?.add(r);
    }
    const point = timeline[r.startSecond];
    if (point) {
      point.legitQueries++;
      if (r.ok) point.legitAnswered++;
    }
  }
  phases.forEach((ph, i) => {
    const x = b[i];
    const byClass: Record<string, LegitStats> = {};
    const byClassNames: Record<string, LegitStats> = {};
    for (const cls of RESOLVER_CLASSES) {
      const s = x.byClass.get(cls);
      if (s) byClass[cls] = s.summary();
      const n = x.byClassNames.get(cls);
      if (n) byClassNames[cls] = n.summary();
    }
    (ph as { legit: PhaseReport['legit'] }).legit = {
      all: x.all.summary(),
      byClass,
      byClassNames,
      byZoneGroup: {
        victim: x.victim.summary(),
        victimTypos: x.victimTypos.summary(),
        others: x.others.summary(),
      },
      byZone: x.byZone.map((z) => z.summary()),
    };
  });
}

function attackStats(rate: number, before: FloodTotals, after: FloodTotals): AttackStats {
  const sent = {} as Record<AttackKind, number>;
  const answered = {} as Record<AttackKind, number>;
  KINDS.forEach((k, i) => {
    sent[k] = after.sent[i] - before.sent[i];
    answered[k] = after.answered[i] - before.answered[i];
  });
  const rcodes: Record<string, number> = {};
  for (let k = 0; k < KINDS.length; k++)
    for (let c = 0; c < 17; c++) {
      const v = after.counts[k * COUNTS_PER_KIND + c] - before.counts[k * COUNTS_PER_KIND + c];
      if (v === 0) continue;
      const name = c === 16 ? 'TC' : (RCODE_NAMES[c] ?? `RCODE${c}`);
      rcodes[name] = (rcodes[name] ?? 0) + v;
    }
  const tcp = {} as AttackStats['tcp'];
  TCP_COUNTERS.forEach((k, i) => {
    tcp[k] = k === 'slowOpen' ? (after.tcp[i] ?? 0) : (after.tcp[i] ?? 0) - (before.tcp[i] ?? 0);
  });
  return { rate, sent, answered, rcodes, behind: after.behind - before.behind, tcp };
}

function progressLine(p: TimelinePoint, records: QueryLog, legitSent: number, total: number): void {
  const done = Math.min(1, p.t / Math.max(total, 1));
  const bar = `${'#'.repeat(Math.round(done * 20))}${'.'.repeat(20 - Math.round(done * 20))}`;
  let ok = 0;
  let n = 0;
  for (let i = records.length - 1; i >= 0 && n < 2000; i--, n++) if (records.ok(i)) ok++;
  const cpu =
    p.cpuCores === undefined
      ? ''
      : ` | target ${p.cpuCores} cores ${Math.round((p.rssBytes ?? 0) / 2 ** 20)} MiB`;
  const line = `[${bar}] ${p.phase} ${p.t.toFixed(0)}/${total}s | legit sent ${legitSent} ok ${n ? percent(ok / n) : '-'} (last ${n}) | attack ${p.attackSent}/s answered ${p.attackAnswered}/s${cpu}`;
  process.stderr.write(process.stderr.isTTY ? `\r${line.padEnd(110).slice(0, 140)}` : `${line}\n`);
}

function sum(a: number[]): number {
  let s = 0;
  for (const x of a) s += x;
  return s;
}
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}

/** True when the drill and the target may share a CPU (the report warns). */
export function sharesCpu(r: DrillReport): boolean {
  if (!r.io.targetCpus) return false;
  const d = cpuSet(r.io.drillCpus);
  for (const c of cpuSet(r.io.targetCpus)) if (d.has(c)) return true;
  return false;
}

/** The drill's own CPU: its process tree, less the target's when the target is its child (a benchmark starts it). */
function drillSample(targetPid: number | undefined): { cpuSeconds: number } {
  const self = treeCpuSeconds(process.pid);
  if (targetPid === undefined || !processTree(process.pid).includes(targetPid)) return { cpuSeconds: self };
  return { cpuSeconds: self - treeCpuSeconds(targetPid) };
}
