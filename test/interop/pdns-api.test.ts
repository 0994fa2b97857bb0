/**
 * Differential test of the PowerDNS-compatible API (issue 3 §4) against the real PowerDNS:
 * Debian's `pdns_server` 4.7 (gsqlite3 backend) and `switchboard start` run side by side on
 * loopback, and the same scripted requests — the flows lego, external-dns, octoDNS, DNSControl
 * and Terraform really send, and the error cases they meet — go to both. For every request the
 * status, the content type family and the JSON (keys, value types and values, recursively;
 * RRsets as sets after what PowerDNS itself normalises) must be the same. Values that
 * legitimately differ are excluded by the commented rules in VALUE_RULES; any other difference
 * must be documented in docs/API.md and listed in ALLOWED with the words of that document. After
 * the changes both servers are asked over UDP for the records changed: same rcode and answer.
 * The test fails listing every unexplained difference, PowerDNS's side next to Switchboard's.
 *
 * `PDNS_DIFF_VERBOSE=1` prints every exchange. Skipped when pdns_server is not installed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { typeFromString, typeToString } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { buildQuery, queryUdp } from '../helpers/dns-client.js';
import { type PdnsServer, skipUnlessPdns, startPdns } from '../helpers/pdns.js';
import { switchboardBin } from '../helpers/peers.js';
import { type Platform, removeDataDir, startPlatform } from '../helpers/platform.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are compared generically
type Json = any;

const skip =
  skipUnlessPdns() ||
  (existsSync(switchboardBin()) ? false : `${switchboardBin()} is not built (npm run build)`);
const VERBOSE = process.env.PDNS_DIFF_VERBOSE === '1';

const ADMIN_KEY = `sb_pdns_diff_admin_${Date.now().toString(36)}_0123456789abcdef`;
const Z = '/api/v1/servers/localhost/zones';
const NS = ['ns1.example.net.', 'ns2.example.net.'];
/** How long Switchboard's DNS workers get to show an acknowledged change (issue 3 §6 says 1 s). */
const DNS_CONVERGE_MS = 5000;

/** One of the two servers under comparison. */
interface Side {
  readonly name: 'pdns' | 'switchboard';
  readonly base: string;
  readonly key: string;
  readonly dnsPort: number;
  /** Response bodies kept by steps with `save`, by name. */
  readonly saved: Map<string, Json>;
}

/** One HTTP request of a script, sent to both servers. */
interface HttpStep {
  label: string;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** A path, or a function of the side (clients such as lego follow the `url` they were given). */
  path: string | ((s: Side) => string);
  /** A JSON body, or a function of the side (external-dns sends back the zone object it listed). */
  body?: unknown;
  /** A body sent as is (bad JSON, empty bodies). */
  raw?: string;
  /** Content-Type of a body; default application/json. */
  contentType?: string;
  /** The key sent: the server's (default), none, or a wrong one. */
  auth?: 'key' | 'none' | 'wrong';
  /** Keep the JSON answer under this name, per side. */
  save?: string;
  /** The status PowerDNS must give: else the script does not test what it says. */
  expect: number;
  /**
   * Put the two servers back in the same state after a documented difference changed only one
   * of them: the answers are not compared (each comment says why the step is there).
   */
  restore?: true;
}

/** A DNS check of a script: both servers answer the same, over UDP. */
interface DnsStep {
  label: string;
  dns: [name: string, type: string][];
}

type Step = HttpStep | DnsStep;

/** What a server answered. */
interface Answer {
  status: number;
  /** Media type without parameters, lowercased; '' when none. */
  mediaType: string;
  text: string;
  json?: Json;
}

type DiffKind = 'status' | 'content-type' | 'body' | 'key' | 'type' | 'value' | 'rrset' | 'dns';

/** One difference between PowerDNS's and Switchboard's answer to the same request. */
interface Difference {
  step: string;
  kind: DiffKind;
  /** Where: a JSON path (`$.rrsets`, `$[].account`), `export`, or the DNS question. */
  path: string;
  pdns: string;
  switchboard: string;
}

/** A documented difference: which differences it explains, and the words of docs/API.md saying so. */
interface Allowance {
  match: (d: Difference) => boolean;
  /** Words of docs/API.md (whitespace-insensitive); the test checks they are there and cites their line. */
  doc: string;
}

/**
 * Keys whose values legitimately differ between the two servers: only their JSON type is
 * compared. Each says why.
 */
const VALUE_RULES: Record<string, string> = {
  // PowerDNS (SOA-EDIT-API DEFAULT) starts at YYYYMMDD01 and edits the serial by date; Switchboard
  // starts at 1 and adds 1 per version (RFC 1982 arithmetic). Both grow with every change.
  serial: 'serial scheme',
  edited_serial: 'serial scheme',
  // PowerDNS records the serial it last queued a NOTIFY for (0 until a PUT /notify); Switchboard
  // reports 0 for Native zones and the current serial for Master ones (docs/API.md "Zone objects").
  notified_serial: 'serial scheme',
  // Each server reports its own version (the one rule on it, that it reads as 4.7 to octoDNS, is
  // asserted by its own test below).
  version: 'server version',
  // Error messages are free text for people; clients branch on the status (octoDNS does for
  // PowerDNS >= 4.2), none parses the words.
  error: 'error message text',
};

/**
 * Documented differences (docs/API.md): each cites the words that state Switchboard's deliberate
 * behaviour for exactly that input (a sentence that lists the input among what PowerDNS refuses
 * too does not count). A difference they do not explain fails the test; so does an entry whose
 * words docs/API.md no longer has (then the entry goes, or the words are cited anew).
 */
