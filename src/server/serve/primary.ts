/**
 * The primary process of `switchboard serve`: forks one worker per core (they share the
 * listening sockets), prints the start line once every worker serves, restarts dead workers
 * with backoff, reloads on SIGHUP one worker at a time, and stops on SIGTERM/SIGINT.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { WorkerPool } from '../../transport/cluster.js';
import { logKernelSettings } from '../shared/kernel.js';
import { chooseUdpIo, formatUdpIoLine } from '../shared/listeners.js';
import { createLogger, describeError, type Logger } from '../shared/log.js';
import { startCookieRotation } from '../shared/shield.js';
import { handleStopSignals } from '../shared/stop-signals.js';
import { CONFIG_ENV, encodeServeConfig, type ServeConfig } from './config.js';
import { runImagePrimary } from './image-primary.js';
import { type ServeMetrics, startServeMetrics } from './metrics.js';
import { isWorkerMessage, type ReloadedMessage, type WorkerMessage } from './protocol.js';
import { formatReloadLine, formatStartLine, logZoneReport } from './report.js';

/** A worker that has not answered a reload request in this long is skipped (ms). */
const RELOAD_TIMEOUT_MS = 10 * 60 * 1000;

/** How the primary reports (tests may capture it). */
export interface PrimaryIo {
  log: Logger;
  /** Prints the start line (default: stdout). */
  print: (line: string) => void;
}

/**
 * Runs the worker pool until SIGTERM or SIGINT. Resolves with the process exit code: 0 after
 * a clean stop, 1 when the workers could not start (bad address, unreadable zone folder).
 */
export function runPrimary(config: ServeConfig, io?: Partial<PrimaryIo>): Promise<number> {
  // --images on: the primary compiles every zone once; the workers serve the shared images.
  if (config.images) return runImagePrimary(config, io);
  const log = io?.log ?? createLogger('primary');
  // `--metrics ADDR:PORT`: bound before the workers start; a bind failure is fatal.
  if (config.metrics !== undefined)
    return startServeMetrics(config, log).then(
      (served) => runPool(config, log, io, served),
      (err: unknown) => {
        log.error(describeError(err));
        return 1;
      },
    );
  return runPool(config, log, io, undefined);
}

