/**
 * The parse thread's code (src/zone/parse-thread.ts): `parseToChunks` over the text it is
 * given, the chunks written into the shared ring, the result posted (each message counted in
 * the ring's events: the caller waits on them). Never throws: a fault of its own is a `fail`
 * message (the caller then parses in its own thread and meets it there). After a parse it
 * waits on the ring's `NEXT` word: the caller may hand it the zone it built to check
 * (`IdleParseThread`, check-thread-work.ts), or let it exit.
 * @module
 */
import { setPriority } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { CheckThreadMessage, CheckWork } from './check-thread.js';
import {
  type ChunkOut,
  GO,
  IDLE_MS,
  NEXT,
  type ParseThreadData,
  type ParseThreadGo,
  type ParseThreadMessage,
  parseToChunks,
  Ring,
} from './parse-thread.js';

/**
 * The nice value the checks run at (`SWITCHBOARD_CHECK_NICE=0..19`, 0: the thread's own
 * priority, the default: no gain was shown on a quiet machine — docs/PERFORMANCE.md "cold2s" and
 * "After session 16's merges"). The compile thread, the one they wait for, stays as it is.
 */
const CHECK_NICE = Number(process.env.SWITCHBOARD_CHECK_NICE ?? 0);

const data = workerData as ParseThreadData;
const { port, ring: sab } = data;
const ring = new Ring(sab);

/**
 * The text and the options: given, or (a thread started before the file was read) waited for:
 * the go word set, the options and the length in a message, the text made from the shared
 * octets. Undefined when the caller stopped the thread (or fell silent).
 */
function take(): { text: string; opts: ParseThreadGo['opts'] } | undefined {
  const octets = data.octets;
  const text = data.text;
  // The text is held by the parse only: this thread may live on after it (to check the zone),
  // and `workerData` must not keep the file's octets (or its string) alive that long.
  data.octets = undefined;
  data.text = undefined;
  if (octets === undefined) return { text: text ?? '', opts: data.opts ?? {} };
  const ctrl = ring.ctrl;
  while (Atomics.load(ctrl, GO) === 0)
    if (Atomics.wait(ctrl, GO, 0, 600_000) === 'timed-out') return undefined;
  if (Atomics.load(ctrl, GO) < 0) return undefined;
  const got = receiveMessageOnPort(port);
  if (got === undefined) return undefined;
  const go = got.message as ParseThreadGo;
  return { text: Buffer.from(octets, 0, go.length).toString('latin1'), opts: go.opts };
}

function post(m: ParseThreadMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
  ring.event();
}

/** One full collection (gc exposed for it; nothing if the runtime refuses). */
function collectGarbage(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // no collection: the checks run beside the parse's garbage
  }
}

/** The zone's checks once the caller asks (`NEXT` set to 1 and the work posted), or nothing. */
async function checkIfAsked(): Promise<void> {
  const ctrl = ring.ctrl;
  while (Atomics.load(ctrl, NEXT) === 0) if (Atomics.wait(ctrl, NEXT, 0, IDLE_MS) === 'timed-out') return;
  if (Atomics.load(ctrl, NEXT) !== 1) return;
  const got = receiveMessageOnPort(port);
  if (got === undefined) return;
  const work = got.message as CheckWork;
  try {
    // The checks run beside the compile (and the workers' start) with time to spare: they
    // leave it the core (Linux: the nice value of this thread alone; the thread ends after
    // the checks, so it is never raised again). 5, not more: on a machine loaded by others,
    // checks at nice 10 ended 150-270 ms after the compile and became the wait
    // (docs/PERFORMANCE.md "cold2s").
    if (Number.isInteger(CHECK_NICE) && CHECK_NICE > 0 && CHECK_NICE < 20) {
      try {
        setPriority(0, CHECK_NICE);
      } catch {
        // not permitted here: the checks run at the thread's priority
      }
    }
    // The parse's text (a big zone's: tens of MB) and garbage go before the checks: this
    // thread now lives beside the compile, at the start's peak of memory.
    collectGarbage();
    // Loaded only when asked: a parse that is not followed by checks does not pay for them.
    const { checkForCaller } = await import('./check-thread-work.js');
    checkForCaller(work, port);
  } catch {
    // The checks' code could not be loaded: the caller is told at once (it checks itself).
    port.postMessage({ t: 'fail' } satisfies CheckThreadMessage);
    const done = new Int32Array(work.done);
    Atomics.store(done, 0, 1);
    Atomics.notify(done, 0);
  }
}

const out: ChunkOut = { next: () => ring.free(), send: (_b, used) => ring.written(used) };
let parsed = false;
try {
  const given = take();
  if (given !== undefined) {
    parseToChunks(given.text, given.opts, out, post);
    parsed = true;
  }
} catch (err) {
  post({ t: 'fail', message: String((err as Error)?.message ?? err) });
}
try {
  if (parsed) await checkIfAsked();
} catch {
  // the caller sees the thread's silence (or its exit) and checks in its own thread
} finally {
  port.close();
}
