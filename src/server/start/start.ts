/**
 * `switchboard start`: the control plane (store + HTTP API) in the primary process and the DNS
 * engine in `--workers` cluster workers, in one command.
 *
 * The primary opens the control plane, makes sure an administrator key exists, imports the
 * example zones into an empty store, loads every zone into its ZoneFeed, starts the API, then
 * forks the DNS workers. Each worker gets the full set of zones over IPC when it starts (and
 * again when it restarts) and every change as it is committed, so an API change is answered
 * by every worker well within a second, without restarting anything. The workers report
 * their DNS counters every second; the primary sums them and serves every metric at
 * `/metrics` on the API listener (docs/METRICS.md).
 * @module
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiLimits } from '../../api/limits.js';
import type { EdgeListing } from '../../api/routes/edges.js';
import type { ControlPlane, ControlPlaneOptions } from '../../control/types.js';
import type { PrimaryMetrics } from '../../telemetry/primary-metrics.js';
import { countZoneChanges } from '../../telemetry/zone-changes.js';
import { WorkerPool } from '../../transport/cluster.js';
import { formatListenAddress, type ListenAddress } from '../../transport/listen-address.js';
import { rcodeName } from '../../wire/constants.js';
import { NotifySender } from '../../xfr/notify.js';
import { CompilePool } from '../shared/compile-pool.js';
import { ImageShipper } from '../shared/image-shipper.js';
import { collectGarbage, formatLoads, PackWriter } from '../shared/images.js';
import { logKernelSettings } from '../shared/kernel.js';
import { chooseUdpIo, formatUdpIoLine } from '../shared/listeners.js';
import { createLogger, describeError, type Logger } from '../shared/log.js';
import { type ShieldZonesMessage, startCookieRotation } from '../shared/shield.js';
import { handleStopSignals } from '../shared/stop-signals.js';
import type { TransferZonesMessage } from '../shared/transfers.js';
import { ZoneBroadcaster } from './broadcast.js';
import { startCatalogConsumers } from './catalog-consumer.js';
import { startCatalogWriter } from './catalogs.js';
import {
  API_KEY_ENV,
  encodeDnsWorkerConfig,
  redactDatabaseUrl,
  START_CONFIG_ENV,
  type StartConfig,
} from './config.js';
import { EDGES_FILE, EdgeRegistry, type SharedEdges, startEdgeNotify, startSharedEdges } from './edges.js';
import { findExampleZoneDir, importExampleZones } from './examples.js';
import { ZoneFeed } from './feed.js';
import { checkSeededApiKey, metricsAccessOf } from './limits.js';
import { NotifyOut } from './notify-out.js';
import { isStartWorkerMessage, type StartWorkerMessage, type ZonesMessage } from './protocol.js';
import { startSecondaries } from './secondaries.js';
import { PrimaryJournal } from './transfer-journal.js';

/** What `start` needs of the HTTP API: a Fastify instance, not yet listening. */
export interface ApiServer {
  listen(opts: { host: string; port: number }): Promise<string>;
  close(): Promise<unknown>;
  readonly server: { address(): unknown };
}

/** What `start` hands the API besides the control plane. */
export interface StartApiOptions {
  /** Counts HTTP requests and serves `/metrics`. */
  metrics?: PrimaryMetrics;
  /** Who may read `/metrics`. */
  metricsAccess?: 'open' | 'key';
  /** The request limits (docs/API.md, "Limits"). */
  limits?: Partial<ApiLimits>;
  /** The edges that follow this platform (`GET /api/v1/edges`, docs/EDGE.md). */
  edges?: () => EdgeListing[];
}

/** The parts `start` composes (tests may pass fakes). */
export interface StartDeps {
  openControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane>;
  buildApi(control: ControlPlane, opts?: StartApiOptions): Promise<ApiServer>;
}

/** How `start` reports (tests may capture it). */
export interface StartIo {
  log: Logger;
  /** Prints lines meant for the operator (default: stdout). */
  print: (text: string) => void;
  /** The environment (default: process.env). */
  env: NodeJS.ProcessEnv;
  /** The Switchboard version shown by the API. */
  version: string;
  /** Stops the platform like SIGTERM when aborted (tests). */
  stopSignal?: AbortSignal;
  /** Handle SIGTERM/SIGINT/SIGHUP (default true; tests turn it off). */
  handleSignals: boolean;
}

/** The first line printed once everything serves; tests wait for it. */
export const STARTED_LINE = 'switchboard: started';

