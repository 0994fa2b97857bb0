/**
 * `switchboard serve --workers 0`: everything in one process, no cluster (for debugging and
 * profiling). SIGHUP reloads, SIGTERM/SIGINT stop.
 * @module
 */

import { logKernelSettings } from '../shared/kernel.js';
import { chooseUdpIo, formatUdpIoLine } from '../shared/listeners.js';
import { createLogger, describeError, type Logger } from '../shared/log.js';
import { applyCookieSecrets, startCookieRotation } from '../shared/shield.js';
import type { ServeConfig } from './config.js';
import { type ServeMetrics, startServeMetrics } from './metrics.js';
import { formatReloadLine, formatStartLine, logZoneReport } from './report.js';
import { startServer } from './serve.js';
import { loadZoneFileForServer } from './zone-loader.js';

/** Serves from this process until SIGTERM or SIGINT; resolves with the exit code. */
export async function runSingleProcess(
  config: ServeConfig,
  io?: { log?: Logger; print?: (line: string) => void },
): Promise<number> {
  const log = io?.log ?? createLogger('main');
  const print = io?.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  let server: Awaited<ReturnType<typeof startServer>>;
  const udp = chooseUdpIo(config.io ?? 'auto', config.listen, false);
  log.info(formatUdpIoLine(udp));
  logKernelSettings(log, config.udpRecvBufferSize);
  config.udpIo = udp.io;
  if (config.images)
    log.info(
      '--images on: one process (--workers 0) loads its zones itself; images are shared between worker processes',
    );
  let served: ServeMetrics | undefined;
  try {
    served = await startServeMetrics(config, log);
    server = await startServer(config, { log, loader: loadZoneFileForServer });
  } catch (err) {
    log.error(describeError(err));
    await served?.close();
    return 1;
  }
  // `--metrics`: this process is the only "worker" (slot 0), its report read at each scrape.
  const report = server.metricsReport;
  if (served && report) served.metrics.beforeScrape = () => served.metrics.dns.update(0, 'single', report());
  logZoneReport(log, server.initialReport, 'load');
  const zones = server.zones();
  if (zones.length === 0) log.warn('no zone loaded: every query is answered REFUSED');
  print(formatStartLine(zones, config.listen, 0));
  // The shield's cookie secret, rotated on a schedule (here the one process takes each set).
  const cookies = startCookieRotation(config.shield, applyCookieSecrets, log);
  return new Promise<number>((resolve) => {
    let stopping = false;
    // The handler stays installed while stopping: SIGHUP's default action would kill us.
    const onHup = () => {
      if (stopping) return;
      log.info('SIGHUP: reloading zones');
      server.reload().then(
        (report) => {
          logZoneReport(log, report, 'reload');
          log.info(formatReloadLine(report, server.zones()));
        },
        (err) => log.error(`reload failed: ${describeError(err)}`),
      );
    };
    const onStop = (signal: string) => {
      if (stopping) process.exit(1);
      stopping = true;
      cookies?.close();
      log.info(`${signal}: stopping`);
      server
        .close()
        .then(() => served?.close())
        .then(
          () => resolve(0),
          () => resolve(0),
        );
    };
    process.on('SIGHUP', onHup);
    process.on('SIGTERM', () => onStop('SIGTERM'));
    process.on('SIGINT', () => onStop('SIGINT'));
  });
}
