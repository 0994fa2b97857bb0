/**
 * Shared fixtures of the answer tests: zones written as master-file text, a query builder,
 * and a table runner in the style of CoreDNS's `test.Case` (expected sections as zone-file
 * lines, compared record by record on their wire form, not on their printed form).
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Catalog } from '../../src/answer/catalog.js';
import { type QueryContext, Responder, type ResponderOptions } from '../../src/answer/respond.js';
import { RRClass } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { encodeMessage } from '../../src/wire/encode.js';
import type { Edns, Message, RR } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseZoneText } from '../../src/zone/parser.js';
import { Zone } from '../../src/zone/zone.js';

/** The main test zone: every feature of the answer algorithm has a name here. */
export const EXAMPLE_ZONE = `
$ORIGIN example.
$TTL 3600
@ SOA ns1.example. hostmaster.example. 1 7200 3600 1209600 300
@ NS ns1.example.
@ NS ns2.example.
@ MX 10 mail.example.
ns1 A 192.0.2.1
ns2 AAAA 2001:db8::2
www A 192.0.2.10
www AAAA 2001:db8::10
www TXT "hello"
mail A 192.0.2.20
cname CNAME www.example.
chain1 CNAME chain2
chain2 CNAME www
loop1 CNAME loop2
loop2 CNAME loop1
self CNAME self
xz CNAME www.example.net.
xzmiss CNAME nope.example.net.
out CNAME www.elsewhere.test.
tochild CNAME host.child.example.
mxnet MX 10 www.example.net.
nx CNAME nothere.example.
deleg NS ns.deleg.example.
deleg NS ns1.example.
deleg NS ns.outside.test.
deleg DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE7B1B4ACC3A1CA8E0A4C6C8B2
ns.deleg A 192.0.2.53
ns.deleg AAAA 2001:db8::53
todeleg CNAME foo.deleg.example.
*.wild TXT "wild"
*.wc CNAME www
a.b.ent A 192.0.2.30
*.ent A 192.0.2.31
dname DNAME example.net.
long DNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.net.
child NS ns.child.example.
ns.child A 192.0.2.60
*.wnsdeleg NS ns1.example.
srv SRV 0 0 80 www.example.
ttl 60 A 192.0.2.99
`;

/** A sibling zone, target of cross-zone CNAME and DNAME chains (which stop at the zone edge). */
export const EXAMPLE_NET_ZONE = `
$ORIGIN example.net.
$TTL 3600
@ SOA ns1.example. hostmaster.example. 1 7200 3600 1209600 600
@ NS ns1.example.
www A 198.51.100.1
`;

/** A child of example. served by us as well: DS at its apex belongs to the parent. */
export const CHILD_ZONE = `
$ORIGIN child.example.
$TTL 3600
@ 100 SOA ns.child.example. hostmaster.example. 1 7200 3600 1209600 600
@ NS ns.child.example.
ns A 192.0.2.60
host A 192.0.2.61
`;

/** Builds a zone from master-file text. */
export function zoneFromText(origin: string, text: string): Zone {
  const o = Name.parse(origin);
  return Zone.build(o, parseZoneText(text, { origin: o }));
}

/** The catalog of the three zones above. */
export function exampleCatalog(): Catalog {
  return new Catalog([
    zoneFromText('example.', EXAMPLE_ZONE),
    zoneFromText('example.net.', EXAMPLE_NET_ZONE),
    zoneFromText('child.example.', CHILD_ZONE),
  ]);
}

/** Query options. */
export interface QueryOptions {
  id?: number;
  /** Header flags word; default RD. */
  flags?: number;
  qclass?: number;
  /** EDNS of the query; undefined for none. */
  edns?: Partial<Edns>;
}