async function loadDefaultDeps(version: string | undefined): Promise<StartDeps> {
  // Loaded on demand: `switchboard serve` must not depend on the control plane's modules.
  const control = await import('../../control/index.js');
  const api = await import('../../api/index.js');
  return {
    openControlPlane: (opts) => control.openControlPlane(opts),
    buildApi: async (c, o) =>
      (await api.buildApi(c, {
        version,
        metrics: o?.metrics,
        ...(o?.metricsAccess ? { metricsAccess: o.metricsAccess } : {}),
        ...(o?.limits ? { limits: o.limits } : {}),
        ...(o?.edges ? { edges: o.edges } : {}),
      })) as unknown as ApiServer,
  };
}

/** `http://127.0.0.1:8080` for a bound address. */
export function formatHttpBase(host: string, port: number): string {
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

function boundPort(api: ApiServer, fallback: number): number {
  const a = api.server.address();
  return typeof a === 'object' && a !== null && typeof (a as { port?: unknown }).port === 'number'
    ? (a as { port: number }).port
    : fallback;
}

/** The file under `--data` that holds the administrator key a first start made. */
export const ADMIN_KEY_FILE = 'admin-key';

/** The API base URL clients use when SWITCHBOARD_URL is not set (`switchboard start`'s default). */
const DEFAULT_API_BASE = 'http://127.0.0.1:8080';
/** The variable naming the server to the CLI client (src/cli/client-config.ts). */
const URL_ENV = 'SWITCHBOARD_URL';

/**
 * Saves a new administrator key to `<dataDir>/admin-key`, readable by its owner only (0600,
 * in a folder created 0700 when missing), so a key scrolled off the terminal is not lost.
 * @returns the file's path, or undefined when it could not be written (logged)
 */
export function saveAdminKey(dataDir: string, secret: string, log: Logger): string | undefined {
  const file = resolve(dataDir, ADMIN_KEY_FILE);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // A file left from an earlier store is replaced, never written through (its mode could be wider).
    rmSync(file, { force: true });
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return file;
  } catch (err) {
    log.warn(`cannot save the administrator key to ${file}: ${describeError(err)}`);
    return undefined;
  }
}

/** The block that shows a new administrator key, where it is saved, and how to use it. */
export function formatNewKeyBlock(
  secret: string,
  file: string | undefined,
  apiBase: string | undefined,
): string {
  const lines = [
    'switchboard: created an administrator API key; it is shown this once, keep it:',
    '',
    `  ${secret}`,
    '',
  ];
  if (file) lines.push(`  saved in ${file} (readable by its owner only)`);
  lines.push(`  use it as the X-API-Key header, or for the switchboard CLI:`);
  lines.push(`    export ${API_KEY_ENV}=${secret}`);
  if (apiBase !== undefined && apiBase !== DEFAULT_API_BASE) lines.push(`    export ${URL_ENV}=${apiBase}`);
  return `${lines.join('\n')}\n\n`;
}

