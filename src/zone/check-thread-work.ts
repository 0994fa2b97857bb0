/**
 * What a thread that checks a zone for its caller does (src/zone/check-thread.ts): `checkZone`
 * over the ColumnZone given as shared columns, the findings posted on `port`, then the done word
 * set. Run by the check thread (check-thread-entry.ts) and by a parse thread after its parse
 * (parse-thread-entry.ts). Never throws: a fault (a check that throws, out of memory) is a
 * `fail` message, and the caller checks in its own thread and meets it there.
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import { checkZone } from './check.js';
import type { CheckThreadMessage, CheckWork } from './check-thread.js';
import { ColumnZone } from './column-zone.js';

/** Checks `work.zone`, posts the outcome on `port`, sets `work.done`. */
export function checkForCaller(work: CheckWork, port: MessagePort): void {
  const done = new Int32Array(work.done);
  let m: CheckThreadMessage;
  try {
    m = { t: 'done', findings: checkZone(ColumnZone.fromShared(work.zone)) };
  } catch {
    m = { t: 'fail' };
  }
  try {
    port.postMessage(m);
  } catch {
    port.postMessage({ t: 'fail' } satisfies CheckThreadMessage);
  } finally {
    Atomics.store(done, 0, 1);
    Atomics.notify(done, 0);
  }
}