function runPool(
  config: ServeConfig,
  log: Logger,
  io: Partial<PrimaryIo> | undefined,
  served: ServeMetrics | undefined,
): Promise<number> {
  const print = io?.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const count = config.workers;
  // Decided once here (one log line), handed to every worker in its config.
  const udp = chooseUdpIo(config.io ?? 'auto', config.listen, true);
  log.info(formatUdpIoLine(udp));
  logKernelSettings(log, config.udpRecvBufferSize);
  config.udpIo = udp.io;
  const ready = new Set<number>();
  let started = false;
  let stopping = false;
  let reportedInitial = false;
  // Reload bookkeeping: the current generation and who we are waiting for.
  let gen = 0;
  let waiter: { slot: number; gen: number; resolve: (m: ReloadedMessage | null) => void } | null = null;

  return new Promise<number>((resolveExit) => {
    const pool = new WorkerPool({
      count,
      exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)),
      env: { [CONFIG_ENV]: encodeServeConfig(config) },
      onMessage: (slot, msg) => {
        if (isWorkerMessage(msg)) onWorkerMessage(slot, msg);
      },
      onExit: (slot, code, signal, restartInMs) => {
        ready.delete(slot);
        served?.metrics.dns.workerExited(slot);
        if (restartInMs !== null && started) served?.metrics.countWorkerRestart();
        if (waiter?.slot === slot) waiter.resolve(null);
        if (restartInMs !== null && !started) {
          // Dying before serving at all is a start-up failure, not a crash to retry forever.
          log.error(`worker ${slot} exited before serving (${signal ? `signal ${signal}` : `code ${code}`})`);
          void stop(1);
        } else if (restartInMs !== null)
          log.warn(
            `worker ${slot} exited (${signal ? `signal ${signal}` : `code ${code}`}); restarting in ${restartInMs} ms`,
          );
      },
    });

    const onWorkerMessage = (slot: number, msg: WorkerMessage) => {
      switch (msg.type) {
        case 'switchboard:hello':
          // The cookie secrets in force, before the worker opens its sockets (its config holds
          // the first ones: a worker restarted after a rotation would answer with them).
          if (cookies) pool.send(slot, cookies.current());
          break;
        case 'switchboard:ready':
          ready.add(slot);
          // (Again: a worker that did not say hello — no rotation — or a set that changed since.)
          if (cookies) pool.send(slot, cookies.current());
          if (!reportedInitial) {
            // Every worker reads the same folder: log its findings once.
            reportedInitial = true;
            logZoneReport(log, msg.report, 'load');
            if (msg.zones.length === 0) log.warn('no zone loaded: every query is answered REFUSED');
          } else if (started) {
            log.info(`worker ${slot} restarted, serving ${msg.zones.length} zones`);
            if (msg.report.files.some((f) => f.status !== 'loaded')) logZoneReport(log, msg.report, 'load');
          }
          if (!started && ready.size === count) {
            started = true;
            print(formatStartLine(msg.zones, config.listen, count));
            if (hupBeforeStart) void reloadAll();
          }
          break;
        case 'switchboard:metrics':
          served?.metrics.dns.update(slot, msg.incarnation, msg);
          break;
        case 'switchboard:reloaded':
          if (waiter && waiter.slot === slot && waiter.gen === msg.gen) waiter.resolve(msg);
          break;
        case 'switchboard:fatal':
          log.error(`worker ${slot} cannot serve: ${msg.message}`);
          // Before the first start line a failure is a configuration problem that a
          // restart will not fix: give up instead of restarting forever.
          if (!started) void stop(1);
          break;
      }
    };

    const askReload = (slot: number, g: number): Promise<ReloadedMessage | null> =>
      new Promise((resolve) => {
        const timer = setTimeout(() => finish(null), RELOAD_TIMEOUT_MS);
        const finish = (m: ReloadedMessage | null) => {
          clearTimeout(timer);
          waiter = null;
          resolve(m);
        };
        waiter = { slot, gen: g, resolve: finish };
        if (!pool.send(slot, { type: 'switchboard:reload', gen: g })) finish(null);
      });

    // SIGHUP: one reload at a time; signals arriving meanwhile collapse into one more pass.
    let reloading = false;
    let again = false;
    const reloadAll = async () => {
      if (reloading) {
        again = true;
        return;
      }
      reloading = true;
      try {
        do {
          again = false;
          const g = ++gen;
          log.info(`SIGHUP: reloading zones in ${pool.liveSlots().length} workers`);
          let first: ReloadedMessage | null = null;
          let done = 0;
          // One worker at a time: while one re-reads the folder the others keep draining
          // the shared sockets, so no query waits on a reload.
          for (const slot of pool.liveSlots()) {
            if (stopping) return;
            const reply = await askReload(slot, g);
            if (!reply) continue;
            done++;
            if (!first) {
              // Every worker reads the same folder: log the findings once.
              first = reply;
              logZoneReport(log, reply.report, 'reload');
            }
          }
          if (first) log.info(`${formatReloadLine(first.report, first.zones)} (${done} workers reloaded)`);
          else log.error('reload: no worker answered');
        } while (again && !stopping);
      } finally {
        reloading = false;
      }
    };

    const stop = async (code: number) => {
      if (stopping) return;
      stopping = true;
      waiter?.resolve(null);
      cookies?.close();
      await pool.stop();
      await served?.close();
      resolveExit(code);
    };
    // A SIGHUP before every worker is up is kept for when they are: the folder may have
    // changed after some of them read it.
    let hupBeforeStart = false;
    // The handler stays installed while stopping: SIGHUP's default action would kill us.
    const onHup = () => {
      if (stopping) return;
      if (started) void reloadAll();
      else hupBeforeStart = true;
    };
    process.on('SIGHUP', onHup);
    handleStopSignals(log, () => stopping, stop);
    // The shield's cookie secret, rotated here and handed to every worker at once (docs/SHIELD.md).
    const cookies = startCookieRotation(
      config.shield,
      (m) => {
        for (const slot of pool.liveSlots()) pool.send(slot, m);
      },
      log,
    );
    pool.start();
  });
}
