/**
 * What every worker process (of `serve` and of `start`) does the same way: its slot and
 * logger, messages to the primary, reporting a fatal start, and stopping on the pool's signal.
 * @module
 */
import { handlePoolSignals } from '../../transport/cluster.js';
import { createLogger, describeError, type Logger } from './log.js';

/** The plumbing of one worker process. */
export interface WorkerProcess {
  /** The worker's slot number given by the primary ('?' when unknown). */
  readonly slot: string;
  readonly log: Logger;
  /** True once a stop signal arrived. */
  readonly stopping: boolean;
  /** Sends a message to the primary while the IPC channel is up. */
  send(msg: object): void;
  /** Reports a failed start to the primary (`switchboard:fatal`) and exits once it is out. */
  fail(err: unknown, exitCode: number): void;
}

/**
 * Sets up the current process as a worker: logger `role slot`, exit 70 on an uncaught
 * exception, and on the pool's stop signal `close()` (when given) then exit 0.
 */
export function setupWorkerProcess(role: string, close: () => Promise<void> | undefined): WorkerProcess {
  const slot = process.env.SWITCHBOARD_WORKER_SLOT ?? '?';
  const log = createLogger(`${role} ${slot}`);
  let stopping = false;

  process.on('uncaughtException', (err) => {
    log.error(`uncaught exception: ${err.stack ?? describeError(err)}`);
    process.exit(70);
  });
  handlePoolSignals(() => {
    if (stopping) return;
    stopping = true;
    const done = () => process.exit(0);
    const closing = close();
    if (closing) closing.then(done, done);
    else done();
  });

  return {
    slot,
    log,
    get stopping() {
      return stopping;
    },
    send(msg: object): void {
      if (process.connected) process.send?.(msg);
    },
    fail(err: unknown, exitCode: number): void {
      const message = describeError(err);
      log.error(message);
      const code = (err as { code?: unknown } | null)?.code;
      const msg = { type: 'switchboard:fatal', message, code: typeof code === 'string' ? code : undefined };
      if (process.connected && process.send) process.send(msg, undefined, {}, () => process.exit(exitCode));
      else process.exit(exitCode);
    },
  };
}
