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
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'decode') {
      void state.decode(msg).then((reply) => port.postMessage(reply));
      return;
    }
    const reply = state.handle(msg);
    if (reply) port.postMessage(reply);
  });
}
