/**
 * The parse thread's code (src/zone/parse-thread.ts): `parseToChunks` over the text it is
 * given, each message posted to the caller and the shared counter bumped (the caller waits
 * on it). Never throws: a fault of its own is a `fail` message (the caller then parses in
 * its own thread and meets it there).
 * @module
 */
import { workerData } from 'node:worker_threads';
import { type ParseThreadData, type ParseThreadMessage, parseToChunks } from './parse-thread.js';

const { text, opts, port, signal } = workerData as ParseThreadData;
const counter = new Int32Array(signal);

function post(m: ParseThreadMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}

try {
  parseToChunks(text, opts, post);
} catch (err) {
  post({ t: 'fail', message: String((err as Error)?.message ?? err) });
} finally {
  port.close();
}