/** Encodes a query for `qname`/`qtype`. */
export function buildQuery(qname: string | Name, qtype: number, opts: QueryOptions = {}): Uint8Array {
  const msg: Message = {
    id: opts.id ?? 0x1234,
    flags: opts.flags ?? 0x0100,
    questions: [
      {
        name: typeof qname === 'string' ? Name.parse(qname) : qname,
        type: qtype,
        class: opts.qclass ?? RRClass.IN,
      },
    ],
    answers: [],
    authority: [],
    additional: [],
  };
  if (opts.edns)
    msg.edns = { udpSize: 1232, extendedRcode: 0, version: 0, flags: 0, options: [], ...opts.edns };
  return Uint8Array.from(encodeMessage(msg));
}

/** UDP and TCP contexts. */
export const UDP: QueryContext = { transport: 'udp', address: '127.0.0.1', port: 5300 };
export const TCP: QueryContext = { transport: 'tcp', address: '127.0.0.1', port: 5300 };

/** One table case: a question and the expected response. */
export interface Case {
  qname: string;
  qtype: number;
  /** Expected RCODE (full, extended bits included); default NOERROR. */
  rcode?: number;
  aa?: boolean;
  tc?: boolean;
  /** Zone-file lines (absolute names, with TTL and class). Answer order matters. */
  answer?: string[];
  /** Compared as a set. */
  authority?: string[];
  /** Compared as a set; the OPT record is not included. */
  additional?: string[];
  query?: QueryOptions;
  ctx?: QueryContext;
  /** Why this case exists (the RFC section); shown in the test name. */
  why?: string;
}

/** Parses zone-file lines into records (absolute names). */
export function parseRecords(lines: readonly string[]): RR[] {
  if (lines.length === 0) return [];
  return parseZoneText(lines.join('\n'), { origin: Name.ROOT });
}

/** A record as a comparable string: owner (case-folded), type, class, TTL, RDATA hex. */
export function recordKey(rr: RR): string {
  return `${rr.name.key}|${rr.type}|${rr.class}|${rr.ttl}|${Buffer.from(rr.rdata).toString('hex')}`;
}

/** Decodes a response and checks it against `c`. */
export function checkResponse(c: Case, response: Uint8Array | null): Message {
  assert.ok(response, 'a response was expected');
  const msg = decodeMessage(response);
  const rcode = ((msg.edns?.extendedRcode ?? 0) << 4) | (msg.flags & 0xf);
  assert.equal(rcode, c.rcode ?? 0, 'rcode');
  assert.equal((msg.flags & 0x8000) !== 0, true, 'QR');
  if (c.aa !== undefined) assert.equal((msg.flags & 0x0400) !== 0, c.aa, 'AA');
  assert.equal((msg.flags & 0x0200) !== 0, c.tc ?? false, 'TC');
  assert.equal(msg.flags & 0x0080, 0, 'RA is never set');
  assert.deepEqual(msg.answers.map(recordKey), parseRecords(c.answer ?? []).map(recordKey), 'answer');
  assert.deepEqual(
    msg.authority.map(recordKey).sort(),
    parseRecords(c.authority ?? [])
      .map(recordKey)
      .sort(),
    'authority',
  );
  assert.deepEqual(
    msg.additional.map(recordKey).sort(),
    parseRecords(c.additional ?? [])
      .map(recordKey)
      .sort(),
    'additional',
  );
  return msg;
}

/** Registers one test per case, each sent through `responder`. */
export function runTable(responder: () => Responder, cases: readonly Case[]): void {
  for (const c of cases) {
    const label = `${c.qname} ${c.qtype}${c.why ? ` — ${c.why}` : ''}`;
    test(label, () => {
      const r = responder();
      const q = buildQuery(c.qname, c.qtype, c.query);
      checkResponse(c, r.respond(q, c.ctx ?? UDP));
    });
  }
}

/** A responder over `catalog` with the given options. */
export function makeResponder(catalog: Catalog, opts: ResponderOptions = {}): Responder {
  return new Responder(catalog, opts);
}
