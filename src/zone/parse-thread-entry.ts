/**
 * The parse thread's code (src/zone/parse-thread.ts): `parseToChunks` over the text it is
 * given, the chunks written into the shared ring, the result posted (each message counted in
 * the ring's events: the caller waits on them). Never throws: a fault of its own is a `fail`
 * message (the caller then parses in its own thread and meets it there).
 * @module
 */
import { workerData } from 'node:worker_threads';
import {
  type ChunkOut,
  type ParseThreadData,
  type ParseThreadMessage,
  parseToChunks,
  Ring,
} from './parse-thread.js';

const { text, opts, port, ring: sab } = workerData as ParseThreadData;
const ring = new Ring(sab);

function post(m: ParseThreadMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
  ring.event();
}

const out: ChunkOut = { next: () => ring.free(), send: (_b, used) => ring.written(used) };
try {
  parseToChunks(text, opts, out, post);
} catch (err) {
  post({ t: 'fail', message: String((err as Error)?.message ?? err) });
} finally {
  port.close();
}
