/**
 * Entry point of a DNS worker of `switchboard start` (forked by its primary): says hello,
 * receives every zone from the primary, binds the shared sockets once the full set is loaded
 * (so a restarted worker never answers REFUSED for zones it has not received yet), then
 * applies each zone change as the primary sends it, swapping its Responder's Catalog. Every
 * second it sends the primary its cumulative DNS counters (docs/METRICS.md).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Responder } from '../../answer/respond.js';
import { DnsCounters } from '../../telemetry/dns-counters.js';
import { traceOrigin, traceStart } from '../../telemetry/start-trace.js';
import type { QueryHandler, TransportContext } from '../../transport/handler.js';
import { nativeStatsOf, nativeTcpGate } from '../../transport/native-udp.js';
import {
  isSecondaryZonesMessage,
  SecondaryInbound,
  type SecondaryZonesMessage,
} from '../../xfr/secondary/notify-in.js';
// From shared/ directly: start/config.js would load start's whole option set (api/, control/).
import { decodeDnsWorkerConfig, START_CONFIG_ENV } from '../shared/dns-worker-config.js';
import { EdgeSightings } from '../shared/edge-sightings.js';
import { imageZoneLoader, type LoadCounters, openImageLimits, PackReader } from '../shared/images.js';
import { type OpenListeners, openListeners } from '../shared/listeners.js';
import { createRateLimitedReporter } from '../shared/log.js';
import { type NativeAnswers, startNativeAnswers } from '../shared/native-answers.js';
import { buildResponderOptions } from '../shared/options.js';
import {
  applyCookieSecrets,
  applyShieldZones,
  isCookieSecretsMessage,
  isShieldZonesMessage,
  shieldCounters,
  shieldSawTcp,
  startShield,
  withNodeShield,
} from '../shared/shield.js';
import { readSnapshotColumns, SNAPSHOT_FILE_NAME, SnapshotFileError } from '../shared/snapshot-file.js';
import {
  applyTransferJournal,
  applyTransferZones,
  isTransferJournalMessage,
  isTransferZonesMessage,
  startTransfers,
} from '../shared/transfers.js';
import { refuseUpdate, UpdateRelay } from '../shared/update-relay.js';
import { setupWorkerProcess } from '../shared/worker-process.js';
import { startWorkerTrace } from '../shared/worker-trace.js';
import {
  isDnsUpdateAnswerMessage,
  isZonesMessage,
  METRICS_INTERVAL_MS,
  type StartWorkerMessage,
  type ZonesMessage,
} from './protocol.js';
import { type ApplyResult, ServedZoneTable, type ZonePushLoader } from './zones.js';

let listeners: OpenListeners | undefined;
const worker = setupWorkerProcess('dns', () => listeners?.closeAll());
const { slot, log, fail } = worker;

function send(msg: StartWorkerMessage): void {
  worker.send(msg);
}

let config: ReturnType<typeof decodeDnsWorkerConfig>;
let openLimits: ReturnType<typeof openImageLimits>;
try {
  config = decodeDnsWorkerConfig(process.env[START_CONFIG_ENV]);
  openLimits = openImageLimits();
} catch (err) {
  // sysexits EX_CONFIG: the primary treats a failed start as fatal.
  fail(err, 78);
  throw err;
}

/** What this worker loaded: with `--images on`, images opened and no zone text parsed. */
const loads: LoadCounters = { textParses: 0, imageOpens: 0 };
/** With `--images on`: each pushed ref becomes a zone whose image opens on its first query. */
const images = config.packDir
  ? imageZoneLoader(new PackReader(config.packDir), loads, {
      ...openLimits,
      onError: (zone, err) =>
        log.error(
          `zone image of ${zone.origin} cannot be opened; its queries are answered SERVFAIL: ${err.message}`,
        ),
    })
  : undefined;
/** A snapshot whose images the primary made in this run (`ZonesMessage.trusted`) is being applied. */
let snapshotTrusted = false;
// `--images off`: this worker parses the zones it is sent; with images the zone parser and
// its loader are never loaded (~30 ms of CPU at each worker's start).
const parseTextPush = images ? undefined : (await import('./zone-text.js')).parseTextPush;
const load: ZonePushLoader = images
  ? // An image opened now (a big one) of a trusted snapshot: no CRC-32 of its octets.
    (push) => images.load(snapshotTrusted && push.ref ? { ...push, trusted: true } : push)
  : (push) => {
      loads.textParses++;
      return (parseTextPush as ZonePushLoader)(push);
    };
