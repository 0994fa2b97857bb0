/**
 * The parse thread's code (src/zone/parse-thread.ts): `parseToChunks` over the text it is
 * given, the chunks written into the shared ring, the result posted (each message counted in
 * the ring's events: the caller waits on them). Never throws: a fault of its own is a `fail`
 * message (the caller then parses in its own thread and meets it there).
 * @module
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  type ChunkOut,
  GO,
  type ParseThreadData,
  type ParseThreadGo,
  type ParseThreadMessage,
  parseToChunks,
  Ring,
} from './parse-thread.js';

const data = workerData as ParseThreadData;
const { port, ring: sab } = data;
const ring = new Ring(sab);

/**
 * The text and the options: given, or (a thread started before the file was read) waited for:
 * the go word set, the options and the length in a message, the text made from the shared
 * octets. Undefined when the caller stopped the thread (or fell silent).
 */
function take(): { text: string; opts: ParseThreadGo['opts'] } | undefined {
  if (data.octets === undefined) return { text: data.text ?? '', opts: data.opts ?? {} };
  const ctrl = ring.ctrl;
  while (Atomics.load(ctrl, GO) === 0)
    if (Atomics.wait(ctrl, GO, 0, 600_000) === 'timed-out') return undefined;
  if (Atomics.load(ctrl, GO) < 0) return undefined;
  const got = receiveMessageOnPort(port);
  if (got === undefined) return undefined;
  const go = got.message as ParseThreadGo;
  return { text: Buffer.from(data.octets, 0, go.length).toString('latin1'), opts: go.opts };
}

function post(m: ParseThreadMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
  ring.event();
}

const out: ChunkOut = { next: () => ring.free(), send: (_b, used) => ring.written(used) };
try {
  const given = take();
  if (given !== undefined) parseToChunks(given.text, given.opts, out, post);
} catch (err) {
  post({ t: 'fail', message: String((err as Error)?.message ?? err) });
} finally {
  port.close();
}
