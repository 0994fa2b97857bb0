/**
 * How a zone's errors and warnings are written in logs: `FILE:LINE: message`.
 * @module
 */

/** Formats one loader error or warning as `FILE:LINE: message` where a line is known. */
export function formatZoneProblem(path: string, problem: unknown): string {
  if (typeof problem === 'string') return problem.startsWith(path) ? problem : `${path}: ${problem}`;
  if (typeof problem === 'object' && problem !== null) {
    const p = problem as { message?: unknown; line?: unknown; file?: unknown; name?: unknown };
    const message = typeof p.message === 'string' ? p.message : String(problem);
    const file = typeof p.file === 'string' ? p.file : path;
    // A message that already names its file (ZoneParseError's does) is kept as it is.
    if (message.startsWith(file) || message.startsWith(path)) return message;
    if (typeof p.line === 'number' && p.line > 0) return `${file}:${p.line}: ${message}`;
    if (typeof p.name === 'string' && !(problem instanceof Error)) return `${file}: ${p.name}: ${message}`;
    return `${file}: ${message}`;
  }
  return `${path}: ${String(problem)}`;
}
