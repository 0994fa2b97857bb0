/**
 * The entry of a big zone file's early compile thread (compile-pool.ts
 * `startEarlyCompileThread`: started by the CLI before the serve primary loads). Before it
 * loads the compiler (compile-thread.ts and its modules: ~0.1 s of CPU), it starts the file's
 * parse thread and reads the file into that thread's octets (src/zone/parse-early.ts
 * `prestartParse`), so that the parse thread's own start — a new isolate, the parser's modules —
 * runs on the other core meanwhile instead of after it; the preload (compile-thread.ts) then
 * takes that thread where it would have read the file. `SWITCHBOARD_PARSE_PRESTART=off`: the
 * thread reads the file and starts its parse thread after its modules are loaded (A/B runs).
 * @module
 */
import { workerData } from 'node:worker_threads';
import { traceStart } from '../../telemetry/start-trace.js';
import { prestartParse } from '../../zone/parse-early.js';

const preload = (workerData as { preload?: unknown } | null)?.preload;
if (typeof preload === 'string' && process.env.SWITCHBOARD_PARSE_PRESTART !== 'off') {
  if (prestartParse(preload)) traceStart('compile', 'parse thread started, file read');
}
await import('./compile-thread.js');