const table = new ServedZoneTable(load, images?.release, images?.deferred);
/** The load counters as of now (images opened so far included). */
function currentLoads(): LoadCounters {
  if (images) {
    loads.imagesOpened = images.pool.firstOpens;
    loads.crcChecked = images.pool.verifiedOpens;
  }
  return { ...loads };
}
// `{worker}` in the NSID and the identity becomes this worker's slot: which worker answered.
const responder = new Responder(table.catalog(), buildResponderOptions(config, slot));
const counters = new DnsCounters();
// Zone transfers and TSIG-signed queries (docs/TRANSFERS.md) before the Responder; each zone's
// transfer settings come from the primary (`switchboard:transfer-zones`).
// `start`: checks and transfers signed with an edge key, sent to the primary once a second (docs/EDGE.md).
// An edge not seen before (its NOTIFY address new here) is passed on at once, on the next turn.
let sightingsSoon = false;
const sightings =
  config.updates === true && config.transfers
    ? new EdgeSightings(() => {
        if (sightingsSoon) return;
        sightingsSoon = true;
        setImmediate(() => {
          sightingsSoon = false;
          const seen = sightings?.take();
          if (seen) send(seen);
        });
      })
    : undefined;
const transfers = startTransfers(
  config.transfers,
  () => responder.catalog,
  log,
  config.ednsSize,
  undefined,
  sightings,
);
// Secondary zones (docs/TRANSFERS.md "Secondary role"): NOTIFY from their masters, relayed to the
// primary; SERVFAIL for expired ones. Their list comes from the primary (`switchboard:secondary-zones`).
const secondaryIn = new SecondaryInbound(
  (m) => send(m),
  (text) => log.info(text),
);
// `start`: DNS UPDATEs go to the primary's control plane (docs/TRANSFERS.md "Dynamic update").
const updates = config.updates === true ? new UpdateRelay(send) : undefined;
// The counting wrapper reads the RCODE and TC bit from the response header: no decoding.
const handler: QueryHandler = counters.wrapHandler<TransportContext>(
  // --shield with --io node: the shield in front of the UDP queries (docs/SHIELD.md).
  withNodeShield(
    config,
    secondaryIn.wrap(
      transfers.service.wrap((query, ctx) => {
        // A query over TCP proves its source address (the shield's `tcp` tier).
        if (ctx.transport === 'tcp') shieldSawTcp(ctx.address);
        if (updates !== undefined) {
          const r = updates.handle(query, ctx);
          if (r !== undefined) return r;
        } else if (config.refuseUpdates === true) {
          const r = refuseUpdate(query);
          if (r !== undefined) return r;
        }
        return responder.respond(query, ctx);
      }),
    ),
    () => responder.catalog,
  ),
);
const incarnation = randomUUID();
let metricsTimer: NodeJS.Timeout | undefined;

function sendMetrics(): void {
  const report = counters.report({
    cache: () => responder.cacheStats(),
    tcp: () => listeners?.tcp.map((l) => l.stats) ?? [],
    tcpFirstFrame: () => nativeTcpGate()?.stats(),
    // Queries answered in C (--native-answers) are counted by the native sockets.
    nativeUdp: () => (listeners?.udp ?? []).flatMap((l) => nativeStatsOf(l) ?? []),
    zones: () => table.size,
    shield: shieldCounters,
    transfers: () => transfers.service.stats,
  });
  send({ type: 'switchboard:metrics', incarnation, ...report });
  const seen = sightings?.take();
  if (seen) send(seen);
}
let snapshotStartedAt = 0;
/** `--native-answers` (default with images on): the zones answered in C (undefined when off). */
let native: NativeAnswers | undefined;

async function bindAndReport(loadMs: number): Promise<void> {
  try {
    // The shield before the sockets: this worker's first datagram meets it (cookies, admission).
    startShield(config, log, () => responder.catalog);
    // The C answers too (the addon's image table is the process's, not a socket's): a datagram
    // read while the listeners of the other addresses and TCP were still opening was answered in
    // JS (the same octets, counted elsewhere; the shield's zone signals come from C).
    // A worker that parses its zones (`--images off`) compiles each for C on its first query.
    const compile = images ? undefined : (await import('../../image/compile.js')).compileZone;
    native = startNativeAnswers(config, log, compile);
    if (native) {
      native.hold(heldKeys());
      native.sync(responder.catalog);
      traceStart('worker', 'native answers synced');
    }
    listeners = await openListeners(
      config,
      handler,
      createRateLimitedReporter(log),
      transfers.service.streams,
    );
    traceStart('worker', 'listeners open');
    // Logged once the sockets are open (tests wait for it before querying).
    if (native)
      log.info(
        `native answers: ${native.stats().served} zones served in C (each image installed on its zone's first query)`,
      );
  } catch (err) {
    fail(err, 78);
    return;
  }
  if (worker.stopping) {
    await listeners.closeAll();
    process.exit(0);
  }
  traceStart('worker', 'listening, ready');
  send({
    type: 'switchboard:start-ready',
    zones: table.size,
    loadMs,
    loads: { ...currentLoads(), snapshotMs: loadMs, readyMs: Math.round(performance.now()) },
  });
  sendMetrics();
  metricsTimer ??= setInterval(sendMetrics, METRICS_INTERVAL_MS);
  metricsTimer.unref();
  // SWITCHBOARD_WORKER_TRACE=DIR (the drill's diagnosis): counters every 100 ms; nothing otherwise.
  startWorkerTrace({
    udp: () => (listeners?.udp ?? []).flatMap((l) => nativeStatsOf(l) ?? []),
    tcp: () => listeners?.tcp.map((l) => l.stats) ?? [],
  });
}

