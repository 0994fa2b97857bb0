/**
 * A scripted primary on loopback (TCP and UDP) for the secondary role's hostile-input tests:
 * it answers SOA queries with `serial` and AXFRs according to `mode` — a good transfer, or one
 * of the ways a primary (broken or hostile) can send a bad one. Every answer is signed with
 * `key` (chained to the request's MAC, RFC 8945 §5.3) unless the mode says otherwise.
 * @module
 */
import { createSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { RRType } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { encodeMessage } from '../../src/wire/encode.js';
import type { RR } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { findTsig, makeTsigKey, type TsigKey, TsigSigner, tsigNow } from '../../src/xfr/tsig.js';
import { findFreePort } from './peers.js';

export type FakeMode =
  /** SOA, NS, www A 192.0.2.<serial % 250>, SOA: a good transfer. */
  | 'good'
  /** A frame of random octets. */
  | 'garbage'
  /** A message whose frame says more octets than are sent, then the connection closed. */
  | 'truncated'
  /** The SOA and some records, then the connection closed (no closing SOA). */
  | 'cut'
  /** Signed with the right key, but dated an hour ago (outside the 300 s fudge). */
  | 'badtime'
  /** Signed with the right key name and another secret. */
  | 'bad-mac'
  /** Signed with a key of another name. */
  | 'wrong-key'
  /** Not signed at all (the secondary asked with a key). */
  | 'unsigned'
  /** The messages of an earlier good transfer sent again, with this query's ID (their MACs chain to an old request). */
  | 'replay'
  /** The closing SOA with another serial than the opening one. */
  | 'serial-mismatch'
  /** A record of another zone inside the transfer. */
  | 'out-of-zone'
  /** The SOA and a few records, then silence with the connection open. */
  | 'endless'
  /** A good transfer of 30 more A records (past a small record quota). */
  | 'too-many';

export interface FakePrimary {
  port: number;
  mode: FakeMode;
  serial: number;
  /** AXFR requests received. */
  transfers: number;
  close(): void;
}

const rr = (name: string, type: number, rdata: Uint8Array): RR => ({
  name: Name.parse(name),
  type,
  class: 1,
  ttl: 300,
  rdata,
});
const wire = (n: string): Buffer => Buffer.from(Name.parse(n).wire, 'latin1');

function soaOf(z: string, serial: number): Uint8Array {
  const t = Buffer.alloc(20);
  for (const [i, v] of [serial, 3600, 600, 86400, 300].entries()) t.writeUInt32BE(v >>> 0, i * 4);
  return new Uint8Array(Buffer.concat([wire(`ns1.${z}`), wire(`h.${z}`), t]));
}

/** Starts the fake primary; `key` is the key the secondary uses (its name and secret). */
export async function startFakePrimary(key: TsigKey): Promise<FakePrimary> {
  const port = await findFreePort('127.0.0.1');
  const sockets = new Set<Socket>();
  const other = makeTsigKey(
    'another-key',
    'hmac-sha256',
    Buffer.from('another-secret-0123456789').toString('base64'),
  );
  const wrongSecret = makeTsigKey(
    key.name.toString(),
    'hmac-sha256',
    Buffer.from('not-the-secret-at-all-0').toString('base64'),
  );
  let lastGood: Uint8Array[] = [];
  const state: FakePrimary = { port, mode: 'good', serial: 1, transfers: 0, close: () => {} };

  /** The answer to `query` carrying `answers`, signed as `mode` says (chained over `messages`). */
  const answer = (query: Uint8Array, messages: RR[][], mode: FakeMode): Uint8Array[] => {
    const tsig = findTsig(query);
    const mac = tsig && tsig !== 'malformed' ? tsig.mac : undefined;
    const signWith = mode === 'bad-mac' ? wrongSecret : mode === 'wrong-key' ? other : key;
    const signer = mac && mode !== 'unsigned' ? new TsigSigner(signWith, mac) : undefined;
    const now = tsigNow() - (mode === 'badtime' ? 3600 : 0);
    return messages.map((answers, i) => {
      const body = encodeMessage({
        id: (query[0] << 8) | query[1],
        flags: 0x8000 | 0x0400,
        questions: i === 0 ? decodeMessage(query).questions : [],
        answers,
        authority: [],
        additional: [],
      });
      return signer ? signer.sign(body, now) : body;
    });
  };

  const transfer = (query: Uint8Array, send: (m: Uint8Array) => void, sock: Socket): void => {
    state.transfers++;
    const z = decodeMessage(query).questions[0].name.toString();
    const soa = rr(z, RRType.SOA, soaOf(z, state.serial));
    const body = [
      rr(z, RRType.NS, new Uint8Array(wire(`ns1.${z}`))),
      rr(`ns1.${z}`, RRType.A, new Uint8Array([127, 0, 0, 1])),
      rr(`www.${z}`, RRType.A, new Uint8Array([192, 0, 2, state.serial % 250])),
    ];
    const mode = state.mode;
    switch (mode) {
      case 'garbage': {
        const junk = new Uint8Array(300);
        for (let i = 0; i < junk.length; i++) junk[i] = (i * 37 + 11) & 0xff;
        send(junk);
        return;
      }
      case 'truncated': {
        const [m] = answer(query, [[soa, ...body, soa]], 'good');
        const f = Buffer.alloc(2 + m.length);
        f.writeUInt16BE(m.length, 0);
        f.set(m, 2);
        sock.end(f.subarray(0, 2 + Math.floor(m.length / 2)));
        return;
      }
      case 'cut':
        for (const m of answer(query, [[soa, ...body]], 'good')) send(m);
        sock.end();
        return;
      case 'too-many': {
        const many = Array.from({ length: 30 }, (_, i) =>
          rr(`h${i}.${z}`, RRType.A, new Uint8Array([192, 0, 2, i + 1])),
        );
        for (const m of answer(query, [[soa, ...body, ...many, soa]], 'good')) send(m);
        return;
      }
      case 'endless':
        for (const m of answer(query, [[soa, body[0]]], 'good')) send(m);
        return;
      case 'replay':
        // With this query's ID (TSIG's original ID stays): only the MAC chain can tell.
        for (const m of lastGood) {
          const c = Uint8Array.from(m);
          c[0] = query[0];
          c[1] = query[1];
          send(c);
        }
        return;
      case 'serial-mismatch': {
        const later = rr(z, RRType.SOA, soaOf(z, state.serial + 1));
        for (const m of answer(query, [[soa, ...body, later]], 'good')) send(m);
        return;
      }
      case 'out-of-zone':
        for (const m of answer(
          query,
          [[soa, ...body, rr('evil.example.', RRType.A, new Uint8Array([192, 0, 2, 66])), soa]],
          'good',
        ))
          send(m);
        return;
      default: {
        // Two messages, so a chained MAC is checked past the first one.
        const ms = answer(
          query,
          [
            [soa, body[0]],
            [...body.slice(1), soa],
          ],
          mode,
        );
        if (mode === 'good') lastGood = ms;
        for (const m of ms) send(m);
      }
    }
  };

  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    const send = (m: Uint8Array): void => {
      const f = Buffer.alloc(2 + m.length);
      f.writeUInt16BE(m.length, 0);
      f.set(m, 2);
      if (!sock.destroyed) sock.write(f);
    };
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = new Uint8Array(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + q.length);
        let qtype: number;
        try {
          qtype = decodeMessage(q).questions[0].type;
        } catch {
          sock.destroy();
          return;
        }
        if (qtype === RRType.AXFR || qtype === RRType.IXFR) transfer(q, send, sock);
        else {
          const z = decodeMessage(q).questions[0].name.toString();
          for (const m of answer(q, [[rr(z, RRType.SOA, soaOf(z, state.serial))]], 'good')) send(m);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  // SOA queries over UDP: answered with the current serial, signed when asked signed.
  const udp = createSocket('udp4');
  udp.on('message', (m, from) => {
    try {
      const q = new Uint8Array(m);
      const z = decodeMessage(q).questions[0].name.toString();
      const [a] = answer(q, [[rr(z, RRType.SOA, soaOf(z, state.serial))]], 'good');
      udp.send(a, from.port, from.address);
    } catch {
      // not a query we answer
    }
  });
  await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));
  state.close = () => {
    for (const s of sockets) s.destroy();
    server.close();
    udp.close();
  };
  return state;
}
