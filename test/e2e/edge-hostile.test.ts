/**
 * A hostile primary (played by this test on loopback, UDP for the SOA checks and TCP for the
 * transfers, signed with the edge key) leaves the edge's served data unchanged: after a good
 * first transfer it announces a newer serial and answers the transfers with a bad MAC, a
 * message signed with another key, a cut connection, garbage, a closing SOA of another serial,
 * and a difference whose removals the edge does not hold (the AXFR fallback then hostile too).
 * The edge keeps answering the first data; a good transfer afterwards is taken.
 * @module
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RRType, typeToString } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { encodeMessage } from '../../src/wire/encode.js';
import type { RR } from '../../src/wire/message.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { findTsig, makeTsigKey, type TsigRecord, TsigSigner } from '../../src/xfr/tsig.js';
import { parseZoneText } from '../../src/zone/parser.js';
import { buildQuery, queryUdp } from '../helpers/dns-client.js';
import { waitForText } from '../helpers/wait-for.js';
import { type EdgeProcess, eventually, startEdge } from './edge-support.js';
import { frame, freePort } from './support.js';

const SECRET = Buffer.from('hostile-primary-edge-key-secret-0000').toString('base64');
const KEY = `pop-h.:hmac-sha256:${SECRET}`;
const key = makeTsigKey('pop-h.', 'hmac-sha256', SECRET);
const other = makeTsigKey(
  'pop-h.',
  'hmac-sha256',
  Buffer.from('some-other-secret-of-the-same-name!!').toString('base64'),
);
const CATALOG = 'catalog.switchboard.invalid.';
const ZONE = 'h.test.';

function recs(origin: string, ...lines: string[]): RR[] {
  return parseZoneText(`${lines.join('\n')}\n`, { origin });
}
const soaLine = (serial: number) => `@ 300 IN SOA ns1 hostmaster ${serial} 1 1 3600 300`;
const zoneRecs = (serial: number, www: string) =>
  recs(ZONE, soaLine(serial), '@ 300 IN NS ns1', 'ns1 300 IN A 192.0.2.1', `www 300 IN A ${www}`);
const catalogRecs = () =>
  recs(
    CATALOG,
    '@ 0 IN SOA invalid. invalid. 1 1 1 3600 0',
    '@ 0 IN NS invalid.',
    'version 0 IN TXT "2"',
    `m.zones 0 IN PTR ${ZONE}`,
  );

/** How the primary answers h.test.'s transfers now. */
type Mode =
  | { kind: 'good'; serial: number; www: string }
  | {
      kind: 'bad-mac' | 'other-key' | 'cut' | 'garbage' | 'closing-serial' | 'diff-not-held';
      serial: number;
    };

let mode: Mode = { kind: 'good', serial: 1, www: '192.0.2.10' };
let transfers = 0;

function respond(query: Uint8Array, answers: RR[][], signKey = key): Uint8Array[] {
  const msg = decodeMessage(query);
  const tsig = findTsig(query) as TsigRecord;
  const signer = new TsigSigner(signKey, tsig.mac);
  return answers.map((a, i) =>
    signer.sign(
      encodeMessage({
        id: msg.id,
        flags: 0x8400,
        questions: i === 0 ? msg.questions : [],
        answers: a,
        authority: [],
        additional: [],
      }),
    ),
  );
}

function serialOfZone(): number {
  return mode.serial;
}

