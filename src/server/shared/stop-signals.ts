/**
 * How a primary (`serve`, `start`, `edge`) stops on SIGTERM and SIGINT: the signal logged and
 * `stop(0)`; one more while it stops exits at once (code 1) — the operator wants out now.
 * @module
 */
import type { Logger } from './log.js';

/**
 * Installs the SIGTERM and SIGINT handlers. `stopping` says whether a stop is under way (set by
 * `stop` itself); the handlers stay for the life of the process.
 */
export function handleStopSignals(
  log: Pick<Logger, 'info' | 'warn'>,
  stopping: () => boolean,
  stop: (code: number) => Promise<unknown>,
): void {
  const onStop = (signal: 'SIGTERM' | 'SIGINT') => {
    if (stopping()) {
      log.warn(`${signal} again: exiting at once`);
      process.exit(1);
    }
    log.info(`${signal}: stopping`);
    void stop(0);
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));
}