const ALLOWED: Allowance[] = [
  {
    // PowerDNS 4.7 answers 400, 401, 404 and 409 with a plain-text reason phrase; Switchboard with JSON.
    match: (d) =>
      (d.kind === 'content-type' && d.pdns === 'text/plain' && d.switchboard === 'application/json') ||
      (d.kind === 'body' && d.path === 'error body'),
    doc: 'Errors are always JSON `{"error": …}` (PowerDNS 4.7 sends some, like 404 and 409, as plain text).',
  },
  {
    // Switchboard's error objects carry a stable code and the field at fault besides `error`.
    match: (d) => d.kind === 'key' && (d.path === '$.code' || d.path === '$.field') && d.pdns === 'absent',
    doc: '**Errors** are `{"error": "<message>", "code": "<stable code>", "field": "<field at fault>"}`',
  },
  {
    match: (d) => d.kind === 'status' && /GET \/api, no key/.test(d.step),
    doc: '`GET /api` needs no key (PowerDNS asks for one); everything else does.',
  },
  {
    match: (d) => d.kind === 'status' && /without the final dot/.test(d.step),
    doc: 'Names may be written without the final dot (PowerDNS answers 422 "not canonical").',
  },
  {
    // A zone created without name servers gets the server's (`--nameservers`, set below) as its
    // apex NS; PowerDNS creates it without NS. Once the client PATCHes its NS both agree.
    match: (d) =>
      d.kind === 'rrset' &&
      /"nameservers": null/.test(d.step) &&
      / NS\}$/.test(d.path) &&
      d.pdns === 'absent',
    doc: "A zone needs nameservers (given, or an apex NS RRset, or the server's defaults: `switchboard start --nameservers`).",
  },
  {
    // PowerDNS 4.7 wants `kind`; Switchboard makes a zone without one Native.
    match: (d) => d.kind === 'status' && /POST a zone without kind/.test(d.step),
    doc: '`Native` (default) or `Master`, any case',
  },
  {
    match: (d) => d.kind === 'status' && /EXTEND/.test(d.step),
    doc: '`EXTEND` and `PRUNE` (PowerDNS 5) add and remove records.',
  },
  {
    // PowerDNS stores the ALIAS (and would resolve its target when asked); Switchboard refuses it,
    // so the zone read afterwards lacks it.
    match: (d) =>
      /ALIAS/.test(d.step) &&
      ((d.kind === 'status' && d.pdns.startsWith('204') && d.switchboard.startsWith('422')) ||
        (d.kind === 'rrset' && / ALIAS\}$/.test(d.path) && d.switchboard === 'absent')),
    doc: '`ALIAS` RRsets are refused with 422: PowerDNS answers an ALIAS by resolving its target itself with outgoing queries, and Switchboard is an authoritative-only server that makes none',
  },
  {
    match: (d) =>
      d.kind === 'status' &&
      /TTL of 2\^32-1/.test(d.step) &&
      d.pdns.startsWith('204') &&
      d.switchboard.startsWith('422'),
    doc: "TTLs above the server's limit (`--max-ttl`, default 2592000, never above 2^31-1 as RFC 2181 §8 requires) are refused with 422; PowerDNS takes TTLs up to 2^32-1.",
  },
  {
    // For a step that deletes the SOA or the apex NS RRset (PowerDNS 204, Switchboard 422).
    match: (d) =>
      d.kind === 'status' &&
      /delet\w* (the |its )?(SOA|apex NS)/i.test(d.step) &&
      d.pdns.startsWith('204') &&
      d.switchboard.startsWith('422'),
    doc: 'A change that deletes the SOA, or every NS record at the apex, is refused with 422: a zone without them cannot be served.',
  },
];

const rec = (...contents: string[]) => contents.map((content) => ({ content, disabled: false }));
const replace = (name: string, type: string, ttl: number, ...contents: string[]) => ({
  name,
  type,
  ttl,
  changetype: 'REPLACE',
  records: rec(...contents),
});

// ---------------------------------------------------------------------------------------------
// The scripts: what each client sends, in its order (from the clients' source; docs/API.md
// "Client notes").

/** Discovery, as every client starts. */
const discovery: Step[] = [
  { label: 'GET /api (with key)', method: 'GET', path: '/api', expect: 200 },
  { label: 'GET /api, no key', method: 'GET', path: '/api', auth: 'none', expect: 401 },
  { label: 'GET /api/v1', method: 'GET', path: '/api/v1', expect: 200 },
  { label: 'GET /api/v1/servers', method: 'GET', path: '/api/v1/servers', expect: 200 },
  { label: 'GET /api/v1/servers/localhost', method: 'GET', path: '/api/v1/servers/localhost', expect: 200 },
  {
    label: 'GET autoprimaries',
    method: 'GET',
    path: '/api/v1/servers/localhost/autoprimaries',
    expect: 200,
  },
];

const LEGO = 'lego.pdns-diff.test.';
const CHALLENGE = `_acme-challenge.${LEGO}`;
/** lego's `pdns` provider: a DNS-01 challenge for the apex and the wildcard (two TXT values). */
const lego: Step[] = [
  {
    label: 'operator creates the zone (kind Master, so lego notifies)',
    method: 'POST',
    path: Z,
    body: { name: LEGO, kind: 'Master', nameservers: NS },
    expect: 201,
  },
  { label: 'lego probes GET /api', method: 'GET', path: '/api', expect: 200 },
  {
    label: 'lego reads the zone by name with final dot',
    method: 'GET',
    path: `${Z}/${LEGO}`,
    save: 'zone',
    expect: 200,
  },
  {
    label: 'lego PATCHes the challenge at the zone url (REPLACE TXT)',
    method: 'PATCH',
    path: (s) => s.saved.get('zone').url,
    body: { rrsets: [replace(CHALLENGE, 'TXT', 120, '"tok-apex"')] },
    expect: 204,
  },
  {
    label: 'lego PUTs notify (JSON content type, empty body)',
    method: 'PUT',
    path: (s) => `${s.saved.get('zone').url}/notify`,
    raw: '',
    expect: 200,
  },
  { label: 'DNS: one challenge', dns: [[CHALLENGE, 'TXT']] },
  {
    label: 'lego adds the second challenge (REPLACE with both)',
    method: 'PATCH',
    path: (s) => s.saved.get('zone').url,
    body: { rrsets: [replace(CHALLENGE, 'TXT', 120, '"tok-apex"', '"tok-wildcard"')] },
    expect: 204,
  },
  { label: 'DNS: two challenges', dns: [[CHALLENGE, 'TXT']] },
  { label: 'GET the zone with both challenges', method: 'GET', path: `${Z}/${LEGO}`, expect: 200 },
  {
    label: 'lego cleans the first challenge (REPLACE with the rest)',
    method: 'PATCH',
    path: (s) => s.saved.get('zone').url,
    body: { rrsets: [replace(CHALLENGE, 'TXT', 120, '"tok-wildcard"')] },
    expect: 204,
  },
  {
    label: 'lego cleans the last challenge (DELETE)',
    method: 'PATCH',
    path: (s) => s.saved.get('zone').url,
    body: { rrsets: [{ name: CHALLENGE, type: 'TXT', changetype: 'DELETE', records: [] }] },
    expect: 204,
  },
  {
    label: 'lego PUTs notify again',
    method: 'PUT',
    path: (s) => `${s.saved.get('zone').url}/notify`,
    raw: '',
    expect: 200,
  },
  { label: 'DNS: challenge gone', dns: [[CHALLENGE, 'TXT']] },
  { label: 'GET the zone after cleanup', method: 'GET', path: `${Z}/${LEGO}`, expect: 200 },
];