/** The block printed when the platform is up. */
export function formatStartedBlock(info: {
  apiBase: string;
  dns: readonly ListenAddress[];
  workers: number;
  zones: number;
  store: string;
}): string {
  const dns = info.dns.map(formatListenAddress).join(', ');
  const first = info.dns[0];
  const lines = [
    `${STARTED_LINE}, pid ${process.pid}`,
    `  API       ${info.apiBase}/api/v1/`,
    `  API docs  ${info.apiBase}/api/v1/openapi.json (OpenAPI)`,
    `  metrics   ${info.apiBase}/metrics (Prometheus)`,
    `  DNS       ${dns} (udp+tcp), ${info.workers} worker${info.workers === 1 ? '' : 's'}, ${info.zones} zone${info.zones === 1 ? '' : 's'}`,
    `  store     ${info.store}`,
  ];
  // The CLI's default server is the default --http; any other address needs telling.
  if (info.apiBase !== DEFAULT_API_BASE) lines.push(`  CLI       export ${URL_ENV}=${info.apiBase}`);
  if (first) lines.push(`  try       dig @${first.host} -p ${first.port} www.example.com`);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs `switchboard start` until SIGTERM or SIGINT. Resolves with the exit code: 0 after a
 * clean stop, 1 when something could not start (store, API address, DNS address).
 */
export async function runStart(
  config: StartConfig,
  io?: Partial<StartIo>,
  deps?: StartDeps,
): Promise<number> {
  const log = io?.log ?? createLogger('primary');
  const print = io?.print ?? ((text: string) => process.stdout.write(text));
  const env = io?.env ?? process.env;

  // An operator-chosen administrator key must not be guessable (checked before anything opens).
  const seededKey = env[API_KEY_ENV];
  if (seededKey !== undefined && seededKey !== '')
    try {
      checkSeededApiKey(seededKey, API_KEY_ENV);
    } catch (err) {
      log.error((err as Error).message);
      return 1;
    }

  // The UDP path, decided once here (one log line) and handed to every DNS worker.
  let udpIo: ReturnType<typeof chooseUdpIo>;
  try {
    udpIo = chooseUdpIo(config.io ?? 'auto', config.dns.listen, true, config.images === true);
  } catch (err) {
    log.error((err as Error).message);
    return 1;
  }
  log.info(formatUdpIoLine(udpIo));
  logKernelSettings(log, config.dns.udpRecvBufferSize);

  // --images on: changes go to the images as diffs (SWITCHBOARD_IMAGE_PATCHES=off: every change
  // read and compiled whole, as before; for comparison).
  const patches = config.images === true && env.SWITCHBOARD_IMAGE_PATCHES !== 'off';
  let d: StartDeps;
  let metrics: PrimaryMetrics;
  try {
    d = deps ?? (await loadDefaultDeps(io?.version));
    // Loaded on demand like the control plane: `serve` does not load prom-client.
    const telemetry = await import('../../telemetry/primary-metrics.js');
    metrics = new telemetry.PrimaryMetrics();
  } catch (err) {
    log.error(`cannot load the control plane: ${describeError(err)}`);
    return 1;
  }
  let control: ControlPlane;
  try {
    // The data folder holds the database and the key: private to the owner (0700).
    if (!config.database) mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const opened = await d.openControlPlane({
      dataDir: config.dataDir,
      database: config.database,
      ...(config.limits ? { retention: config.limits.retention } : {}),
      ...(config.nameservers ? { defaults: { nameservers: config.nameservers } } : {}),
      ...(config.shieldPolicy ? { shield: config.shieldPolicy } : {}),
      outbound: config.outbound,
      // servedText stays on with the image patches: a change its diff cannot carry (an import,
      // a restore, too many RRsets) is then read whole from the text the zone-work thread
      // rendered with the change, not rendered on this loop (which held every tenant's API calls
      // for 0.6-0.8 s after a 100,000-record import: test/e2e/fairness.test.ts).
      limits: {
        ...(config.maxTtl !== undefined ? { maxTtl: config.maxTtl } : {}),
        ...(config.maxRecordsPerRequest !== undefined
          ? { maxRecordsPerRequest: config.maxRecordsPerRequest }
          : {}),
      },
    });
    // Every committed zone change through this process is counted, by kind.
    control = countZoneChanges(opened, (kind) => metrics.countZoneChange(kind));
  } catch (err) {
    log.error(`cannot open the store: ${describeError(err)}`);
    return 1;
  }
  // DNS UPDATE (RFC 2136) relayed by the workers: checked and applied here (src/xfr/update.ts).
  const { UpdateHandler } = await import('../../xfr/update.js');
  const updateHandler = new UpdateHandler(control, {
    onUpdate: (e) =>
      log.info(
        `dns update ${e.zone} from ${e.address}${e.key ? ` key ${e.key}` : ''}: ${rcodeName(e.rcode)}` +
          `${e.changed ? ` (serial ${e.serial})` : ''}${e.reason ? `: ${e.reason}` : ''}`,
      ),
  });
  const storeText = config.database
    ? `PostgreSQL ${redactDatabaseUrl(config.database)}`
    : `SQLite ${join(config.dataDir, 'switchboard.db')}`;

  // Slots that have been sent their snapshot: every later message goes to them, in order.
  const synced = new Set<number>();
  const ready = new Set<number>();
  let pool: WorkerPool | undefined;
  // The IXFR journal: entries go to every live worker (a worker that says hello gets it whole).
  const journal = new PrimaryJournal((m) => {
    for (const slot of pool?.liveSlots() ?? []) pool?.send(slot, m);
  });
  // NOTIFY out (docs/TRANSFERS.md): to each zone's ALSO-NOTIFY targets once the workers serve
  // its new version; the targets come from the transfer settings' feed (set below).
  const notifySender = new NotifySender({
    policy: config.outbound,
    onDone: (e) => {
      if (e.outcome !== 'acked')
        log.warn(`NOTIFY ${e.zone} serial ${e.serial} to ${e.target}: ${e.outcome} (${e.reason ?? ''})`);
    },
  });
  let notifySettings: () => TransferZonesMessage = () => ({ type: 'switchboard:transfer-zones', zones: [] });
  // The edges (docs/EDGE.md): learnt from the workers' sightings, NOTIFYed on every new version.
  const edges = new EdgeRegistry();
  // Kept across restarts (docs/EDGE.md): a restarted control plane NOTIFYs its edges at once.
  const edgesFile = join(config.dataDir, EDGES_FILE);
  try {
    const n = edges.restore(JSON.parse(readFileSync(edgesFile, 'utf8')));
    if (n > 0) log.info(`edges: ${n} known from ${edgesFile}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      log.warn(
        `edges: ${edgesFile} not read (${describeError(err)}): they are learnt again as they check in`,
      );
  }
  const saveEdges = (): void => {
    if (!edges.dirty) return;
    try {
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      writeFileSync(`${edgesFile}.tmp`, JSON.stringify(edges.saved()), { mode: 0o600 });
      renameSync(`${edgesFile}.tmp`, edgesFile);
    } catch (err) {
      log.warn(`edges: ${edgesFile} not written: ${describeError(err)}`);
    }
  };
  const edgesSaver = setInterval(saveEdges, 5000);
  let sharedEdges: SharedEdges | undefined;
  edgesSaver.unref();
  const edgeNotify = startEdgeNotify(edges, config.dns.transfers?.keys ?? [], log);
  const notifyOut = new NotifyOut(
    notifySender,
    () => notifySettings(),
    () => synced,
    undefined,
    (zone, serial) => edgeNotify.released(zone, serial),
  );
  metrics.notifyStats = () => notifySender.stats;
  // Big updates reach one worker at a time, so the others keep answering while it parses.
  const broadcaster = new ZoneBroadcaster(
    {
      slots: () => synced,
      send: (slot, msg) => {
        notifyOut.sent(slot, msg);
        if (pool?.send(slot, msg)) return true;
        synced.delete(slot);
        return false;
      },
    },
    { staggerChars: staggerCharsFrom(env) },
  );
  // --images on: from here until the final handlers are on, a stop signal (or io.stopSignal)
  // must not kill the primary by its default action (the packs would stay behind): it stops
  // the cold compile, and the start exits 0 once what was opened is closed.
  let earlyStop: string | undefined;
  /** Set when serving stops: the journal's rebuild from the store (below) stops too. */
  let journalStopped = false;
  let onEarlyStop: (() => void) | undefined;
  const early = (why: string) => {
    if (earlyStop) return;
    earlyStop = why;
    log.info(`${why} while starting: stopping`);
    onEarlyStop?.();
  };
  const earlyTerm = () => early('SIGTERM');
  const earlyInt = () => early('SIGINT');
  const earlyHup = () => log.info('SIGHUP ignored: zones are served from the store and update live');
  const earlyAbort = () => early('stop');
  const earlySignals = config.images && io?.handleSignals !== false;
  if (earlySignals) {
    process.on('SIGTERM', earlyTerm);
    process.on('SIGINT', earlyInt);
    process.on('SIGHUP', earlyHup);
  }
  if (config.images) io?.stopSignal?.addEventListener('abort', earlyAbort, { once: true });
  const dropEarly = () => {
    if (earlySignals) {
      process.off('SIGTERM', earlyTerm);
      process.off('SIGINT', earlyInt);
      process.off('SIGHUP', earlyHup);
    }
    io?.stopSignal?.removeEventListener('abort', earlyAbort);
  };
  // --images on: the primary compiles each zone once (compile threads) and ships references.
  const images = config.images
    ? (() => {
        const writer = new PackWriter();
        const packDir = writer.dir;
        // One thread kept started when idle: a change after a quiet spell does not wait for a
        // thread to start (fleet10 measured ~1–1.4 s of `start`'s share of the edges' tail under load).
        const compiler = new CompilePool({ warm: 1 });
        const shipper = new ImageShipper(writer, {
          broadcast: (msg) => broadcaster.broadcast(msg),
          // The workers' snapshot: one file in the pack folder, read by each worker in one call.
          snapshotFileZones: 1,
          // A zone whose diff cannot be applied to its image is compiled from its text.
          readZone: (name) => control.servedZone(name),
          log,
        });
        const close = async () => {
          shipper.close();
          await compiler.close();
          writer.close();
        };
        return { packDir, writer, compiler, shipper, close };
      })()
    : undefined;
  const broadcast = images
    ? (msg: ZonesMessage) => images.shipper.ship(msg, images.compiler)
    : (msg: ZonesMessage) => broadcaster.broadcast(msg);

  let feed: ZoneFeed | undefined;
  let api: ApiServer | undefined;
  const closeEarly = async () => {
    await images?.close();
    feed?.close();
    await api?.close().catch(() => {});
    await sharedEdges?.stop();
    await control.close().catch(() => {});
  };
  let apiBase: string;
  // A key made by this first start: saved to a file at once, printed once the API's address is
  // known (so the hint names it), or at the failure if the start fails before.
  let newKey: { secret: string; file?: string } | undefined;
  try {
    const seeded = env[API_KEY_ENV];
    const admin = await control.bootstrapAdmin(seeded && seeded.length > 0 ? seeded : undefined);
    if (admin.secret && admin.created && !seeded)
      newKey = { secret: admin.secret, file: saveAdminKey(config.dataDir, admin.secret, log) };
    else if (seeded) log.info(`administrator key from ${API_KEY_ENV} is active`);

    if (await control.isEmpty()) {
      const dir = findExampleZoneDir();
      if (dir) {
        const names = await importExampleZones(control, dir, log);
        if (names.length > 0) log.info(`empty store: imported the example zones ${names.join(', ')}`);
      } else log.warn('empty store and no examples/zones folder found: serving no zone');
    }
    // The fleet catalog (RFC 9432; docs/TRANSFERS.md "Catalog zones"): made before the feed loads,
    // so the workers serve it from their first snapshot; its members are written below.
    if (config.fleetCatalog !== undefined) await control.ensureFleetCatalog?.(config.fleetCatalog);

    // The workers are fed from here: the feed subscribes to changes before it reads the zones.
    feed = new ZoneFeed(control, (msg) => broadcast(msg), {
      log,
      // --images on: a change is sent as its diff, and the shipper patches the zone's image.
      patches,
      // Each diff also becomes an IXFR journal entry, sent to the workers (docs/TRANSFERS.md).
      onJournal: (name, step) => journal.step(name, step),
      onPublished: (ms) => metrics.observeZonePublish(ms / 1000),
    });
    const zoneCount = feed;
    metrics.zoneCount = () => zoneCount.size;
    const started = performance.now();
    images?.compiler.prestart(); // the compile threads load their modules while the store is read
    await feed.load();
    log.info(`loaded ${feed.size} zones from the store in ${Math.round(performance.now() - started)} ms`);
    // The IXFR journal from the versions the store keeps (docs/TRANSFERS.md "IXFR"): an IXFR
    // from a serial before this start is answered with a difference, not the whole zone.
    const history = control.servedHistory?.(journal.journal.maxVersions);
    if (history !== undefined && !earlyStop) {
      const held = feed;
      const rebuilding = performance.now();
      void journal
        .rebuild(
          history,
          (n) => held.get(n),
          () => journalStopped || earlyStop !== undefined,
        )
        .then(
          (r) =>
            r.zones > 0 &&
            log.info(
              `IXFR journal: ${r.versions} stored versions of ${r.zones} zones journaled in ${Math.round(performance.now() - rebuilding)} ms`,
            ),
          (err: unknown) => {
            if (!journalStopped) log.error(`IXFR journal not rebuilt from the store: ${describeError(err)}`);
          },
        );
    }
    if (images) {
      onEarlyStop = () => void images.close();
      if (earlyStop) onEarlyStop();
      else if (io?.stopSignal?.aborted) early('stop'); // aborted before: no 'abort' event comes
      const compiling = performance.now();
      for (const m of feed.snapshot()) images.shipper.ship(m, images.compiler);
      await images.shipper.shipped();
      images.compiler.shrink(); // the threads' heaps go before the workers load the images
      feed.dropTexts(); // the images hold the zones now
      onEarlyStop = undefined;
      if (earlyStop) {
        dropEarly();
        await closeEarly();
        return 0;
      }
      collectGarbage();
      log.info(
        `compiled ${images.shipper.size} zone images in ${Math.round(performance.now() - compiling)} ms ` +
          `(${images.compiler.size} compile threads; ${feed.size - images.shipper.size} failed)`,
      );
    }

    const servedSerial = (name: string) =>
      images ? images.shipper.get(name)?.serial : feed?.get(name)?.serial;
    // One pass over every zone of every edge: at most once a second (a scrape reads it 4 times);
    // shared with the other replicas through the store (docs/EDGE.md "Listing").
    sharedEdges = startSharedEdges(edges, control, servedSerial, log);
    const listEdges = sharedEdges.list;
    metrics.edges = listEdges;
    api = await d.buildApi(control, {
      edges: listEdges,
      metrics,
      metricsAccess: config.metricsAccess ?? metricsAccessOf(undefined, config.http.host),
      ...(config.limits ? { limits: config.limits.api } : {}),
    });
    await api.listen({ host: config.http.host, port: config.http.port });
    apiBase = formatHttpBase(config.http.host, boundPort(api, config.http.port));
    if (newKey) print(formatNewKeyBlock(newKey.secret, newKey.file, apiBase));
  } catch (err) {
    if (newKey) print(formatNewKeyBlock(newKey.secret, newKey.file, undefined));
    log.error(`cannot start: ${describeError(err)}`);
    dropEarly();
    await closeEarly();
    return 1;
  }
  if (earlyStop) {
    dropEarly();
    await closeEarly();
    return 0;
  }
  const zoneFeed = feed;
  const apiServer = api;

  return new Promise<number>((resolveExit) => {
    let started = false;
    let stopping = false;

    const stopPruning = schedulePruning(control, log);
    // The shield's cookie secret, rotated here and handed to every worker at once (docs/SHIELD.md).
    const cookies = startCookieRotation(
      config.dns.shield,
      (m) => {
        for (const slot of pool?.liveSlots() ?? []) pool?.send(slot, m);
      },
      log,
    );
    // Zones' own shield settings from the API, the whole list to every worker at each change
    // (and to a worker that says hello); a deleted zone's settings go with it.
    const shieldZones = config.dns.shield
      ? shieldZonesFeed(control, log, (m) => {
          for (const slot of pool?.liveSlots() ?? []) pool?.send(slot, m);
        })
      : undefined;
    // Zones' transfer settings with their accounts' keys (docs/TRANSFERS.md), likewise.
    const transferZones = transferZonesFeed(control, log, (m) => {
      for (const slot of pool?.liveSlots() ?? []) pool?.send(slot, m);
    });
    // Secondary zones: SOA timers, transfers in, NOTIFY relayed by the workers (docs/TRANSFERS.md).
    const secondaries = startSecondaries(control, config, log, metrics, (m) => {
      for (const slot of pool?.liveSlots() ?? []) pool?.send(slot, m);
    });
    notifySettings = () => transferZones.current();
    // Catalog zones: the fleet catalog and the accounts' Producer zones kept listing their members.
    const catalogWriter = startCatalogWriter(control, config.fleetCatalog, log);
    // Each edge is NOTIFYed of the catalog it follows only (docs/EDGE.md "NOTIFY").
    edges.setCatalogs(config.fleetCatalog, (zone) => catalogWriter.isCatalog(zone));
    // Consumer zones: their member zones kept in step with the catalogs they transfer.
    const catalogConsumers = startCatalogConsumers(control, log);
    // `PUT …/notify` through this replica's API: NOTIFY now, at the serial the workers were sent.
    const offNotify = control.onSettingsChange((c) => {
      if (!c.kinds.includes('notify') || c.zone === undefined) return;
      const held = zoneFeed.get(c.zone);
      if (held) notifyOut.request(c.zone, held.serial);
    });
    const stop = async (code: number) => {
      if (stopping) return;
      stopping = true;
      journalStopped = true;
      stopPruning();
      cookies?.close();
      shieldZones?.close();
      transferZones.close();
      catalogWriter.close();
      catalogConsumers.close();
      secondaries.close();
      offNotify();
      notifyOut.close();
      notifySender.close();
      edgeNotify.close();
      clearInterval(edgesSaver);
      saveEdges();
      await sharedEdges?.stop();
      zoneFeed.close();
      await images?.shipper.shipped();
      await apiServer.close().catch((err) => log.error(`closing the API: ${describeError(err)}`));
      await pool?.stop();
      await images?.close();
      await control.close().catch((err) => log.error(`closing the store: ${describeError(err)}`));
      resolveExit(code);
    };

    // The zones' shield and transfer settings and the secondary zones are read from the store at
    // start, asynchronously. A worker greeted before they were read bound its sockets with empty
    // lists and answered so until they came after its snapshot: catalog zones (the fleet catalog
    // among them) answered instead of REFUSED, TSIG-signed transfers refused, NOTIFYs to secondary
    // zones refused, zones' own shield settings missing — and the platform said it had started.
    let settingsRead = false;
    const greetWhenRead = new Set<number>();
    const greet = (slot: number): void => {
      // The cookie secrets in force (a restarted worker's config holds the first ones).
      if (cookies) pool?.send(slot, cookies.current());
      if (shieldZones) pool?.send(slot, shieldZones.current());
      pool?.send(slot, transferZones.current());
      pool?.send(slot, secondaries.current());
      pool?.send(slot, journal.current());
      // The snapshot and the updates after it share this slot's ordered IPC channel.
      for (const m of images ? images.shipper.snapshot(slot) : zoneFeed.snapshot()) {
        // Every image in start's packs was made by its own compile threads in this run
        // (`ship` compiles each zone; start has no image cache on disk): the workers open the
        // snapshot's big images without a CRC-32 of their octets, as serve's do
        // (dns-protocol.ts `ZonesMessage.trusted`, docs/IMAGE.md "Packs").
        if (images && m.kind === 'snapshot') m.trusted = true;
        pool?.send(slot, m);
      }
      synced.add(slot);
    };
    void Promise.all([shieldZones?.first, transferZones.first, secondaries.first]).then(() => {
      settingsRead = true;
      for (const slot of greetWhenRead) greet(slot);
      greetWhenRead.clear();
    });

    const onWorkerMessage = (slot: number, msg: StartWorkerMessage) => {
      switch (msg.type) {
        case 'switchboard:hello':
          // A worker binds its sockets once its snapshot is applied: everything it answers with
          // (settings read at start included) goes before the snapshot, so a worker that says
          // hello before the first reads are done waits for them.
          if (settingsRead) greet(slot);
          else greetWhenRead.add(slot);
          break;
        case 'switchboard:start-ready':
          ready.add(slot);
          images?.shipper.started(slot);
          if (msg.loads) log.info(`DNS worker ${slot}: ${formatLoads(msg.loads)}`);
          if (started)
            log.info(`DNS worker ${slot} restarted, serving ${msg.zones} zones (loaded in ${msg.loadMs} ms)`);
          else if (ready.size === config.workers) {
            started = true;
            log.info(`DNS workers loaded ${msg.zones} zones in ${msg.loadMs} ms`);
            print(
              formatStartedBlock({
                apiBase,
                dns: config.dns.listen,
                workers: config.workers,
                zones: images ? images.shipper.size : zoneFeed.size,
                store: storeText,
              }),
            );
          }
          break;
        case 'switchboard:applied':
          for (const e of msg.errors) log.error(`DNS worker ${slot}: ${e}`);
          broadcaster.applied(slot, msg.seq);
          notifyOut.applied(slot, msg.seq);
          images?.shipper.acked(slot, msg.seq);
          break;
        case 'switchboard:metrics':
          metrics.dns.update(slot, msg.incarnation, msg);
          break;
        case 'switchboard:notify-in':
          secondaries.notified(msg);
          break;
        case 'switchboard:edges-seen':
          edges.seen(msg);
          break;
        case 'switchboard:dns-update': {
          const answer = (response: Uint8Array | null) =>
            pool?.send(slot, {
              type: 'switchboard:dns-update-answer',
              id: msg.id,
              response: response === null ? null : Buffer.from(response).toString('base64'),
            });
          updateHandler
            .handle(new Uint8Array(Buffer.from(msg.query, 'base64')), msg.address)
            .then(answer, (err) => {
              log.error(`dns update from ${msg.address} failed: ${describeError(err)}`);
              answer(null);
            });
          break;
        }
        case 'switchboard:fatal':
          log.error(`DNS worker ${slot} cannot serve: ${msg.message}`);
          // Before the platform is up a failure is a configuration problem (an address that
          // cannot be bound) that a restart will not fix.
          if (!started) void stop(1);
          break;
      }
    };

    pool = new WorkerPool({
      count: config.workers,
      exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)),
      env: {
        [START_CONFIG_ENV]: encodeDnsWorkerConfig({
          ...config.dns,
          updates: true,
          udpIo: udpIo.io,
          ...(images ? { packDir: images.packDir } : {}),
        }),
      },
      onMessage: (slot, msg) => {
        if (isStartWorkerMessage(msg)) onWorkerMessage(slot, msg);
      },
      onExit: (slot, code, signal, restartInMs) => {
        synced.delete(slot);
        greetWhenRead.delete(slot);
        broadcaster.gone(slot);
        notifyOut.gone(slot);
        images?.shipper.gone(slot);
        ready.delete(slot);
        // Its last report's counters move into the slot's base: totals never go backwards.
        metrics.dns.workerExited(slot);
        const how = signal ? `signal ${signal}` : `code ${code}`;
        if (restartInMs !== null && !started) {
          log.error(`DNS worker ${slot} exited before serving (${how})`);
          void stop(1);
        } else if (restartInMs !== null) {
          metrics.countWorkerRestart();
          log.warn(`DNS worker ${slot} exited (${how}); restarting in ${restartInMs} ms`);
        }
      },
    });

    if (io?.handleSignals !== false) {
      handleStopSignals(log, () => stopping, stop);
      // SIGHUP's default action would kill the platform; zones update live here anyway.
      process.on('SIGHUP', () => log.info('SIGHUP ignored: zones are served from the store and update live'));
    }
    dropEarly();
    if (io?.stopSignal) {
      if (io.stopSignal.aborted) void stop(0);
      else io.stopSignal.addEventListener('abort', () => void stop(0), { once: true });
    }
    pool.start();
  });
}

/**
 * SWITCHBOARD_STAGGER_CHARS: zone text size from which an update goes to one worker at a time
 * (default 1 MiB; `0` staggers every update, `never` none — for measuring the difference).
 */
function staggerCharsFrom(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.SWITCHBOARD_STAGGER_CHARS;
  if (v === undefined || v === '') return undefined;
  if (v === 'never') return Number.POSITIVE_INFINITY;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * A per-zone settings list of the control plane as a message for the DNS workers: read at
 * start and again after every change of its kind (any replica's, on the one zone-settings
 * channel: `onSettingsChange`, kind `shield` or `transfer`) or deletion of a zone, one read at a
 * time (a change during a read reads again), each new message handed to `broadcast`.
 * `what` names the list in the error line — never its content (the transfer list carries the
 * keys' secrets).
 */
function settingsFeed<M>(
  control: ControlPlane,
  log: { error(m: string): void },
  what: 'shield' | 'transfer',
  initial: M,
  readMessage: () => Promise<M>,
  broadcast: (m: M) => void,
): { current(): M; first: Promise<void>; close(): void } {
  let message = initial;
  let reading = false;
  let again = false;
  let closed = false;
  const read = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const next = await readMessage();
        if (closed) return;
        message = next;
        broadcast(message);
      } while (again && !closed);
    } catch (err) {
      if (!closed) log.error(`${what}: zone settings not read: ${describeError(err)}`);
    } finally {
      reading = false;
    }
  };
  // One channel for every zone setting: this list is read again when its kind changed.
  const offSettings = control.onSettingsChange((c) => {
    if (c.kinds.includes(what)) void read();
  });
  const offZones = control.onZoneChange((ev) => {
    if (ev.deleted) void read();
  });
  // The first read (done or failed, then logged): the workers are greeted after it.
  const first = read();
  return {
    current: () => message,
    first,
    close() {
      closed = true;
      offSettings();
      offZones();
    },
  };
}

/** The zones' own shield settings, for the DNS workers. */
function shieldZonesFeed(
  control: ControlPlane,
  log: { error(m: string): void },
  broadcast: (m: ShieldZonesMessage) => void,
): { current(): ShieldZonesMessage; first: Promise<void>; close(): void } {
  return settingsFeed<ShieldZonesMessage>(
    control,
    log,
    'shield',
    { type: 'switchboard:shield-zones', zones: [] },
    async () => ({
      type: 'switchboard:shield-zones',
      zones: (await control.shieldZones()).map((z) => ({ name: z.name, ...z.settings })),
    }),
    broadcast,
  );
}

/** The zones' transfer settings with their accounts' TSIG keys, for the DNS workers. */
function transferZonesFeed(
  control: ControlPlane,
  log: { error(m: string): void },
  broadcast: (m: TransferZonesMessage) => void,
): { current(): TransferZonesMessage; first: Promise<void>; close(): void } {
  return settingsFeed<TransferZonesMessage>(
    control,
    log,
    'transfer',
    { type: 'switchboard:transfer-zones', zones: [] },
    async () => ({
      type: 'switchboard:transfer-zones',
      zones: (await control.transferZones()).map((z) => ({ zone: z.name, ...z })),
    }),
    broadcast,
  );
}

/** The first retention pass runs this long after start, then every `PRUNE_EVERY_MS`. */
const PRUNE_FIRST_MS = 60_000;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Runs the retention policy off the request path (docs/CONTROL-PLANE.md, "Retention"): a pass
 * a minute after start, then hourly; each pass works in small transactions and yields between
 * them. A failure is logged and the next pass tries again. Returns the function that stops it.
 */
function schedulePruning(control: ControlPlane, log: Logger): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = () => {
    control
      .pruneHistory()
      .then((r) => {
        if (r.versions + r.audit + r.deletedZones > 0)
          log.info(
            `retention: removed ${r.versions} versions, ${r.audit} audit rows, ${r.deletedZones} deleted zones`,
          );
      })
      .catch((err) => {
        if (!stopped) log.warn(`retention: ${describeError(err)}`);
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(run, PRUNE_EVERY_MS).unref();
      });
  };
  timer = setTimeout(run, PRUNE_FIRST_MS).unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
