/**
 * A DNS worker's side of dynamic update (`start`): an UPDATE (opcode 5) is not answered here
 * but relayed, as received, to the primary, whose control plane owns the zones
 * (src/xfr/update.ts); its answer comes back by IPC and goes to the client through the
 * transport's deferred reply (TransportContext.defer: the same socket, address and port;
 * over TCP the connection answers nothing else meanwhile).
 *
 * Bounded: at most MAX_PENDING relayed updates per worker (more: REFUSED at once), each
 * forgotten after PENDING_TIMEOUT_MS (the client retries, as after a lost datagram).
 * @module
 */
import type { DeferredReply, TransportContext } from '../../transport/handler.js';
import { Flag, Opcode, Rcode } from '../../wire/constants.js';
import type { DnsUpdateAnswerMessage, DnsUpdateRelayMessage } from './dns-protocol.js';

export const MAX_PENDING = 256;
export const PENDING_TIMEOUT_MS = 15_000;

/** A header-only answer to `query` (ID and RD copied) with `rcode`. */
function headerOnly(query: Uint8Array, rcode: number): Uint8Array {
  const out = new Uint8Array(12);
  out[0] = query[0];
  out[1] = query[1];
  const flags = Flag.QR | (Opcode.UPDATE << 11) | (((query[2] << 8) | query[3]) & Flag.RD) | rcode;
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  return out;
}

/**
 * `switchboard edge`: an UPDATE request (RFC 2136) answered REFUSED (the edge holds copies; the
 * control plane takes updates); undefined for any other message.
 */
export function refuseUpdate(query: Uint8Array): Uint8Array | undefined {
  if (query.length < 12 || (query[2] & 0x80) !== 0 || ((query[2] >> 3) & 0xf) !== Opcode.UPDATE)
    return undefined;
  return headerOnly(query, Rcode.REFUSED);
}

export class UpdateRelay {
  readonly #send: (msg: DnsUpdateRelayMessage) => void;
  readonly #pending = new Map<number, { reply: DeferredReply; timer: NodeJS.Timeout }>();
  #next = 1;
  /** Relayed, refused for the bound, answered, timed out. */
  readonly stats = { relayed: 0, refused: 0, answered: 0, timedOut: 0 };

  constructor(send: (msg: DnsUpdateRelayMessage) => void) {
    this.#send = send;
  }

  /**
   * undefined: not an UPDATE request, or this transport cannot answer later (the Responder
   * then says NOTIMP); null: relayed, answered later; octets: refused now.
   */
  handle(query: Uint8Array, ctx: TransportContext): Uint8Array | null | undefined {
    if (query.length < 12 || (query[2] & 0x80) !== 0 || ((query[2] >> 3) & 0xf) !== Opcode.UPDATE)
      return undefined;
    if (ctx.defer === undefined) return undefined;
    if (this.#pending.size >= MAX_PENDING) {
      this.stats.refused++;
      return headerOnly(query, Rcode.REFUSED);
    }
    const reply = ctx.defer();
    if (reply === undefined) return undefined;
    const id = this.#next;
    this.#next = this.#next >= 0x7fffffff ? 1 : this.#next + 1;
    const timer = setTimeout(() => {
      if (this.#pending.delete(id)) {
        this.stats.timedOut++;
        reply(null);
      }
    }, PENDING_TIMEOUT_MS);
    timer.unref();
    this.#pending.set(id, { reply, timer });
    this.stats.relayed++;
    this.#send({
      type: 'switchboard:dns-update',
      id,
      query: Buffer.from(query.buffer, query.byteOffset, query.length).toString('base64'),
      address: ctx.address,
    });
    return null;
  }

  /** The primary's answer: sent to the client that asked. */
  answer(msg: DnsUpdateAnswerMessage): void {
    const p = this.#pending.get(msg.id);
    if (p === undefined) return;
    this.#pending.delete(msg.id);
    clearTimeout(p.timer);
    this.stats.answered++;
    p.reply(msg.response === null ? null : new Uint8Array(Buffer.from(msg.response, 'base64')));
  }
}
