/**
 * The helper thread of a split compile (compile-helper.ts): a `half` message rebuilds the
 * zone over the caller's shared columns and makes the later names' templates
 * (`compileHalf`), a `write` message puts them and those names' records into the image
 * (`writeHalf`); each answer is posted and the caller woken through the control words.
 * Never throws: a failure is posted as an error, and the caller's compile fails with it.
 * @module
 */

import { type MessagePort, workerData } from 'node:worker_threads';
import { ColumnZone } from '../zone/column-zone.js';
import { compileHalf, type HalfJob, type HalfWrite, writeHalf } from './compile.js';

const { ctl, port } = workerData as { ctl: Int32Array; port: MessagePort };

port.on('message', (msg: ({ kind: 'half' } & HalfJob) | ({ kind: 'write' } & HalfWrite)) => {
  try {
    if (msg.kind === 'half') {
      const zone = ColumnZone.fromShared(msg.zone);
      port.postMessage({ result: compileHalf(zone, msg.order, msg.from, msg.highNames, msg.answer, msg.fd) });
    } else {
      writeHalf(msg);
      port.postMessage({ result: true });
    }
  } catch (err) {
    port.postMessage({ error: (err as Error).message ?? String(err) });
  }
  Atomics.store(ctl, 1, 1);
  Atomics.notify(ctl, 1);
});
Atomics.store(ctl, 0, 1);
Atomics.notify(ctl, 0);
