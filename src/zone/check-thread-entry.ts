/**
 * The check thread's code (src/zone/check-thread.ts): `checkZone` over the ColumnZone it is
 * given as shared columns, the findings posted, then the done word set (check-thread-work.ts).
 * @module
 */
import { workerData } from 'node:worker_threads';
import type { CheckThreadData } from './check-thread.js';
import { checkForCaller } from './check-thread-work.js';

const data = workerData as CheckThreadData;
try {
  checkForCaller(data, data.port);
} finally {
  data.port.close();
}
