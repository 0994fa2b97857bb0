/**
 * Entry point of a DNS worker of `switchboard start` (forked by its primary): says hello,
 * receives every zone from the primary, binds the shared sockets once the full set is loaded
 * (so a restarted worker never answers REFUSED for zones it has not received yet), then
 * applies each zone change as the primary sends it, swapping its Responder's Catalog.
 * @module
 */
import { Responder } from '../answer/respond.js';
import type { QueryHandler } from '../transport/handler.js';
import { createRateLimitedReporter } from './log.js';
import { type OpenListeners, openListeners } from './serve.js';
import { decodeDnsWorkerConfig, START_CONFIG_ENV } from './start-config.js';
import { isZonesMessage, type StartWorkerMessage, type ZonesMessage } from './start-protocol.js';
import { ServedZoneTable } from './start-zones.js';
import { setupWorkerProcess } from './worker-process.js';

let listeners: OpenListeners | undefined;
const worker = setupWorkerProcess('dns', () => listeners?.closeAll());
const { slot, log, fail } = worker;

function send(msg: StartWorkerMessage): void {
  worker.send(msg);
}

let config: ReturnType<typeof decodeDnsWorkerConfig>;
try {
  config = decodeDnsWorkerConfig(process.env[START_CONFIG_ENV]);
} catch (err) {
  // sysexits EX_CONFIG: the primary treats a failed start as fatal.
  fail(err, 78);
  throw err;
}

const table = new ServedZoneTable();
// `{worker}` in the NSID becomes this worker's slot: which worker answered, for debugging.
const nsid = config.nsid?.replaceAll('{worker}', slot);
const responder = new Responder(table.catalog(), {
  ednsSize: config.ednsSize,
  nsid: nsid !== undefined ? new Uint8Array(Buffer.from(nsid, 'utf8')) : undefined,
});
const handler: QueryHandler = (query, ctx) => responder.respond(query, ctx);
let snapshotStartedAt = 0;

async function bindAndReport(loadMs: number): Promise<void> {
  try {
    listeners = await openListeners(config, handler, createRateLimitedReporter(log));
  } catch (err) {
    fail(err, 78);
    return;
  }
  if (worker.stopping) {
    await listeners.closeAll();
    process.exit(0);
  }
  send({ type: 'switchboard:start-ready', zones: table.size, loadMs });
}

function onZones(msg: ZonesMessage): void {
  if (msg.kind === 'snapshot' && snapshotStartedAt === 0) snapshotStartedAt = performance.now();
  const result = table.apply(msg);
  // The swap is one assignment inside the Responder: a query sees the old Catalog or the new one.
  if (result.changed) responder.setCatalog(table.catalog());
  for (const e of result.errors) log.error(`zone not loaded, previous version kept: ${e}`);
  if (result.snapshotDone) {
    if (!listeners) void bindAndReport(Math.round(performance.now() - snapshotStartedAt));
  } else if (msg.kind === 'update')
    send({ type: 'switchboard:applied', seq: msg.seq, errors: result.errors });
}

process.on('message', (msg: unknown) => {
  if (isZonesMessage(msg)) onZones(msg);
});
send({ type: 'switchboard:hello' });
