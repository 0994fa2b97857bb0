/**
 * The target's settle before a scenario's first phase: a server that has just answered its first
 * query is still starting — each worker opens a zone's image on the zone's first query, V8
 * compiles the answer path and collects the start's garbage, Switchboard's workers warm their TCP
 * path with a few hundred loopback connections — and at a share of one core that work takes
 * seconds. A baseline measured from the first answer measured that start-up, not the calm
 * service it stands for (docs/PERFORMANCE.md "base20"). Here, before the resolvers start: a few
 * queries of every zone from a loopback address no resolver and no bot uses (spread over source
 * ports, so that every worker of a SO_REUSEPORT group gets some), then a wait until the target's
 * process tree is quiet. Bounded: `maxMs` in all, a fixed number of queries. What it took goes
 * into the report, so the start-up cost stays visible.
 * @module
 */
import { createSocket, type Socket } from 'node:dgram';
import { TYPE_A, TYPE_AAAA, TYPE_TXT, wireName, writeQuery } from './packet.js';
import { cpuSecondsOf, processTree } from './proc.js';
import type { DrillTarget } from './target.js';
import { hostName, type ZoneSetShape, zoneOrigin } from './zones.js';

/** The warm-up's source: 127.3.0.1, outside the resolvers' 127.1/16 and the bots' 127.2/16. */
export const SETTLE_SOURCE = '127.3.0.1';
/** Sockets (source ports) the warm-up queries go from. */
export const SETTLE_SOCKETS = 32;
/** Queries per socket and zone: this many names, then an AAAA and the large TXT (TC=1 over UDP). */
const NAMES_PER_ZONE = 3;
/** How long the warm-up's answers are waited for. */
const ANSWER_WAIT_MS = 1500;
/** The target is quiet when its tree used at most this share of one core over QUIET_WINDOW_MS. */
export const QUIET_CORES = 0.04;
export const QUIET_WINDOW_MS = 500;
const SAMPLE_MS = 100;

/** What the settle took. */
export interface SettleReport {
  /** Milliseconds from its start to the first phase. */
  readonly ms: number;
  /** Warm-up queries sent and answered (any answer). */
  readonly queries: number;
  readonly answered: number;
  /** CPU seconds the target's tree used meanwhile (with a target pid). */
  readonly targetCpuSeconds?: number;
  /** Whether the tree was quiet at the end (false: `maxMs` ran out first; undefined: no pid). */
  readonly quiet?: boolean;
}

/**
 * Sends the warm-up queries and waits until the target's tree (`pid`) is quiet, at most `maxMs`.
 * Without a pid, only the warm-up queries and their answers.
 */
export async function settleTarget(
  target: DrillTarget,
  shape: ZoneSetShape,
  maxMs: number,
  pid: number | undefined,
  aborted: () => boolean = () => false,
): Promise<SettleReport> {
  const started = performance.now();
  const deadline = started + maxMs;
  const tree = pid ? processTree(pid) : [];
  const cpu = () => cpuSecondsOf(tree);
  const cpuStart = cpu();
  const v6 = target.family === 6;
  let answered = 0;
  let queries = 0;
  const sockets: Socket[] = [];
  try {
    for (let s = 0; s < SETTLE_SOCKETS; s++) {
      const sock = createSocket(v6 ? 'udp6' : 'udp4');
      sock.on('error', () => {});
      sock.on('message', () => {
        answered++;
      });
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(0, v6 ? '::1' : SETTLE_SOURCE, () => {
          sock.removeListener('error', reject);
          resolve();
        });
      });
      sockets.push(sock);
    }
    const buf = new Uint8Array(512);
    // Every other socket sends a client cookie (RFC 7873), as the resolvers' modern classes do.
    const cookie = Uint8Array.of(0x62, 0x61, 0x73, 0x65, 0x32, 0x30, 0x00, 0x01);
    let id = 1;
    for (let s = 0; s < sockets.length && !aborted(); s++) {
      for (let z = 0; z < shape.zones; z++)
        for (let k = 0; k < NAMES_PER_ZONE + 2; k++) {
          // Names spread over the zone (a different set per socket), an AAAA, the large TXT.
          const i = (s * NAMES_PER_ZONE + k) % shape.names;
          const [text, qtype] =
            k < NAMES_PER_ZONE
              ? [hostName(z, i), TYPE_A]
              : k === NAMES_PER_ZONE
                ? [hostName(z, i), TYPE_AAAA]
                : [`big.${zoneOrigin(z)}`, TYPE_TXT];
          const len = writeQuery(buf, 0, id++ & 0xffff, wireName(text), qtype, {
            size: 1232,
            cookie: s % 2 === 1 ? cookie : undefined,
          });
          sockets[s].send(buf.slice(0, len), target.port, target.host);
          queries++;
        }
      // A socket's queries, then a breath: a few hundred queries spread over ~0.3 s, not a burst.
      await sleep(10);
    }
    const answersBy = Math.min(deadline, performance.now() + ANSWER_WAIT_MS);
    while (answered < queries && performance.now() < answersBy && !aborted()) await sleep(20);
  } finally {
    for (const s of sockets) s.close();
  }
  // Quiet: the tree's CPU over the last QUIET_WINDOW_MS at most QUIET_CORES of one core.
  let quiet: boolean | undefined;
  if (pid) {
    quiet = false;
    const window: number[] = [cpu()];
    const need = QUIET_WINDOW_MS / SAMPLE_MS;
    while (performance.now() < deadline && !aborted()) {
      await sleep(SAMPLE_MS);
      window.push(cpu());
      if (window.length > need + 1) window.shift();
      if (window.length === need + 1 && window[need] - window[0] <= (QUIET_CORES * QUIET_WINDOW_MS) / 1000) {
        quiet = true;
        break;
      }
    }
  }
  return {
    ms: Math.round(performance.now() - started),
    queries,
    answered,
    targetCpuSeconds: pid ? Math.round((cpu() - cpuStart) * 100) / 100 : undefined,
    quiet,
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
