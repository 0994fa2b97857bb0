/**
 * The floor for any Node DNS server: a dgram responder that does no DNS work beyond finding
 * the end of the question. Its reply is the query's header and question with QR and AA set
 * and one fixed A record as the answer (the ID is copied). Benchmarks compare Switchboard's
 * CPU per query with this.
 *
 * Usage: node dist/bench/trivial-responder.js --listen 127.0.0.1:PORT [--max-seconds N]
 * Binds loopback only and exits by itself after --max-seconds (default 3600).
 * @module
 */
import { createSocket } from 'node:dgram';
import { numericLookup } from '../src/transport/udp.js';
import { assertLoopback } from '../test/helpers/dns-client.js';

/** The fixed answer: a pointer to the question name (RFC 1035 §4.1.4), A IN, TTL 60, 192.0.2.1. */
const ANSWER = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);

/** Builds the trivial reply to `query`, or null when it has no complete question. */
export function buildTrivialReply(query: Buffer): Buffer | null {
  if (query.length < 12 || (query[2] & 0x80) !== 0) return null;
  let i = 12;
  while (i < query.length && query[i] !== 0) {
    if (query[i] > 63) return null;
    i += query[i] + 1;
  }
  const end = i + 5; // root label + QTYPE + QCLASS
  if (end > query.length) return null;
  const out = Buffer.allocUnsafe(end + ANSWER.length);
  query.copy(out, 0, 0, end);
  out[2] = (query[2] | 0x84) & 0xfd; // QR and AA set, TC clear, opcode and RD kept
  out[3] = 0;
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 6);
  out.writeUInt32BE(0, 8);
  ANSWER.copy(out, end);
  return out;
}

function main(): void {
  const args = process.argv.slice(2);
  const get = (flag: string, dflt: string): string => {
    const i = args.indexOf(flag);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
  };
  const listen = get('--listen', '127.0.0.1:5399');
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(colon + 1));
  assertLoopback(host);
  const maxSeconds = Number(get('--max-seconds', '3600'));
  // The same numeric lookup as Switchboard's UDP listener, so this stays the ceiling of a
  // pure-Node server rather than a handicapped one.
  const family = host.includes(':') ? 6 : 4;
  const sock = createSocket({ type: family === 6 ? 'udp6' : 'udp4', lookup: numericLookup(family) });
  sock.on('message', (msg, rinfo) => {
    const reply = buildTrivialReply(msg);
    if (reply) sock.send(reply, rinfo.port, rinfo.address);
  });
  sock.bind(port, host);
  const stop = (): void => {
    sock.close(() => process.exit(0));
  };
  setTimeout(stop, maxSeconds * 1000).unref();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1]?.endsWith('trivial-responder.js')) main();
