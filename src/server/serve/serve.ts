/**
 * One serving process: loads the zone folder into a Catalog, answers on UDP and TCP on every
 * listen address through a Responder, and reloads the folder on request, swapping the new
 * Catalog in atomically (a query sees either the old zones or the new ones, never a mix).
 * @module
 */
import { Catalog } from '../../answer/catalog.js';
import { Responder } from '../../answer/respond.js';
import { compileZone } from '../../image/compile.js';
import { DnsCounters } from '../../telemetry/dns-counters.js';
import type { DnsReport } from '../../telemetry/dns-layout.js';
import type { QueryHandler, TransportContext } from '../../transport/handler.js';
import { nativeStatsOf, nativeTcpGate } from '../../transport/native-udp.js';
import type { TcpListener } from '../../transport/tcp.js';
import type { UdpListener } from '../../transport/udp.js';
import { openListeners } from '../shared/listeners.js';
import { createRateLimitedReporter, type Logger } from '../shared/log.js';
import { startNativeAnswers } from '../shared/native-answers.js';
import { buildResponderOptions, ConfigError } from '../shared/options.js';
import { shieldCounters, shieldSawTcp, startShield, withNodeShield } from '../shared/shield.js';
import { startTransfers } from '../shared/transfers.js';
import type { ServeConfig } from './config.js';
import type { ZoneSummary } from './report.js';
import { loadZoneDir, type ZoneDirReport, type ZoneFileLoader, type ZoneSet } from './zone-dir.js';

/** What a running server exposes to its supervisor. */
export interface RunningServer {
  /** The report of the first load. */
  readonly initialReport: ZoneDirReport;
  /** The zones served now. */
  zones(): ZoneSummary[];
  readonly udp: readonly UdpListener[];
  readonly tcp: readonly TcpListener[];
  /** Re-reads the zone folder and swaps the loaded zones in; resolves with the report. */
  reload(): Promise<ZoneDirReport>;
  /** Stops listening and closes connections. */
  close(): Promise<void>;
  /** `--metrics`: this process's DNS counters (docs/METRICS.md); undefined without the flag. */
  metricsReport?: () => DnsReport;
}

/** Dependencies of a server process. */
export interface ServerDeps {
  log: Logger;
  loader: ZoneFileLoader;
}

/** Lists the zones of a zone set. */
export function summarizeZones(zones: ZoneSet): ZoneSummary[] {
  return [...zones.values()].map((z) => ({
    file: z.file,
    origin: z.zone.origin.toString(),
    serial: z.zone.serial,
  }));
}

/**
 * Loads the zone folder and starts listening. Zone files with errors are reported and left
 * out; a folder that cannot be read, or an address that cannot be bound, is fatal.
 * @throws ConfigError when the zone folder cannot be read; TransportError on bind failure
 */
export async function startServer(config: ServeConfig, deps: ServerDeps): Promise<RunningServer> {
  const first = await loadZoneDir(config.zoneDir, deps.loader);
  if (first.report.dirError) throw new ConfigError(`--zone-dir ${config.zoneDir}: ${first.report.dirError}`);
  let zones = first.zones;
  // NSID, identity (`{worker}` = this worker's slot), version, EDNS size.
  const responder = new Responder(
    new Catalog([...zones.values()].map((z) => z.zone)),
    buildResponderOptions(config),
  );
  // --shield with --io node: the shield in front of the UDP queries (docs/SHIELD.md).
  const answer: QueryHandler = withNodeShield(
    config,
    (query, ctx) => {
      // A query over TCP proves its source address (the shield's `tcp` tier).
      if (ctx.transport === 'tcp') shieldSawTcp(ctx.address);
      return responder.respond(query, ctx);
    },
    () => responder.catalog,
  );
  // `--metrics`: every query counted (a few typed-array increments); without it, nothing added.
  const counters = config.metrics !== undefined ? new DnsCounters() : undefined;
  // Zone transfers and TSIG-signed queries (docs/TRANSFERS.md) before the Responder.
  const transfers = startTransfers(config.transfers, () => responder.catalog, deps.log, config.ednsSize);
  const signedOrAnswer = transfers.service.wrap(answer);
  const handler: QueryHandler = counters
    ? counters.wrapHandler<TransportContext>(signedOrAnswer)
    : signedOrAnswer;
  const onError = createRateLimitedReporter(deps.log);

  // The shield before the sockets: a worker that joins the port's group answers its first
  // datagram with the shield (cookies, admission) in force, never without it for a loop turn.
  // C answers here only with --native-answers given (below): the shield's log says so.
  const shield = startShield(
    { ...config, nativeAnswers: config.nativeAnswers === true },
    deps.log,
    () => responder.catalog,
  );
  // This process parses its zones (no shared images): C answers only when asked for explicitly
  // (each zone compiled on its first query); `auto`, the default with --images on, is off here.
  // Synced before the sockets open too (the addon's image table is the process's).
  const native = startNativeAnswers(
    { ...config, nativeAnswers: config.nativeAnswers === true },
    deps.log,
    compileZone,
  );
  const syncNative = (): void => {
    native?.sync(responder.catalog);
  };
  syncNative();
  let opened: Awaited<ReturnType<typeof openListeners>>;
  try {
    opened = await openListeners(config, handler, onError, transfers.service.streams);
  } catch (err) {
    shield?.close();
    native?.close();
    throw err;
  }
  const { udp, tcp, closeAll: closeListeners } = opened;
  if (native)
    deps.log.info(
      `native answers: ${native.stats().served} zones served in C (each compiled on its first query)`,
    );
  const closeAll = async (): Promise<void> => {
    await closeListeners();
    shield?.close();
    native?.close();
  };

  // Reloads run one at a time: a second request waits for the first, then reads the folder anew.
  let pending: Promise<unknown> = Promise.resolve();
  const reloadOnce = async (): Promise<ZoneDirReport> => {
    const next = await loadZoneDir(config.zoneDir, deps.loader, zones);
    if (!next.report.dirError) {
      zones = next.zones;
      // The swap is one assignment inside the Responder: queries before it see the old
      // Catalog, queries after it the new one.
      responder.setCatalog(new Catalog([...zones.values()].map((z) => z.zone)));
      syncNative();
    }
    return next.report;
  };

  return {
    initialReport: first.report,
    zones: () => summarizeZones(zones),
    udp,
    tcp,
    reload: () => {
      const run = pending.then(reloadOnce, reloadOnce);
      pending = run.catch(() => {});
      return run;
    },
    close: closeAll,
    ...(counters && {
      metricsReport: () =>
        counters.report({
          cache: () => responder.cacheStats(),
          tcp: () => tcp.map((l) => l.stats),
          tcpFirstFrame: () => nativeTcpGate()?.stats(),
          // Queries answered in C (--native-answers) and shed by the shield are counted there.
          nativeUdp: () => udp.flatMap((l) => nativeStatsOf(l) ?? []),
          zones: () => zones.size,
          shield: shieldCounters,
          transfers: () => transfers.service.stats,
        }),
    }),
  };
}
