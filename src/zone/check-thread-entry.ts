/**
 * The check thread's code (src/zone/check-thread.ts): `checkZone` over the ColumnZone it is
 * given as shared columns, the findings posted, then the done word set. Never throws: a fault
 * (a check that throws, out of memory) is a `fail` message, and the caller checks in its own
 * thread and meets it there.
 * @module
 */
import { workerData } from 'node:worker_threads';
import { checkZone } from './check.js';
import type { CheckThreadData, CheckThreadMessage } from './check-thread.js';
import { ColumnZone } from './column-zone.js';

const data = workerData as CheckThreadData;
const done = new Int32Array(data.done);
let m: CheckThreadMessage;
try {
  m = { t: 'done', findings: checkZone(ColumnZone.fromShared(data.zone)) };
} catch {
  m = { t: 'fail' };
}
try {
  data.port.postMessage(m);
} catch {
  data.port.postMessage({ t: 'fail' } satisfies CheckThreadMessage);
} finally {
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
  data.port.close();
}
