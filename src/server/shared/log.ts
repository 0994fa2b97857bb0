/**
 * The server's log: one line per event on stderr, `switchboard[ROLE]: LEVEL message`.
 * Nothing is logged per query; failures that could repeat per packet go through
 * `createRateLimitedReporter` so a flood of bad input cannot flood the log.
 * @module
 */

/** Log levels, most severe first. */
export type LogLevel = 'error' | 'warn' | 'info';

/** A minimal logger. */
export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
}

/** A logger writing `switchboard[role]: level message` lines to `write` (default: stderr). */
export function createLogger(role: string, write: (line: string) => void = writeStderr): Logger {
  const emit = (level: LogLevel, message: string) => write(`switchboard[${role}]: ${level}: ${message}\n`);
  return {
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
  };
}

function writeStderr(line: string): void {
  process.stderr.write(line);
}

/** The message of an unknown thrown value, with its stable code when it has one. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} [${code}]` : err.message;
  }
  return err === undefined ? '' : String(err);
}

/**
 * Reports at most one failure per `intervalMs` and counts the rest, so a handler failing on
 * every packet logs one line per interval with the number suppressed.
 */
export function createRateLimitedReporter(
  log: Logger,
  intervalMs = 10_000,
): (message: string, err: unknown) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (message, err) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      suppressed++;
      return;
    }
    const extra = suppressed > 0 ? ` (${suppressed} similar failures not logged)` : '';
    suppressed = 0;
    last = now;
    const detail = describeError(err);
    log.error(detail ? `${message}: ${detail}${extra}` : `${message}${extra}`);
  };
}
