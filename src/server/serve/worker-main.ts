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

/**
 * With `--cookie-rotate`: says hello and waits for the primary's secrets in force (its answer to
 * the hello), so that the sockets open with them; a worker restarted after a rotation answered
 * with its config's first secrets until the primary's message came after its ready.
 */
async function cookieSecretsFirst(config: ReturnType<typeof decodeServeConfig>): Promise<void> {
  const rotating =
    config.shield !== undefined && config.shield.mode !== 'off' && (config.shield.cookieRotateMs ?? 0) > 0;
  if (!rotating) return;
  await new Promise<void>((resolve) => {
    const onMessage = (msg: unknown): void => {
      if (!isCookieSecretsMessage(msg)) return;
      applyCookieSecrets(msg);
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    send({ type: 'switchboard:hello' });
  });
}

async function main(): Promise<void> {
  try {
    const config = decodeServeConfig(process.env[CONFIG_ENV]);
    await cookieSecretsFirst(config);
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