const EXT = 'extdns.pdns-diff.test.';
const OWNER = '"heritage=external-dns,external-dns/owner=default,external-dns/resource=service/default/web"';
/** external-dns: lists zones, reads one by id, PATCHes whole Zone objects (as listed) with rrsets. */
const externalDns: Step[] = [
  {
    label: 'operator creates the zone',
    method: 'POST',
    path: Z,
    body: { name: EXT, kind: 'Native', nameservers: NS },
    expect: 201,
  },
  { label: 'external-dns lists zones', method: 'GET', path: Z, save: 'zones', expect: 200 },
  {
    label: 'external-dns reads the zone by its listed id',
    method: 'GET',
    path: (s) => `${Z}/${listed(s, EXT).id}`,
    expect: 200,
  },
  {
    label: 'external-dns creates A, CNAME and their TXT ownership records',
    method: 'PATCH',
    path: (s) => `${Z}/${listed(s, EXT).id}`,
    body: (s: Side) => ({
      ...listed(s, EXT),
      rrsets: [
        replace(`app.${EXT}`, 'CNAME', 300, `www.${EXT}`),
        replace(`cname-app.${EXT}`, 'TXT', 300, OWNER),
        replace(`www.${EXT}`, 'A', 300, '192.0.2.10'),
        replace(`a-www.${EXT}`, 'TXT', 300, OWNER),
        replace(`www.${EXT}`, 'TXT', 300, OWNER),
      ],
    }),
    expect: 204,
  },
  {
    label: 'DNS: records and ownership',
    dns: [
      [`www.${EXT}`, 'A'],
      [`a-www.${EXT}`, 'TXT'],
      [`www.${EXT}`, 'TXT'],
      [`app.${EXT}`, 'CNAME'],
    ],
  },
  { label: 'GET the zone', method: 'GET', path: `${Z}/${EXT}`, expect: 200 },
  {
    label: 'external-dns updates the A record (REPLACE, new TTL)',
    method: 'PATCH',
    path: (s) => `${Z}/${listed(s, EXT).id}`,
    body: (s: Side) => ({
      ...listed(s, EXT),
      rrsets: [replace(`www.${EXT}`, 'A', 60, '192.0.2.11', '192.0.2.12')],
    }),
    expect: 204,
  },
  { label: 'DNS: updated A', dns: [[`www.${EXT}`, 'A']] },
  {
    label: 'external-dns deletes (DELETE with records, no ttl)',
    method: 'PATCH',
    path: (s) => `${Z}/${listed(s, EXT).id}`,
    body: (s: Side) => ({
      ...listed(s, EXT),
      rrsets: [
        {
          name: `www.${EXT}`,
          type: 'A',
          changetype: 'DELETE',
          records: [{ content: '192.0.2.11' }, { content: '192.0.2.12' }],
        },
        { name: `a-www.${EXT}`, type: 'TXT', changetype: 'DELETE', records: [{ content: OWNER }] },
        { name: `www.${EXT}`, type: 'TXT', changetype: 'DELETE', records: [{ content: OWNER }] },
      ],
    }),
    expect: 204,
  },
  {
    label: 'DNS: deleted',
    dns: [
      [`www.${EXT}`, 'A'],
      [`a-www.${EXT}`, 'TXT'],
    ],
  },
  { label: 'GET the zone after delete', method: 'GET', path: `${Z}/${EXT}`, expect: 200 },
  {
    // external-dns turns a CNAME at the zone apex (an Ingress on a cloud load balancer's name)
    // into PowerDNS's ALIAS, and every CNAME with --pdns-prefer-alias.
    label: 'external-dns publishes an apex CNAME as ALIAS',
    method: 'PATCH',
    path: (s) => `${Z}/${listed(s, EXT).id}`,
    body: (s: Side) => ({
      ...listed(s, EXT),
      rrsets: [replace(EXT, 'ALIAS', 300, 'lb-1234.elb.example.net.')],
    }),
    expect: 204,
  },
  { label: 'GET the zone with the ALIAS', method: 'GET', path: `${Z}/${EXT}`, expect: 200 },
  {
    // Whichever server took the ALIAS above: remove it.
    label: 'restore: remove the ALIAS',
    method: 'PATCH',
    path: `${Z}/${EXT}`,
    body: { rrsets: [{ name: EXT, type: 'ALIAS', changetype: 'DELETE' }] },
    expect: 204,
    restore: true,
  },
];

