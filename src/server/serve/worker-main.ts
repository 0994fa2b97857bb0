/**
 * Entry point of a worker process (forked by the primary of `switchboard serve`): serves the
 * zone folder on the shared sockets, reloads on request, and reports to the primary.
 * @module
 */

import { randomUUID } from 'node:crypto';
import { METRICS_INTERVAL_MS } from '../shared/dns-protocol.js';
import { describeError } from '../shared/log.js';
import { applyCookieSecrets, isCookieSecretsMessage } from '../shared/shield.js';
import { setupWorkerProcess } from '../shared/worker-process.js';
import { CONFIG_ENV, decodeServeConfig } from './config.js';
import { isReloadRequest, type WorkerMessage } from './protocol.js';
import { type RunningServer, startServer } from './serve.js';
import { loadZoneFileForServer } from './zone-loader.js';

let server: RunningServer | undefined;
const worker = setupWorkerProcess('worker', () => server?.close());
const { log, fail } = worker;

function send(msg: WorkerMessage): void {
  worker.send(msg);
}

async function main(): Promise<void> {
  try {
    const config = decodeServeConfig(process.env[CONFIG_ENV]);
    server = await startServer(config, { log, loader: loadZoneFileForServer });
  } catch (err) {
    // sysexits EX_CONFIG: the primary treats a failed start as fatal.
    fail(err, 78);
    return;
  }
  const running = server;
  if (worker.stopping) {
    await running.close();
    process.exit(0);
  }
  send({ type: 'switchboard:ready', zones: running.zones(), report: running.initialReport });
  // `--metrics`: the counters to the primary once a second (as `start`'s workers do).
  const report = running.metricsReport;
  if (report) {
    const incarnation = randomUUID();
    const sendMetrics = () => send({ type: 'switchboard:metrics', incarnation, ...report() });
    sendMetrics();
    setInterval(sendMetrics, METRICS_INTERVAL_MS).unref();
  }

  process.on('message', (msg: unknown) => {
    if (isCookieSecretsMessage(msg)) applyCookieSecrets(msg);
    if (!isReloadRequest(msg)) return;
    running.reload().then(
      (report) => send({ type: 'switchboard:reloaded', gen: msg.gen, zones: running.zones(), report }),
      (err) =>
        send({
          type: 'switchboard:reloaded',
          gen: msg.gen,
          zones: running.zones(),
          report: { files: [], removed: [], dirError: describeError(err) },
        }),
    );
  });
}

await main();
