/**
 * The zone-work thread (offload.ts): answers each job message with its result, keeps the
 * content of big zones between changes. Runs nothing else.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { type ToWorker, ZoneWorkState } from './offload.js';

const state = new ZoneWorkState();
const port = parentPort;
if (port) {
  // One message at a time, in order: a job that stages (awaiting its store) finishes before
  // the next message touches the cache.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    queue = queue
      .then(() => state.handle(msg))
      .then((reply) => {
        if (reply) port.postMessage(reply);
      })
      .catch(() => {
        // handle() answers its own failures; nothing may stop the queue.
      });
  });
}
