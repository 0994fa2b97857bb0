/**
 * Entry point of a worker process (forked by the primary of `switchboard serve`): serves the
 * zone folder on the shared sockets, reloads on request, and reports to the primary.
 * @module
 */
import { handlePoolSignals } from '../transport/cluster.js';
import { CONFIG_ENV, decodeServeConfig } from './config.js';
import { createLogger, describeError } from './log.js';
import { isReloadRequest, type WorkerMessage } from './protocol.js';
import { type RunningServer, startServer } from './serve.js';
import { loadZoneFileForServer } from './zone-loader.js';

const slot = process.env.SWITCHBOARD_WORKER_SLOT ?? '?';
const log = createLogger(`worker ${slot}`);

function send(msg: WorkerMessage): void {
  if (process.connected) process.send?.(msg);
}

/** Reports a failed start to the primary and exits once the message is out. */
function fail(err: unknown, exitCode: number): void {
  const message = describeError(err);
  log.error(message);
  const code = (err as { code?: unknown } | null)?.code;
  const msg: WorkerMessage = {
    type: 'switchboard:fatal',
    message,
    code: typeof code === 'string' ? code : undefined,
  };
  if (process.connected && process.send) process.send(msg, undefined, {}, () => process.exit(exitCode));
  else process.exit(exitCode);
}

process.on('uncaughtException', (err) => {
  log.error(`uncaught exception: ${err.stack ?? describeError(err)}`);
  process.exit(70);
});

let server: RunningServer | undefined;
let stopping = false;
handlePoolSignals(() => {
  if (stopping) return;
  stopping = true;
  const done = () => process.exit(0);
  if (server) server.close().then(done, done);
  else done();
});

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
  if (stopping) {
    await running.close();
    process.exit(0);
  }
  send({ type: 'switchboard:ready', zones: running.zones(), report: running.initialReport });

  process.on('message', (msg: unknown) => {
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