function onTcp(sock: Socket, query: Uint8Array): void {
  const msg = decodeMessage(query);
  const q = msg.questions[0];
  const name = q.name.toString().toLowerCase();
  const out = (parts: Uint8Array[]) => {
    for (const p of parts) sock.write(frame(p));
  };
  if (name === CATALOG) {
    out(respond(query, [[...catalogRecs(), catalogRecs()[0]]]));
    return;
  }
  if (q.type === RRType.SOA) {
    out(respond(query, [zoneRecs(serialOfZone(), '192.0.2.10').slice(0, 1)]));
    return;
  }
  transfers++;
  const m = mode;
  switch (m.kind) {
    case 'good': {
      const r = zoneRecs(m.serial, m.www);
      out(respond(query, [[...r, r[0]]]));
      return;
    }
    case 'bad-mac': {
      const r = zoneRecs(m.serial, '192.0.2.66');
      const [signed] = respond(query, [[...r, r[0]]]);
      signed[signed.length - 10] ^= 0xff; // inside the MAC
      out([signed]);
      return;
    }
    case 'other-key': {
      const r = zoneRecs(m.serial, '192.0.2.66');
      out(respond(query, [[...r, r[0]]], other));
      return;
    }
    case 'cut': {
      const r = zoneRecs(m.serial, '192.0.2.66');
      out(respond(query, [r]));
      sock.end();
      return;
    }
    case 'garbage':
      sock.write(frame(Uint8Array.from([query[0], query[1], 0x84, 0, 0, 1, 0, 9, 0, 0, 0, 0, 7, 1, 2])));
      return;
    case 'closing-serial': {
      const r = zoneRecs(m.serial, '192.0.2.66');
      out(respond(query, [[...r, zoneRecs(m.serial + 1, '192.0.2.66')[0]]]));
      return;
    }
    case 'diff-not-held': {
      if (q.type === RRType.IXFR) {
        const cur = zoneRecs(m.serial, '192.0.2.66')[0];
        const old = zoneRecs(1, '192.0.2.10')[0];
        const bogus = recs(ZONE, 'nothere 300 IN A 192.0.2.99');
        out(respond(query, [[cur, old, ...bogus, cur, cur]]));
        return;
      }
      // The AXFR fallback: a bad MAC.
      const r = zoneRecs(m.serial, '192.0.2.66');
      const [signed] = respond(query, [[...r, r[0]]]);
      signed[signed.length - 10] ^= 0xff;
      out([signed]);
      return;
    }
  }
}

function onUdp(sock: UdpSocket, query: Uint8Array, rinfo: { address: string; port: number }): void {
  const msg = decodeMessage(query);
  const name = msg.questions[0].name.toString().toLowerCase();
  const answer =
    name === CATALOG ? catalogRecs().slice(0, 1) : zoneRecs(serialOfZone(), '192.0.2.10').slice(0, 1);
  const [r] = respond(query, [answer]);
  sock.send(r, rinfo.port, rinfo.address);
}

async function ask(edge: EdgeProcess): Promise<string> {
  const r = decodeMessage(
    await queryUdp(buildQuery({ name: `www.${ZONE}`, type: 1 }), {
      host: edge.host,
      port: edge.port,
      timeoutMs: 1000,
    }),
  );
  return `${r.flags & 15} ${r.answers.map((a) => `${typeToString(a.type)} ${rdataToText(a.type, a.rdata)}`).join('|')}`;
}

describe('switchboard edge against a hostile primary', () => {
  let tcp: Server;
  let udp: UdpSocket;
  let edge: EdgeProcess | undefined;

  before(async () => {
    const port = await freePort();
    tcp = createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('error', () => {});
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          const q = new Uint8Array(buf.subarray(2, 2 + len));
          buf = buf.subarray(2 + len);
          try {
            onTcp(sock, q);
          } catch {
            sock.destroy();
          }
        }
      });
    });
    await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', r));
    udp = createSocket('udp4');
    udp.on('message', (m, rinfo) => {
      try {
        onUdp(udp, new Uint8Array(m), rinfo);
      } catch {
        // ignore
      }
    });
    await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));
    edge = await startEdge({ primary: `127.0.0.1:${port}`, key: KEY, host: '127.0.0.5' });
    assert.ok(edge.startLine, edge.stderr());
    await eventually('the first transfer', async () => (await ask(edge!)) === '0 A 192.0.2.10');
  });
  after(async () => {
    await edge?.stop();
    tcp?.close();
    udp?.close();
  });

  for (const kind of ['bad-mac', 'other-key', 'cut', 'garbage', 'closing-serial', 'diff-not-held'] as const)
    test(`${kind}: the served data does not change`, async () => {
      const before = transfers;
      mode = { kind, serial: 2 };
      // The SOA refresh (1 s) sees serial 2 and transfers; at least two attempts fail.
      await eventually('two hostile transfers', async () => transfers >= before + 2, 10_000);
      assert.equal(await ask(edge!), '0 A 192.0.2.10');
    });

  test('a good transfer afterwards is taken', async () => {
    mode = { kind: 'good', serial: 3, www: '192.0.2.11' };
    await eventually('the good transfer', async () => (await ask(edge!)) === '0 A 192.0.2.11', 10_000);
    // The edge logs the failed transfers after the primary saw them: read its log while waiting.
    await waitForText('the edge', edge!.stderr, /TSIG check failed/);
  });
});
