/**
 * `switchboard edge` (docs/EDGE.md): a DNS-only node. Its primary process follows the control
 * plane's fleet catalog and every member zone (src/edge/follower.ts: SOA checks, NOTIFY, IXFR
 * with AXFR fallback, all signed with the edge key), keeps them in its state store
 * (src/edge/store.ts: one SQLite file, a transaction per write), compiles each changed zone into
 * an image (the compile threads of `serve` and `start`) and ships references to the DNS workers
 * of `start` (start/worker-main.js): the same engine, native answers and shield.
 *
 * At start the zones in the store are compiled and served before the primary is asked anything:
 * an edge whose primary is down serves its last good data. The workers answer NSID with the
 * POP, REFUSED to UPDATE, accept NOTIFY only from the primary's address signed with the edge
 * key (relayed here), and answer SERVFAIL for zones stale past `--max-stale`.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { EdgeFollower, type EdgeZoneChange, timerFloorsFromEnv } from '../../edge/follower.js';
import { EdgeJournal } from '../../edge/journal.js';
import { EdgeStore } from '../../edge/store.js';
import { EDGE_TRACE, traceLine } from '../../edge/trace.js';
import { WorkerPool } from '../../transport/cluster.js';
import { Name } from '../../wire/name.js';
import { NotifySender } from '../../xfr/notify.js';
import { OutboundPolicy } from '../../xfr/outbound.js';
import type { SecondaryZonesMessage } from '../../xfr/secondary/notify-in.js';
import { parseTsigKeySpec } from '../../xfr/tsig.js';
import { ixfrChanges } from '../shared/compile-patch.js';
import { CompilePool } from '../shared/compile-pool.js';
import { isStartWorkerMessage, type StartWorkerMessage, type ZonesMessage } from '../shared/dns-protocol.js';
import { encodeDnsWorkerConfig, START_CONFIG_ENV, servingSettingsOf } from '../shared/dns-worker-config.js';
import { ImageShipper } from '../shared/image-shipper.js';
import { collectGarbage, PackWriter } from '../shared/images.js';
import { chooseUdpIo, formatUdpIoLine } from '../shared/listeners.js';
import { createLogger, describeError, type Logger } from '../shared/log.js';
import { startCookieRotation } from '../shared/shield.js';
import { handleStopSignals } from '../shared/stop-signals.js';
import type { EdgeConfig } from './config.js';

/** Zones per snapshot message of the cold start. */
const SNAPSHOT_BATCH = 2000;

export interface EdgeIo {
  log: Logger;
  print: (line: string) => void;
}