const OCTO = 'octo.pdns-diff.test.';
const octoCreate = [
  replace(OCTO, 'CAA', 3600, '0 issue "letsencrypt.org"'),
  replace(OCTO, 'MX', 3600, '10 mx1.example.net.', '20 mx2.example.net.'),
  replace(OCTO, 'NS', 3600, ...NS),
  replace(OCTO, 'TXT', 3600, '"v=spf1 -all"', '"google-site-verification=abc"'),
  replace(`_sip._tcp.${OCTO}`, 'SRV', 600, '10 20 5060 sip.example.net.'),
  replace(`www.${OCTO}`, 'A', 300, '192.0.2.20', '192.0.2.21'),
  replace(`www.${OCTO}`, 'AAAA', 300, '2001:db8::20'),
  replace(
    `www.${OCTO}`,
    'SSHFP',
    300,
    '4 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  ),
  replace(`www.${OCTO}`, 'HTTPS', 300, '1 . alpn=h2,h3'),
];
/** A 2048-bit DKIM key as octoDNS sends it: one quoted string of more than 255 octets. */
const DKIM = `"v=DKIM1; k=rsa; p=${'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'.repeat(9)}IDAQAB"`;
/** octoDNS: version, populate (404), PATCH (404), then POST the zone with its records. */
const octodns: Step[] = [
  {
    label: 'octoDNS reads the server version',
    method: 'GET',
    path: '/api/v1/servers/localhost',
    expect: 200,
  },
  { label: 'octoDNS populates a zone that is not there', method: 'GET', path: `${Z}/${OCTO}`, expect: 404 },
  {
    label: 'octoDNS PATCHes the zone that is not there',
    method: 'PATCH',
    path: `${Z}/${OCTO}`,
    body: { rrsets: octoCreate },
    expect: 404,
  },
  {
    label: 'octoDNS creates it (kind Master, empty nameservers, rrsets with the apex NS)',
    method: 'POST',
    path: Z,
    body: {
      name: OCTO,
      kind: 'Master',
      masters: [],
      nameservers: [],
      rrsets: octoCreate,
      soa_edit_api: 'DEFAULT',
      serial: 0,
    },
    expect: 201,
  },
  { label: 'GET the created zone', method: 'GET', path: `${Z}/${OCTO}`, expect: 200 },
  {
    label: 'DNS: created records',
    dns: [
      [`www.${OCTO}`, 'A'],
      [`www.${OCTO}`, 'AAAA'],
      [OCTO, 'MX'],
      [OCTO, 'TXT'],
      [OCTO, 'CAA'],
      [`_sip._tcp.${OCTO}`, 'SRV'],
    ],
  },
  {
    label: 'octoDNS applies a plan (DELETE sorted before REPLACE)',
    method: 'PATCH',
    path: `${Z}/${OCTO}`,
    body: {
      rrsets: [
        {
          name: OCTO,
          type: 'TXT',
          ttl: 3600,
          changetype: 'DELETE',
          records: rec('"v=spf1 -all"', '"google-site-verification=abc"'),
        },
        replace(OCTO, 'MX', 3600, '5 mx0.example.net.'),
        replace(`www.${OCTO}`, 'A', 300, '192.0.2.22'),
      ],
    },
    expect: 204,
  },
  { label: 'GET after the plan', method: 'GET', path: `${Z}/${OCTO}`, expect: 200 },
  {
    label: 'DNS: after the plan',
    dns: [
      [`www.${OCTO}`, 'A'],
      [OCTO, 'MX'],
      [OCTO, 'TXT'],
      [`www.${OCTO}`, 'SSHFP'],
      [`www.${OCTO}`, 'HTTPS'],
    ],
  },
  {
    label: 'octoDNS adds a DKIM key (one TXT string over 255 octets)',
    method: 'PATCH',
    path: `${Z}/${OCTO}`,
    body: { rrsets: [replace(`mail._domainkey.${OCTO}`, 'TXT', 3600, DKIM)] },
    expect: 204,
  },
  { label: 'DNS: DKIM key', dns: [[`mail._domainkey.${OCTO}`, 'TXT']] },
  {
    // Whichever server refused the key above: remove it, so the servers hold the same zone again.
    label: 'restore: remove the DKIM key',
    method: 'PATCH',
    path: `${Z}/${OCTO}`,
    body: { rrsets: [{ name: `mail._domainkey.${OCTO}`, type: 'TXT', changetype: 'DELETE' }] },
    expect: 204,
    restore: true,
  },
];

const DNSC = 'dnsc.pdns-diff.test.';
const DNSC_BARE = DNSC.slice(0, -1);
const DNSC_NONS = 'dnsc-nons.pdns-diff.test.';
/** DNSControl and cert-manager webhooks (go-powerdns): names without the final dot, `records: null`. */
const dnscontrol: Step[] = [
  { label: 'DNSControl checks the zone exists', method: 'GET', path: `${Z}/${DNSC}`, expect: 404 },
  {
    label: 'DNSControl creates the zone (go-powerdns Zone object)',
    method: 'POST',
    path: Z,
    body: { name: DNSC, type: 'Zone', kind: 'Native', dnssec: false, nameservers: NS },
    expect: 201,
  },
  {
    label: 'DNSControl reads the zone by name (no final dot in the path)',
    method: 'GET',
    path: `${Z}/${DNSC_BARE}`,
    expect: 200,
  },
  { label: 'DNSControl lists cryptokeys', method: 'GET', path: `${Z}/${DNSC}/cryptokeys`, expect: 200 },
  {
    label: 'DNSControl pushes corrections (REPLACE)',
    method: 'PATCH',
    path: `${Z}/${DNSC}`,
    body: {
      rrsets: [
        replace(DNSC, 'A', 300, '192.0.2.40'),
        replace(`www.${DNSC}`, 'CNAME', 300, DNSC),
        replace(`_dmarc.${DNSC}`, 'TXT', 300, '"v=DMARC1; p=none"'),
        replace(`old.${DNSC}`, 'A', 300, '192.0.2.41'),
      ],
    },
    expect: 204,
  },
  {
    label: 'DNSControl deletes with "records": null and replaces',
    method: 'PATCH',
    path: `${Z}/${DNSC}`,
    body: {
      rrsets: [
        { name: `old.${DNSC}`, type: 'A', changetype: 'DELETE', records: null },
        replace(DNSC, 'A', 300, '192.0.2.42'),
      ],
    },
    expect: 204,
  },
  { label: 'GET the zone (no final dot)', method: 'GET', path: `${Z}/${DNSC_BARE}`, expect: 200 },
  {
    label: 'DNS: corrections',
    dns: [
      [DNSC, 'A'],
      [`www.${DNSC}`, 'CNAME'],
      [`_dmarc.${DNSC}`, 'TXT'],
      [`old.${DNSC}`, 'A'],
    ],
  },
  { label: 'export the zone', method: 'GET', path: `${Z}/${DNSC}/export`, expect: 200 },
  { label: 'delete the zone', method: 'DELETE', path: `${Z}/${DNSC}`, expect: 204 },
  { label: 'list ?zone= the deleted zone', method: 'GET', path: `${Z}?zone=${DNSC}`, expect: 200 },
  { label: 'GET the deleted zone', method: 'GET', path: `${Z}/${DNSC}`, expect: 404 },
  { label: 'DNS: deleted zone', dns: [[DNSC, 'SOA']] },
  {
    label: 'DNSControl without default_ns creates a zone ("nameservers": null)',
    method: 'POST',
    path: Z,
    body: { name: DNSC_NONS, type: 'Zone', kind: 'Native', nameservers: null },
    expect: 201,
  },
  {
    label: 'DNSControl pushes the apex NS and an A',
    method: 'PATCH',
    path: `${Z}/${DNSC_NONS}`,
    body: { rrsets: [replace(DNSC_NONS, 'NS', 3600, ...NS), replace(DNSC_NONS, 'A', 300, '192.0.2.43')] },
    expect: 204,
  },
  { label: 'GET the zone with its NS', method: 'GET', path: `${Z}/${DNSC_NONS}`, expect: 200 },
  {
    label: 'DNS: apex NS and A',
    dns: [
      [DNSC_NONS, 'NS'],
      [DNSC_NONS, 'A'],
    ],
  },
  { label: 'delete that zone', method: 'DELETE', path: `${Z}/${DNSC_NONS}`, expect: 204 },
];

const TF = 'tf.pdns-diff.test.';
/** Terraform's powerdns provider: probe, create with kind and nameservers, records, destroy. */
const terraform: Step[] = [
  { label: 'Terraform probes GET /api/v1/servers', method: 'GET', path: '/api/v1/servers', expect: 200 },
  {
    label: 'powerdns_zone creates (kind Master, nameservers, account, soa_edit_api "" when unset)',
    method: 'POST',
    path: Z,
    body: { name: TF, kind: 'Master', nameservers: NS, soa_edit_api: '', account: 'team-a' },
    expect: 201,
  },
  { label: 'powerdns_zone reads', method: 'GET', path: `${Z}/${TF}`, expect: 200 },
  {
    label: 'powerdns_zone reads without RRsets',
    method: 'GET',
    path: `${Z}/${TF}?rrsets=false`,
    expect: 200,
  },
  { label: 'list ?zone= the zone', method: 'GET', path: `${Z}?zone=${TF}`, expect: 200 },
  { label: 'zone metadata', method: 'GET', path: `${Z}/${TF}/metadata`, expect: 200 },
  {
    label: 'powerdns_record creates (REPLACE)',
    method: 'PATCH',
    path: `${Z}/${TF}`,
    body: {
      rrsets: [
        replace(`www.${TF}`, 'A', 300, '192.0.2.50'),
        replace(`mail.${TF}`, 'MX', 300, '10 mx.example.net.'),
      ],
    },
    expect: 204,
  },
  { label: 'powerdns_record reads (GET zone)', method: 'GET', path: `${Z}/${TF}`, expect: 200 },
  {
    label: 'powerdns_zone updates metadata (PUT)',
    method: 'PUT',
    path: `${Z}/${TF}`,
    body: { kind: 'Master', soa_edit_api: 'DEFAULT' },
    expect: 204,
  },
  {
    label: 'powerdns_zone changes kind to Native (PUT of its whole zone struct)',
    method: 'PUT',
    path: `${Z}/${TF}`,
    body: { name: TF, kind: 'Native', account: 'team-b', soa_edit_api: '', nameservers: NS, masters: [] },
    expect: 204,
  },
  { label: 'powerdns_zone reads the change', method: 'GET', path: `${Z}/${TF}?rrsets=false`, expect: 200 },
  { label: 'zone metadata after the PUT', method: 'GET', path: `${Z}/${TF}/metadata`, expect: 200 },
  {
    label: 'DNS: records',
    dns: [
      [`www.${TF}`, 'A'],
      [`mail.${TF}`, 'MX'],
    ],
  },
  {
    label: 'powerdns_record destroys (DELETE)',
    method: 'PATCH',
    path: `${Z}/${TF}`,
    body: { rrsets: [{ name: `www.${TF}`, type: 'A', changetype: 'DELETE' }] },
    expect: 204,
  },
  { label: 'DNS: destroyed record', dns: [[`www.${TF}`, 'A']] },
  { label: 'powerdns_zone destroys', method: 'DELETE', path: `${Z}/${TF}`, expect: 204 },
  { label: 'GET the destroyed zone', method: 'GET', path: `${Z}/${TF}`, expect: 404 },
];

const ERR = 'err.pdns-diff.test.';
const NOPE = 'nope.pdns-diff.test.';
const NOKIND = 'nokind.pdns-diff.test.';
const BARE = 'bare.pdns-diff.test.';
const patchErr = (...rrsets: unknown[]) => ({ rrsets });
/** Error cases clients meet, and that nothing is half-applied by a failed change. */
const errors: Step[] = [
  {
    label: 'create the zone',
    method: 'POST',
    path: Z,
    body: {
      name: ERR,
      kind: 'Native',
      nameservers: NS,
      rrsets: [replace(`www.${ERR}`, 'A', 300, '192.0.2.30')],
    },
    expect: 201,
  },
  { label: 'GET an unknown zone', method: 'GET', path: `${Z}/${NOPE}`, expect: 404 },
  {
    label: 'PATCH an unknown zone',
    method: 'PATCH',
    path: `${Z}/${NOPE}`,
    body: patchErr(replace(`www.${NOPE}`, 'A', 300, '192.0.2.1')),
    expect: 404,
  },
  { label: 'DELETE an unknown zone', method: 'DELETE', path: `${Z}/${NOPE}`, expect: 404 },
  {
    label: 'POST a duplicate zone',
    method: 'POST',
    path: Z,
    body: { name: ERR, kind: 'Native', nameservers: NS },
    expect: 409,
  },
  {
    label: 'PATCH bad A content',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr(replace(`www.${ERR}`, 'A', 300, 'not-an-ip')),
    expect: 422,
  },
  {
    label: 'PATCH a good and a bad RRset (all or nothing)',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr(
      replace(`ok.${ERR}`, 'A', 300, '192.0.2.31'),
      replace(`bad.${ERR}`, 'AAAA', 300, '192.0.2.32'),
    ),
    expect: 422,
  },
  {
    label: 'PATCH REPLACE without ttl',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr({ name: `www.${ERR}`, type: 'A', changetype: 'REPLACE', records: rec('192.0.2.33') }),
    expect: 422,
  },
  {
    label: 'PATCH an unknown changetype',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr({ ...replace(`www.${ERR}`, 'A', 300, '192.0.2.33'), changetype: 'UPSERT' }),
    expect: 422,
  },
  {
    label: 'PATCH the same RRset twice (same changetype)',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr(
      replace(`twice.${ERR}`, 'A', 300, '192.0.2.34'),
      replace(`twice.${ERR}`, 'A', 300, '192.0.2.35'),
    ),
    expect: 422,
  },
  {
    label: 'PATCH a name outside the zone',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr(replace('www.elsewhere.test.', 'A', 300, '192.0.2.36')),
    expect: 422,
  },
  {
    label: 'PATCH a CNAME next to an A',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr(replace(`www.${ERR}`, 'CNAME', 300, 'target.example.net.')),
    expect: 422,
  },
  {
    label: 'PATCH an MX with a relative exchange',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr(replace(`mx.${ERR}`, 'MX', 300, '10 mail.example.net')),
    expect: 422,
  },
  { label: 'PATCH without rrsets', method: 'PATCH', path: `${Z}/${ERR}`, body: {}, expect: 422 },
  {
    label: 'PATCH bad JSON',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    raw: '{"rrsets": [{"name": ',
    expect: 400,
  },
  { label: 'POST bad JSON', method: 'POST', path: Z, raw: '{"name": "x.test.", ', expect: 400 },
  { label: 'GET zones, no key', method: 'GET', path: Z, auth: 'none', expect: 401 },
  { label: 'GET zones, wrong key', method: 'GET', path: Z, auth: 'wrong', expect: 401 },
  {
    label: 'PATCH, no key',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr(replace(`www.${ERR}`, 'A', 300, '192.0.2.37')),
    auth: 'none',
    expect: 401,
  },
  {
    label: 'list ?zone= without the final dot',
    method: 'GET',
    path: `${Z}?zone=${ERR.slice(0, -1)}`,
    expect: 422,
  },
  {
    label: 'PATCH an RRset name without the final dot',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr(replace(`nodot.${ERR.slice(0, -1)}`, 'A', 300, '192.0.2.38')),
    expect: 422,
  },
  {
    // Switchboard applied the documented change above, PowerDNS refused it: remove it again.
    label: 'restore: remove nodot',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr({ name: `nodot.${ERR}`, type: 'A', changetype: 'DELETE' }),
    expect: 204,
    restore: true,
  },
  {
    label: 'PATCH EXTEND (PowerDNS 5)',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr({ ...replace(`ext.${ERR}`, 'A', 300, '192.0.2.39'), changetype: 'EXTEND' }),
    expect: 422,
  },
  {
    // As above: the EXTEND PowerDNS 4.7 does not know was applied by Switchboard only.
    label: 'restore: remove ext',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr({ name: `ext.${ERR}`, type: 'A', changetype: 'DELETE' }),
    expect: 204,
    restore: true,
  },
  {
    label: 'PATCH TXT content without quotes',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr(replace(`txt.${ERR}`, 'TXT', 300, 'v=spf1 include:example.net -all')),
    expect: 422,
  },
  {
    // Whichever server accepted the unquoted TXT above: remove it, so later steps compare alike.
    label: 'restore: remove txt',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr({ name: `txt.${ERR}`, type: 'TXT', changetype: 'DELETE' }),
    expect: 204,
    restore: true,
  },
  {
    label: 'PATCH REPLACE then DELETE of one RRset',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr(replace(`rd.${ERR}`, 'A', 300, '192.0.2.40'), {
      name: `rd.${ERR}`,
      type: 'A',
      changetype: 'DELETE',
    }),
    expect: 204,
  },
  {
    label: 'PATCH a TTL of 2^32-1',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr(replace(`bigttl.${ERR}`, 'A', 4294967295, '192.0.2.41')),
    expect: 204,
  },
  {
    // Whichever server accepted the TTL above: remove the RRset.
    label: 'restore: remove bigttl',
    method: 'PATCH',
    path: `${Z}/${ERR}`,
    body: patchErr({ name: `bigttl.${ERR}`, type: 'A', changetype: 'DELETE' }),
    expect: 204,
    restore: true,
  },
  {
    label: 'POST a zone without kind',
    method: 'POST',
    path: Z,
    body: { name: NOKIND, nameservers: NS },
    expect: 422,
  },
  {
    // Whichever server created the zone above: delete it.
    label: 'restore: delete nokind',
    method: 'DELETE',
    path: `${Z}/${NOKIND}`,
    expect: 404,
    restore: true,
  },
  // A zone of its own for removing the SOA and the apex NS: PowerDNS lets both go (204),
  // Switchboard refuses (a zone without them cannot be served).
  {
    label: 'create a zone to strip',
    method: 'POST',
    path: Z,
    body: { name: BARE, kind: 'Native', nameservers: NS },
    expect: 201,
  },
  {
    label: 'PATCH deleting the SOA',
    method: 'PATCH',
    path: `${Z}/${BARE}`,
    body: patchErr({ name: BARE, type: 'SOA', changetype: 'DELETE' }),
    expect: 204,
  },
  {
    label: 'PATCH deleting the apex NS',
    method: 'PATCH',
    path: `${Z}/${BARE}`,
    body: patchErr({ name: BARE, type: 'NS', changetype: 'DELETE' }),
    expect: 204,
  },
  {
    label: 'restore: delete the stripped zone',
    method: 'DELETE',
    path: `${Z}/${BARE}`,
    expect: 204,
    restore: true,
  },
  { label: 'GET the zone: nothing half-applied', method: 'GET', path: `${Z}/${ERR}`, expect: 200 },
  {
    label: 'DNS: nothing half-applied',
    dns: [
      [`www.${ERR}`, 'A'],
      [`ok.${ERR}`, 'A'],
      [`twice.${ERR}`, 'A'],
    ],
  },
];

/** The entry of zone `name` in the zone list a step saved as `zones`. */
function listed(s: Side, name: string): Json {
  const list: Json[] = s.saved.get('zones') ?? [];
  const entry = list.find((z) => z.name === name);
  if (!entry) throw new Error(`${s.name}: zone ${name} is not in the saved zone list`);
  return entry;
}

// ---------------------------------------------------------------------------------------------
// Sending and comparing.

function mediaTypeOf(h: string | null): string {
  return (h ?? '').split(';')[0].trim().toLowerCase();
}

async function send(side: Side, step: HttpStep): Promise<Answer> {
  const path = typeof step.path === 'function' ? step.path(side) : step.path;
  const headers: Record<string, string> = {};
  if ((step.auth ?? 'key') === 'key') headers['X-API-Key'] = side.key;
  else if (step.auth === 'wrong') headers['X-API-Key'] = 'not-the-key-0123456789';
  let body: string | undefined;
  if (step.raw !== undefined) body = step.raw;
  else if (step.body !== undefined)
    body = JSON.stringify(typeof step.body === 'function' ? step.body(side) : step.body);
  if (body !== undefined) headers['Content-Type'] = step.contentType ?? 'application/json';
  const res = await fetch(side.base + path, {
    method: step.method,
    headers,
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  const mediaType = mediaTypeOf(res.headers.get('content-type'));
  const answer: Answer = { status: res.status, mediaType, text };
  if (mediaType.includes('json') && text !== '') {
    try {
      answer.json = JSON.parse(text);
    } catch {
      // compared as text
    }
  }
  if (step.save && answer.json !== undefined) side.saved.set(step.save, answer.json);
  return answer;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s;
}

/**
 * An SOA's content with what each server picks for a zone created without an SOA masked: the
 * primary name (PowerDNS's default-soa-content `a.misconfigured.dns.server.invalid.`,
 * Switchboard's first name server) and the serial (see VALUE_RULES). No step sets an SOA.
 */
function maskSoa(content: string): string {
  const f = content.trim().split(/\s+/);
  if (f.length !== 7) return content;
  return ['<mname>', f[1], '<serial>', ...f.slice(3)].join(' ');
}

/**
 * An RRset as compared: PowerDNS lowercases owner names (it stores `MX.zone.` as `mx.zone.`) and
 * sorts records; both are normalised away, record contents are compared as they are.
 */
function normaliseRRset(r: Json): Json {
  if (typeOf(r) !== 'object') return r;
  const records = Array.isArray(r.records)
    ? r.records
        .map((x: Json) =>
          r.type === 'SOA' && typeof x?.content === 'string' ? { ...x, content: maskSoa(x.content) } : x,
        )
        .sort((a: Json, b: Json) => show(a).localeCompare(show(b)))
    : r.records;
  return { ...r, name: typeof r.name === 'string' ? r.name.toLowerCase() : r.name, records };
}

function rrsetKey(r: Json): string {
  return `${String(r?.name).toLowerCase()} ${r?.type}`;
}

function compareRRsets(step: string, path: string, a: Json[], b: Json[], out: Difference[]): void {
  const mapA = new Map(a.map((r) => [rrsetKey(r), normaliseRRset(r)]));
  const mapB = new Map(b.map((r) => [rrsetKey(r), normaliseRRset(r)]));
  for (const k of [...new Set([...mapA.keys(), ...mapB.keys()])].sort()) {
    const x = mapA.get(k);
    const y = mapB.get(k);
    if (x === undefined || y === undefined) {
      out.push({
        step,
        kind: 'rrset',
        path: `${path}{${k}}`,
        pdns: x === undefined ? 'absent' : show(x),
        switchboard: y === undefined ? 'absent' : show(y),
      });
    } else compareJson(step, `${path}{${k}}`, x, y, out);
  }
}

/** A sort key for array elements: zone and RRset objects by name (and type), others by their JSON. */
function elementKey(v: Json): string {
  if (typeOf(v) === 'object' && typeof v.name === 'string') return `${v.name.toLowerCase()} ${v.type ?? ''}`;
  return show(v);
}

function compareJson(step: string, path: string, a: Json, b: Json, out: Difference[]): void {
  const ta = typeOf(a);
  const tb = typeOf(b);
  if (ta !== tb) {
    out.push({ step, kind: 'type', path, pdns: `${ta} ${show(a)}`, switchboard: `${tb} ${show(b)}` });
    return;
  }
  if (ta === 'object') {
    for (const k of Object.keys(a))
      if (!(k in b))
        out.push({ step, kind: 'key', path: `${path}.${k}`, pdns: show(a[k]), switchboard: 'absent' });
    for (const k of Object.keys(b))
      if (!(k in a))
        out.push({ step, kind: 'key', path: `${path}.${k}`, pdns: 'absent', switchboard: show(b[k]) });
    for (const k of Object.keys(a)) {
      if (!(k in b)) continue;
      const p = `${path}.${k}`;
      if (k === 'rrsets' && Array.isArray(a[k]) && Array.isArray(b[k]))
        compareRRsets(step, p, a[k], b[k], out);
      else if (k in VALUE_RULES) {
        if (typeOf(a[k]) !== typeOf(b[k]))
          out.push({ step, kind: 'type', path: p, pdns: show(a[k]), switchboard: show(b[k]) });
      } else compareJson(step, p, a[k], b[k], out);
    }
    return;
  }
  if (ta === 'array') {
    // Order is each server's storage order (PowerDNS's is not even stable): compare sorted.
    const xs = [...a].sort((x, y) => elementKey(x).localeCompare(elementKey(y)));
    const ys = [...b].sort((x, y) => elementKey(x).localeCompare(elementKey(y)));
    if (xs.length !== ys.length) {
      out.push({
        step,
        kind: 'value',
        path: `${path}.length`,
        pdns: `${xs.length} ${show(xs.map(elementKey))}`,
        switchboard: `${ys.length} ${show(ys.map(elementKey))}`,
      });
      return;
    }
    for (let i = 0; i < xs.length; i++) compareJson(step, `${path}[]`, xs[i], ys[i], out);
    return;
  }
  if (a !== b) out.push({ step, kind: 'value', path, pdns: show(a), switchboard: show(b) });
}

/** Master-file text as a set of records: owner lowercased, fields single-spaced, SOA masked. */
function exportLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith(';') && !l.startsWith('$'))
    .map((l) => {
      const [owner, ttl, cls, type, ...rest] = l.split(/\s+/);
      const rdata = rest.join(' ');
      return [owner.toLowerCase(), ttl, cls, type, type === 'SOA' ? maskSoa(rdata) : rdata].join(' ');
    })
    .sort();
}

/** Every difference between PowerDNS's answer `a` and Switchboard's `b` to step `step`. */
function compareAnswers(step: string, a: Answer, b: Answer): Difference[] {
  const out: Difference[] = [];
  if (a.status !== b.status) {
    // The rest of two answers with different statuses is not comparable.
    out.push({
      step,
      kind: 'status',
      path: 'status',
      pdns: `${a.status} ${a.text}`,
      switchboard: `${b.status} ${b.text}`,
    });
    return out;
  }
  if (a.mediaType !== b.mediaType) {
    out.push({
      step,
      kind: 'content-type',
      path: 'content-type',
      pdns: a.mediaType,
      switchboard: b.mediaType,
    });
  }
  if (a.json !== undefined && b.json !== undefined) {
    compareJson(step, '$', a.json, b.json, out);
  } else if (a.mediaType === 'text/plain' && b.mediaType === 'text/plain' && a.status === 200) {
    const xs = exportLines(a.text);
    const ys = exportLines(b.text);
    for (const l of xs.filter((x) => !ys.includes(x)))
      out.push({ step, kind: 'body', path: 'export', pdns: l, switchboard: 'absent' });
    for (const l of ys.filter((y) => !xs.includes(y)))
      out.push({ step, kind: 'body', path: 'export', pdns: 'absent', switchboard: l });
  } else if (a.text !== b.text) {
    out.push({
      step,
      kind: 'body',
      path: a.status >= 400 ? 'error body' : 'body',
      pdns: a.text,
      switchboard: b.text,
    });
  }
  return out;
}

/** One DNS answer as compared: rcode and the answer section (owner lowercased, sorted). */
interface DnsAnswer {
  rcode: number;
  answer: string[];
}

async function askDns(port: number, name: string, type: string): Promise<DnsAnswer> {
  const t = typeFromString(type);
  if (t === undefined) throw new Error(`unknown type ${type}`);
  const q = buildQuery({ name, type: t, edns: { udpSize: 1232 } });
  const r = decodeMessage(await queryUdp(q, { port, timeoutMs: 1000, retries: 2 }));
  return {
    rcode: r.flags & 0xf,
    answer: r.answers
      .map(
        (a) =>
          `${a.name.toString().toLowerCase()} ${a.ttl} ${typeToString(a.type)} ${rdataToText(a.type, a.rdata)}`,
      )
      .sort(),
  };
}

function showDns(a: DnsAnswer): string {
  return `rcode ${a.rcode} ${show(a.answer)}`;
}

/**
 * Asks both servers. PowerDNS (no caches) answers from its database at once; Switchboard's
 * workers get an acknowledged change within a second (issue 3 §6), so its answer is asked again
 * until it matches or DNS_CONVERGE_MS passed.
 */
async function compareDns(
  step: string,
  pdns: Side,
  sb: Side,
  name: string,
  type: string,
): Promise<Difference[]> {
  const want = await askDns(pdns.dnsPort, name, type);
  const deadline = Date.now() + DNS_CONVERGE_MS;
  let got = await askDns(sb.dnsPort, name, type);
  while (showDns(got) !== showDns(want) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    got = await askDns(sb.dnsPort, name, type);
  }
  if (VERBOSE) console.error(`  DNS ${name} ${type}: pdns ${showDns(want)} | switchboard ${showDns(got)}`);
  if (showDns(got) === showDns(want)) return [];
  return [{ step, kind: 'dns', path: `${name} ${type}`, pdns: showDns(want), switchboard: showDns(got) }];
}

/** Where in docs/API.md `words` are (1-based line of their start), whitespace-insensitive. */
function findDocLine(doc: string, words: string): number | undefined {
  let norm = '';
  const lineAt: number[] = [];
  let line = 1;
  let space = false;
  for (const ch of doc) {
    if (/\s/.test(ch)) {
      if (!space) {
        norm += ' ';
        lineAt.push(line);
      }
      space = true;
    } else {
      space = false;
      norm += ch;
      for (let i = 0; i < ch.length; i++) lineAt.push(line);
    }
    if (ch === '\n') line++;
  }
  const i = norm.indexOf(words.replace(/\s+/g, ' ').trim());
  return i < 0 ? undefined : lineAt[i];
}

function formatDifference(d: Difference): string {
  return `[${d.step}] ${d.kind} at ${d.path}\n      PowerDNS:    ${d.pdns}\n      Switchboard: ${d.switchboard}`;
}

test('the comparison reports what differs and only that', () => {
  const rrset = (name: string, ttl: number, ...contents: string[]) => ({
    comments: [],
    name,
    records: rec(...contents),
    ttl,
    type: 'A',
  });
  const answer = (json: Json): Answer => ({ status: 200, mediaType: 'application/json', text: '', json });
  const pdnsSide = answer({
    kind: 'Native',
    serial: 2026112201,
    rrsets: [rrset('A.x.', 300, '192.0.2.2', '192.0.2.1'), rrset('c.x.', 300, '192.0.2.3')],
  });
  const sbSide = answer({
    kind: 'Native',
    serial: 1,
    extra: true,
    rrsets: [
      rrset('b.x.', 300, '192.0.2.9'),
      rrset('c.x.', 60, '192.0.2.3'),
      rrset('a.x.', 300, '192.0.2.1', '192.0.2.2'),
    ],
  });
  assert.deepEqual(
    compareAnswers('t', pdnsSide, sbSide).map((d) => `${d.kind} ${d.path}`),
    ['key $.extra', 'rrset $.rrsets{b.x. A}', 'value $.rrsets{c.x. A}.ttl'],
  );
  assert.deepEqual(
    compareAnswers('t', { ...pdnsSide, status: 404 }, sbSide).map((d) => d.kind),
    ['status'],
  );
  const soa = (mname: string, serial: number) =>
    `x. 3600 IN SOA ${mname} hostmaster.x. ${serial} 10800 3600 604800 3600\nWWW.x. 300 IN A 192.0.2.1\n`;
  const text = (t: string): Answer => ({ status: 200, mediaType: 'text/plain', text: t });
  assert.deepEqual(compareAnswers('t', text(soa('a.invalid.', 2026112201)), text(soa('ns1.x.', 7))), []);
});

describe('PowerDNS-compatible API: Switchboard against the real PowerDNS', { skip, timeout: 240_000 }, () => {
  let pdnsServer: PdnsServer | undefined;
  let platform: Platform | undefined;
  let pdns: Side;
  let sb: Side;
  const docText = existsSync(resolve('docs/API.md')) ? readFileSync(resolve('docs/API.md'), 'utf8') : '';
  /** Documented differences met, with their docs/API.md line (reported at the end). */
  const explained = new Map<string, number>();

  before(async () => {
    const started = await Promise.allSettled([
      startPdns(),
      startPlatform({
        apiKey: ADMIN_KEY,
        workers: 1,
        // Where a zone is created without name servers (DNSControl without default_ns).
        extraArgs: ['--nameservers', NS.join(',')],
      }),
    ]);
    // Keep whichever started, so that after() stops it even when the other did not start.
    if (started[0].status === 'fulfilled') pdnsServer = started[0].value;
    if (started[1].status === 'fulfilled') platform = started[1].value;
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    if (!pdnsServer || !platform) throw new Error('unreachable: both servers started');
    // Switchboard answers the PowerDNS API for a tenant's key, as a customer's tool would use it.
    const call = async (path: string, body: unknown): Promise<Json> => {
      const r = await fetch(`${platform?.api}${path}`, {
        method: 'POST',
        headers: { 'X-API-Key': ADMIN_KEY, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = await r.json();
      assert.equal(r.status, 201, `${path}: ${JSON.stringify(json)}`);
      return json;
    };
    const account = await call('/api/v1/accounts', { name: 'pdns-diff' });
    const token = await call('/api/v1/tokens', {
      name: 'pdns-diff',
      accountId: account.id,
      scope: { access: 'write' },
    });
    pdns = {
      name: 'pdns',
      base: pdnsServer.apiUrl,
      key: pdnsServer.apiKey,
      dnsPort: pdnsServer.dnsPort,
      saved: new Map(),
    };
    sb = {
      name: 'switchboard',
      base: platform.api,
      key: token.secret,
      dnsPort: platform.dnsPort,
      saved: new Map(),
    };
  });

  after(async () => {
    await Promise.all([pdnsServer?.stop(), platform?.stop()]);
    if (platform) removeDataDir(platform.dataDir);
  });

  /** Runs `steps` against both servers; fails listing every difference docs/API.md does not explain. */
  async function runScript(flow: string, steps: Step[]): Promise<void> {
    const unexplained: Difference[] = [];
    const scriptErrors: string[] = [];
    for (const step of steps) {
      const label = `${flow}: ${step.label}`;
      if ('dns' in step) {
        for (const [name, type] of step.dns)
          unexplained.push(...(await compareDns(label, pdns, sb, name, type)));
        continue;
      }
      const [a, b] = await Promise.all([send(pdns, step), send(sb, step)]);
      if (VERBOSE) {
        console.error(`${label}\n  pdns ${a.status} ${a.mediaType} ${a.text.slice(0, 2000)}`);
        console.error(`  sb   ${b.status} ${b.mediaType} ${b.text.slice(0, 2000)}`);
      }
      if (step.restore) continue;
      if (a.status !== step.expect)
        scriptErrors.push(
          `[${label}] PowerDNS answered ${a.status}, the script expects ${step.expect}: ${a.text}`,
        );
      for (const d of compareAnswers(label, a, b)) {
        const allowance = ALLOWED.find((x) => x.match(d));
        if (allowance) explained.set(allowance.doc, findDocLine(docText, allowance.doc) ?? 0);
        else unexplained.push(d);
      }
    }
    assert.deepEqual(scriptErrors, [], 'the script no longer does what it says against PowerDNS');
    assert.ok(
      unexplained.length === 0,
      `${unexplained.length} difference(s) from PowerDNS that docs/API.md does not explain:\n\n` +
        unexplained.map(formatDifference).join('\n\n'),
    );
  }

  test('every allow-list entry cites words docs/API.md has', () => {
    assert.ok(docText !== '', 'docs/API.md not found (run from the repository root)');
    const missing = ALLOWED.filter((a) => findDocLine(docText, a.doc) === undefined).map((a) => a.doc);
    assert.deepEqual(missing, []);
  });

  test('discovery', async () => runScript('discovery', discovery));

  test('the server version reads as PowerDNS 4.7 to octoDNS', async () => {
    const r = await send(sb, {
      label: 'version',
      method: 'GET',
      path: '/api/v1/servers/localhost',
      expect: 200,
    });
    // octoDNS: int(p.split('-')[0]) for the first three dot-separated parts, compared to [4, 2] and [4, 3].
    const parts = String(r.json.version)
      .split('.')
      .slice(0, 3)
      .map((p) => Number(p.split('-')[0]));
    assert.ok(parts.every(Number.isInteger) && parts[0] === 4 && parts[1] >= 3, `version ${r.json.version}`);
  });

  test("lego's pdns provider: DNS-01 challenge and cleanup", async () => runScript('lego', lego));
  test('external-dns: records with TXT ownership', async () => runScript('external-dns', externalDns));
  test('octoDNS: create on 404, then a plan', async () => runScript('octoDNS', octodns));
  test('DNSControl / go-powerdns: names without final dot, records null, delete', async () =>
    runScript('DNSControl', dnscontrol));
  test("Terraform's powerdns provider: zone and record lifecycle", async () =>
    runScript('Terraform', terraform));
  test('error cases and all-or-nothing changes', async () => runScript('errors', errors));

  test('documented differences met (diagnostic)', (t) => {
    for (const [doc, line] of [...explained].sort((x, y) => x[1] - y[1]))
      t.diagnostic(`docs/API.md:${line}: ${doc}`);
  });
});