/** Zones of an update whose served version (or presence) differs after applying it. */
function countApplied(msg: ZonesMessage, before: (number | undefined)[], errors: string[]): number {
  let n = 0;
  msg.zones.forEach((z, i) => {
    // A re-created zone may come back at the version the worker held: its reset says it was taken.
    if (table.versionOf(z.name) !== before[i]) n++;
    else if (z.reset === true && !errors.some((e) => e.startsWith(`${z.name}: `))) n++;
  });
  return n;
}

/**
 * Applies a snapshot sent as a file of the pack folder (`--images on`), read in one call: its
 * columns become the table's base, each zone made on its first use (`ServedZoneTable.applySnapshotFile`),
 * then the zones the message itself carries.
 * @throws SnapshotFileError (or the read's error) when it cannot be read; then nothing of it
 *   was applied
 */
function applySnapshotFile(msg: ZonesMessage & { file: string }): ApplyResult {
  if (!config.packDir || !SNAPSHOT_FILE_NAME.test(msg.file))
    throw new SnapshotFileError(`unexpected snapshot file '${msg.file}'`);
  return table.applySnapshotFile(readSnapshotColumns(readFileSync(join(config.packDir, msg.file))), msg);
}

function onZones(received: ZonesMessage): void {
  if (received.kind === 'snapshot' && snapshotStartedAt === 0) {
    snapshotStartedAt = performance.now();
    traceStart('worker', 'snapshot received');
  }
  const msg = received;
  const before = msg.kind === 'update' ? msg.zones.map((z) => table.versionOf(z.name)) : [];
  let result: ApplyResult;
  snapshotTrusted = msg.kind === 'snapshot' && msg.trusted === true;
  try {
    if (msg.file !== undefined && msg.kind === 'snapshot') {
      try {
        result = applySnapshotFile({ ...msg, file: msg.file });
      } catch (err) {
        // Without its snapshot the worker cannot serve: it exits, and is restarted.
        fail(err, 70);
        return;
      }
    } else result = table.apply(msg);
  } finally {
    snapshotTrusted = false;
  }
  if (msg.kind === 'update' && result.changed)
    counters.countZoneUpdates(countApplied(msg, before, result.errors));
  // The swap is one assignment inside the Responder: a query sees the old Catalog or the new one.
  if (result.changed) {
    responder.setCatalog(table.catalog());
    native?.sync(responder.catalog);
  }
  for (const e of result.errors) log.error(`zone not loaded, previous version kept: ${e}`);
  if (result.snapshotDone) {
    traceStart('worker', 'snapshot applied');
    if (!listeners) void bindAndReport(Math.round(performance.now() - snapshotStartedAt));
  } else if (msg.kind === 'update')
    send({ type: 'switchboard:applied', seq: msg.seq, errors: result.errors, loads: currentLoads() });
}

/**
 * Zones JS answers alone: expired secondary zones (SERVFAIL) and catalog zones (REFUSED unless
 * the query may transfer them, docs/TRANSFERS.md "Catalog zones").
 */
function heldKeys(): Set<string> {
  const keys = secondaryIn.expiredKeys();
  for (const k of transfers.acl.catalogKeys()) keys.add(k);
  return keys;
}

/** The secondary zones' list: NOTIFY checks, and expired zones kept out of the C answers (JS says SERVFAIL). */
function applySecondaryZones(msg: SecondaryZonesMessage): void {
  secondaryIn.apply(msg);
  native?.hold(heldKeys());
}

process.on('message', (msg: unknown) => {
  if (isZonesMessage(msg)) onZones(msg);
  else if (isCookieSecretsMessage(msg)) applyCookieSecrets(msg);
  else if (isShieldZonesMessage(msg)) applyShieldZones(msg);
  else if (isTransferZonesMessage(msg)) {
    applyTransferZones(transfers.acl, msg, log);
    native?.hold(heldKeys());
  } else if (isSecondaryZonesMessage(msg)) applySecondaryZones(msg);
  else if (isDnsUpdateAnswerMessage(msg)) updates?.answer(msg);
  else if (isTransferJournalMessage(msg)) applyTransferJournal(transfers.journal, msg);
});
traceOrigin('worker');
traceStart('worker', 'modules loaded, hello');
send({ type: 'switchboard:hello' });