/** Runs the edge until SIGTERM or SIGINT; resolves with the exit code. */
export async function runEdge(config: EdgeConfig, io?: Partial<EdgeIo>): Promise<number> {
  const log = io?.log ?? createLogger('edge');
  const print = io?.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  let udp: ReturnType<typeof chooseUdpIo>;
  try {
    udp = chooseUdpIo(config.io ?? 'auto', config.listen, true, true);
  } catch (err) {
    log.error(describeError(err));
    return 1;
  }
  log.info(formatUdpIoLine(udp));
  const key = parseTsigKeySpec(config.key);
  let store: EdgeStore;
  try {
    store = new EdgeStore(config.stateDir);
  } catch (err) {
    log.error(`--state ${config.stateDir}: ${describeError(err)}`);
    return 1;
  }

  const writer = new PackWriter();
  // One thread kept started when idle, as `start`'s: a change after a quiet spell does not wait
  // for a thread to start (docs/PERFORMANCE.md "fleet10", "xfrtidy").
  const compiler = new CompilePool({ warm: 1 });
  let pool: WorkerPool | undefined;
  // The last update message sent to the workers (NOTIFY to --notify waits until they applied it).
  let lastSeq = 0;
  const shipper = new ImageShipper(writer, {
    broadcast: (msg) => {
      lastSeq = Math.max(lastSeq, msg.seq);
      for (const slot of shipper.slots()) if (!pool?.send(slot, msg)) shipper.gone(slot);
    },
    snapshotFileZones: 1,
    // A zone whose IXFR difference cannot patch its image: its stored text, compiled whole.
    readZone: async (name) => {
      const z = store.zone(name);
      const text = store.text(name);
      return z === undefined || text === undefined ? null : { version: z.version, serial: z.serial, text };
    },
    log,
  });
  let seq = 0;
  /** `SWITCHBOARD_IMAGE_PATCHES=off`: every change compiled from the zone's text (for comparison). */
  const patches = process.env.SWITCHBOARD_IMAGE_PATCHES !== 'off';
  const message = (kind: 'snapshot' | 'update', zones: EdgeZoneChange[], last: boolean): ZonesMessage => ({
    type: 'switchboard:zones',
    kind,
    seq: ++seq,
    last,
    // A zone changed by IXFR: its image patched by the difference (compile-patch.ts), its text
    // compiled only when the patch cannot be applied (`readZone`).
    zones: zones.map((z) => ({
      name: z.name,
      version: z.version,
      serial: z.serial,
      text: z.text,
      ...(z.steps && z.from !== undefined && z.text !== null && patches
        ? { patch: { from: z.from, changes: ixfrChanges(z.steps) } }
        : {}),
    })),
  });

  // The stored zones, compiled and served first: no question to the primary before.
  const compiling = performance.now();
  compiler.prestart();
  const rows = store.zones().filter((z) => z.name !== config.catalog);
  for (let i = 0; i < rows.length || i === 0; i += SNAPSHOT_BATCH) {
    const batch = rows.slice(i, i + SNAPSHOT_BATCH).map((r) => ({
      name: r.name,
      version: r.version,
      serial: r.serial,
      text: store.text(r.name) ?? '',
    }));
    shipper.ship(message('snapshot', batch, i + SNAPSHOT_BATCH >= rows.length), compiler);
  }
  await shipper.shipped();
  void compiler.shrink();
  collectGarbage();
  log.info(
    `state ${store.path}: ${shipper.size} zones compiled in ${Math.round(performance.now() - compiling)} ms (${rows.length - shipper.size} failed)`,
  );

  // What the workers need to check NOTIFY (from the primary, signed with the edge key) and
  // which zones are stale (SERVFAIL).
  let stale: string[] = [];
  // EDNS EXPIRE counts from the last contact: the stored catalog's last success to begin with.
  let contactAt = store.zone(config.catalog)?.lastSuccess ?? 0;
  let contactSent = 0;
  const secondaryMessage = (): SecondaryZonesMessage => ({
    type: 'switchboard:secondary-zones',
    zones: [],
    expired: stale,
    contactAt,
    anyZone: {
      zone: '.',
      masters: [config.primary.address],
      key: {
        name: key.name.toString(),
        algorithm: key.algorithm,
        secret: Buffer.from(key.secret).toString('base64'),
      },
    },
  });

  // Where `start` may NOTIFY this edge: the first listen address, unless it is a wildcard.
  const first = config.listen[0];
  const notifyAddress =
    first && first.host !== '0.0.0.0' && first.host !== '::'
      ? first.host.includes(':')
        ? `[${first.host}]:${first.port}`
        : `${first.host}:${first.port}`
      : undefined;
  const sendSecondary = () => {
    contactSent = contactAt;
    const m = secondaryMessage();
    for (const slot of pool?.liveSlots() ?? []) pool?.send(slot, m);
  };

  // An edge as a primary of further secondaries (docs/EDGE.md "An edge as a primary"): the
  // workers answer AXFR/IXFR to --transfer-key / --allow-axfr-from (serve's checks); IXFR from
  // the journal of the differences the follower applied; NOTIFY to --notify once every worker
  // serves the new version, signed with the first --transfer-key.
  const journal = config.transfers
    ? new EdgeJournal((m) => {
        for (const slot of pool?.liveSlots() ?? []) pool?.send(slot, m);
      })
    : undefined;
  if (journal) {
    // The journal kept in the store (written with each difference): IXFR from before a restart.
    let n = 0;
    for (const [zone, entry] of store.journal()) if (journal.load(zone, entry)) n++;
    if (n > 0) log.info(`IXFR journal: ${n} differences of ${journal.journal.size} zones from the store`);
  }
  const notifyKey = config.transfers?.keys[0] ? parseTsigKeySpec(config.transfers.keys[0]) : undefined;
  const downstream =
    config.notify.length > 0
      ? new NotifySender({
          // The operator's own secondaries: every address given is allowed. Bounded: 1,000/s, at
          // most 1,000 waiting (a new edge's sync of 100,000 zones drops the rest, counted).
          policy: new OutboundPolicy(['0.0.0.0/0', '::/0']),
          accountRate: 1000,
          platformRate: 1000,
          onDone: (e) => {
            if (e.outcome !== 'acked')
              log.warn(
                `NOTIFY ${e.zone} serial ${e.serial} to ${e.target}: ${e.outcome} (${e.reason ?? ''})`,
              );
          },
        })
      : undefined;
  const notifyDownstream = (changes: EdgeZoneChange[]) => {
    const sender = downstream;
    if (!sender) return;
    const served = changes.filter((c) => c.text !== null);
    if (served.length === 0) return;
    void shipper
      .shipped()
      .then(() => shipper.applied(lastSeq))
      .then(() => {
        for (const c of served) {
          const now = shipper.get(c.name);
          if (now === undefined || now.version !== c.version) continue; // a newer one follows
          sender.notify({
            zone: Name.parse(c.name),
            serial: c.serial,
            account: 'downstream',
            targets: config.notify,
            ...(notifyKey ? { key: notifyKey } : {}),
          });
        }
      })
      .catch((err) => log.warn(`NOTIFY to --notify not sent: ${describeError(err)}`));
  };

  const follower = new EdgeFollower({
    store,
    // IXFR'd zones patched by their difference (message() above): their text not read per change.
    diffsOnly: patches,
    primary: config.primary,
    key,
    catalog: Name.parse(config.catalog),
    maxStaleMs: config.maxStaleMs,
    floors: timerFloorsFromEnv(),
    ...(notifyAddress ? { notifyAddress } : {}),
    log,
    publish: (changes) => {
      // The journal first: a worker uses an entry only once it serves the entry's serial.
      for (const c of changes) journal?.changed(c.name, c.text === null ? undefined : c.steps);
      if (EDGE_TRACE) for (const c of changes) log.info(traceLine('edge-publish', c.name, c.serial));
      shipper.ship(message('update', changes, true), compiler);
      if (EDGE_TRACE)
        void shipper
          .shipped()
          .then(() => shipper.applied(lastSeq))
          .then(() => {
            for (const c of changes) log.info(traceLine('edge-applied', c.name, c.serial));
          });
      notifyDownstream(changes);
    },
    onStale: (zones) => {
      stale = zones;
      sendSecondary();
    },
    onContact: (at) => {
      contactAt = at;
      // At most once a second to the workers (EXPIRE is in seconds).
      if (at - contactSent >= 1000) sendSecondary();
    },
  });

  const ready = new Set<number>();
  let started = false;
  let stopping = false;
  let resolveExit: ((code: number) => void) | undefined;
  const exit = new Promise<number>((r) => {
    resolveExit = r;
  });
  const cookies = startCookieRotation(
    config.shield,
    (m) => {
      for (const slot of pool?.liveSlots() ?? []) pool?.send(slot, m);
    },
    log,
  );
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    follower.close();
    downstream?.close();
    cookies?.close();
    await shipper.shipped().catch(() => {});
    shipper.close();
    await pool?.stop();
    await compiler.close();
    writer.close();
    store.close();
    resolveExit?.(code);
  };

  const onWorkerMessage = (slot: number, msg: StartWorkerMessage) => {
    switch (msg.type) {
      case 'switchboard:hello':
        if (cookies) pool?.send(slot, cookies.current());
        pool?.send(slot, secondaryMessage());
        if (journal) pool?.send(slot, journal.current());
        for (const m of shipper.snapshot(slot)) pool?.send(slot, m);
        break;
      case 'switchboard:start-ready':
        ready.add(slot);
        shipper.started(slot);
        if (started) log.info(`DNS worker ${slot} restarted, serving ${msg.zones} zones`);
        else if (ready.size === config.workers) {
          started = true;
          print(
            `switchboard edge: POP ${config.pop}, ${shipper.size} zones from the store, DNS on ${config.listen
              .map((l) => (l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`))
              .join(
                ', ',
              )} (${config.workers} workers), following ${config.catalog} at ${config.primary.address}:${config.primary.port}`,
          );
          follower.start();
        }
        break;
      case 'switchboard:applied':
        for (const e of msg.errors) log.error(`DNS worker ${slot}: ${e}`);
        shipper.acked(slot, msg.seq);
        break;
      case 'switchboard:notify-in':
        // The worker checked the source address and the key; a zone not followed is ignored.
        follower.notify(msg.zone, msg.serial);
        break;
      case 'switchboard:fatal':
        log.error(`DNS worker ${slot} cannot serve: ${msg.message}`);
        if (!started) void stop(1);
        break;
      default:
        break;
    }
  };

  pool = new WorkerPool({
    count: config.workers,
    exec: fileURLToPath(new URL('../start/worker-main.js', import.meta.url)),
    env: {
      [START_CONFIG_ENV]: encodeDnsWorkerConfig({
        ...servingSettingsOf(config),
        udpIo: udp.io,
        packDir: writer.dir,
        refuseUpdates: true,
      }),
    },
    onMessage: (slot, msg) => {
      if (isStartWorkerMessage(msg)) onWorkerMessage(slot, msg);
    },
    onExit: (slot, code, signal, restartInMs) => {
      ready.delete(slot);
      shipper.gone(slot);
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (restartInMs !== null && !started) {
        log.error(`DNS worker ${slot} exited before serving (${how})`);
        void stop(1);
      } else if (restartInMs !== null)
        log.warn(`DNS worker ${slot} exited (${how}); restarting in ${restartInMs} ms`);
    },
  });
  pool.start();

  handleStopSignals(log, () => stopping, stop);
  return exit;
}
