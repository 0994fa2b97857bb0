/**
 * The parse thread's code (src/zone/parse-thread.ts): `parseZone` over the text it is given,
 * each record written into chunks of octets (`ChunkEncoder`) posted to the caller as they
 * fill, then the parse's findings and record lines. Never throws: a fault of its own is a
 * `fail` message (the caller then parses in its own thread and meets it there).
 * @module
 */
import { workerData } from 'node:worker_threads';
import { Name } from '../wire/name.js';
import { ChunkEncoder, type ParseThreadData, type ParseThreadMessage } from './parse-thread.js';
import { parseZone } from './parser.js';

const { text, opts, port, signal } = workerData as ParseThreadData;
const counter = new Int32Array(signal);

function post(m: ParseThreadMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}

try {
  const { originWire, originText, fallbackWire, ...rest } = opts;
  const encoder = new ChunkEncoder(post);
  const parsed = parseZone(text, {
    ...rest,
    origin: originWire !== undefined ? Name.fromWire(originWire) : originText,
    fallbackOrigin: fallbackWire !== undefined ? Name.fromWire(fallbackWire) : undefined,
    sink: encoder.add,
  });
  encoder.flush();
  const lines = Int32Array.from(parsed.lines);
  const fileIndex = Int32Array.from(parsed.fileIndex);
  post(
    {
      t: 'done',
      origin: parsed.origin?.wire,
      class: parsed.class,
      errors: parsed.errors,
      warnings: parsed.warnings,
      files: parsed.files,
      lines,
      fileIndex,
    },
    [lines.buffer, fileIndex.buffer],
  );
} catch (err) {
  post({ t: 'fail', message: String((err as Error)?.message ?? err) });
} finally {
  port.close();
}
