/**
 * (tidy25) One per-client TCP count for the connections C serves and those JS serves
 * (native/tcp_serve.h `sb_tcp_serve_js_open`): a client at `--tcp-max-per-client 4` opens 8
 * connections to `serve` — some whose first query C answers (C keeps them), some whose first query
 * it does not (a name outside the zones: handed to JS, which answers it and keeps the connection)
 * — and never has more than 4 answered and open at once, whatever the order; once it closes them,
 * it may open 4 again. Before, each side allowed 4: up to 8. The same with libuv accepting
 * (`SWITCHBOARD_TCP_LISTEN=libuv`, C still serving) and with JS serving every connection
 * (`SWITCHBOARD_TCP_C_ANSWERS=off`: JS's own count, the control).
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TCP_C_ANSWERS_ENV, TCP_LISTEN_ENV } from '../../src/transport/native-udp.js';
import { buildQuery, readHeader } from '../helpers/dns-client.js';
import { type Peer, startSwitchboard } from '../helpers/peers.js';
import { nativeShieldSkip, SHIELD_ZONE_WITH_BIG_TXT } from '../helpers/shield-zone.js';
import { askFrom } from '../helpers/tcp-client.js';

const skip = nativeShieldSkip();
const LIMIT = 4;
const A = 1;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One query for `name` from `from` on a connection of its own: whether it was answered within `ms`
 * (and the socket, left open). A connection refused is closed by the server unanswered at once
 * (its close ends the wait: `ms` bounds only a slow answer on a loaded machine). */
async function ask(port: number, from: string, id: number, name: string, ms: number) {
  const { s, answer } = await askFrom(port, from, buildQuery({ id, name, type: A }), ms);
  return { s, answered: answer !== undefined && readHeader(answer).id === id };
}

for (const mode of ['on', 'libuv', 'off'] as const) {
  const title =
    mode === 'on'
      ? 'C accepting and serving'
      : mode === 'libuv'
        ? `libuv accepting, C serving (${TCP_LISTEN_ENV}=libuv)`
        : `JS serving every connection (${TCP_C_ANSWERS_ENV}=off)`;
  describe(`one per-client TCP count: ${title}`, { skip, timeout: 120_000 }, () => {
    let dir: string;
    let peer: Peer | undefined;
    const net = mode === 'on' ? 120 : mode === 'libuv' ? 121 : 122;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sb-tcp-pc-'));
      writeFileSync(join(dir, 'example.zone'), SHIELD_ZONE_WITH_BIG_TXT);
      if (skip) return;
      peer = await startSwitchboard(dir, {
        workers: 0,
        io: 'native',
        args: ['--shield', 'on', '--native-answers', 'on', '--tcp-max-per-client', String(LIMIT)],
        env:
          mode === 'off'
            ? { [TCP_C_ANSWERS_ENV]: 'off' }
            : mode === 'libuv'
              ? { [TCP_LISTEN_ENV]: 'libuv' }
              : {},
      });
    });
    after(async () => {
      await peer?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    // JS: a name outside the zones (REFUSED by JS after C hands the connection over); C: a name C answers.
    const ORDERS: [string, string[]][] = [
      ['4 handed to JS, then 4 C keeps', ['js', 'js', 'js', 'js', 'c', 'c', 'c', 'c']],
      ['4 C keeps, then 4 handed to JS', ['c', 'c', 'c', 'c', 'js', 'js', 'js', 'js']],
      ['alternating', ['js', 'c', 'js', 'c', 'js', 'c', 'js', 'c']],
    ];
    ORDERS.forEach(([what, order], round) => {
      test(`${what}: ${LIMIT} answered and open, the other ${order.length - LIMIT} refused; ${LIMIT} again after closing`, async () => {
        const p = peer as Peer;
        const from = `127.0.${net}.${10 + round}`;
        // `n` connections in the round's order, each answered before the next opens (C's hand-over
        // done, JS's count in): the sockets (left open) and whether each was answered.
        const askInOrder = async (firstId: number, n: number) => {
          const socks: Socket[] = [];
          const answered: boolean[] = [];
          for (let i = 0; i < n; i++) {
            const name = order[i] === 'js' ? 'www.elsewhere.' : 'www.example.';
            const r = await ask(p.port, from, firstId + i, name, 5000);
            socks.push(r.s);
            answered.push(r.answered);
          }
          return { socks, answered };
        };
        const { socks, answered: results } = await askInOrder(100, order.length);
        const open = socks.filter((s, i) => results[i] && !s.destroyed && s.readyState === 'open').length;
        assert.equal(results.filter(Boolean).length, LIMIT, `answered: ${results.map(Number).join('')}`);
        assert.equal(open, LIMIT, 'the answered ones still open');
        assert.deepEqual(results.slice(0, LIMIT), [true, true, true, true], 'the first four are answered');
        for (const s of socks) s.destroy();
        // Closed: their counts go (C's and JS's), and the client may open LIMIT again.
        await settle(300);
        const { socks: socks2, answered: again } = await askInOrder(200, LIMIT);
        for (const s of socks2) s.destroy();
        assert.deepEqual(again, [true, true, true, true], 'room again after closing');
      });
    });
  });
}
