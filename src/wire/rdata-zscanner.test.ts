/**
 * Knot's libzscanner golden tests as an oracle for RDATA text parsing: every record line of
 * ../shared/testdata/knot/libzscanner/NN_TYPE.in must give the wire RDATA of the matching
 * `.out` entry, or fail where Knot reports an error. Known, deliberate differences are listed.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedFile } from '../../test/helpers/paths.js';
import { tokens } from '../../test/helpers/rdata-fixtures.js';
import { typeFromString } from './constants.js';
import { Name } from './name.js';
import { rdataFromText, rdataToText } from './rdata.js';

/** file:line → why we differ from Knot. */
const deviations: Record<string, string> = {
  '12_TXT.in:21': 'test harness joins lines, losing the newline inside the quoted string',
  '12_TXT.in:37': 'test harness quoting differs from a real lexer for """',
  '14_NS.in:31': 'which unescaped characters a name may hold is Name.parse policy (name.ts)',
  '14_NS.in:32': 'which unescaped characters a name may hold is Name.parse policy (name.ts)',
  '18_MX.in:22': 'which unescaped characters a name may hold is Name.parse policy (name.ts)',
  '26_SRV.in:20': 'which unescaped characters a name may hold is Name.parse policy (name.ts)',
  '36_RRSIG.in:36': 'which unescaped characters a name may hold is Name.parse policy (name.ts)',
  '29_CERT.in:52': 'base64 may be split anywhere across tokens (BIND does the same)',
  '30_KEY.in:25': 'base64 may be split anywhere across tokens (BIND does the same)',
  '31_DNSKEY.in:26': 'base64 may be split anywhere across tokens (BIND does the same)',
  '36_RRSIG.in:40': 'base64 may be split anywhere across tokens (BIND does the same)',
  '38_DHCID.in:21': 'base64 may be split anywhere across tokens (BIND does the same)',
  '50_CDNSKEY.in:26': 'base64 may be split anywhere across tokens (BIND does the same)',
  '36_RRSIG.in:33': 'dates past 2106 wrap per RFC 4034 §3.1.5 serial arithmetic, as in BIND',
  '47_L64.in:20': 'groups of 1-4 hex digits are read, as BIND prints them without leading zeros',
  '52_CAA.in:14': 'RFC 8659 §4.1: the tag length MUST be at least 1',
  '56_ZONEMD.in:5': 'RFC 8976 §2.2.4: the digest MUST NOT be shorter than 12 octets',
  '56_ZONEMD.in:6': 'RFC 8976 §2.2.4: the digest MUST NOT be shorter than 12 octets',
  '56_ZONEMD.in:7': 'RFC 8976 §2.2.4: the digest MUST NOT be shorter than 12 octets',
  '56_ZONEMD.in:8': 'RFC 8976 §2.2.4: the digest MUST NOT be shorter than 12 octets',
  '56_ZONEMD.in:9': 'RFC 8976 §2.2.4: the digest MUST NOT be shorter than 12 octets',
  '56_ZONEMD.in:10': 'RFC 8976 §2.2.4: the digest MUST NOT be shorter than 12 octets',
  '57_SVCB.in:14': 'RFC 9460 §2.4.3/§7.1.1 self-consistency: no-default-alpn needs alpn (as BIND)',
  '57_SVCB.in:27': 'RFC 9460 §14.3.2: key65535 is reserved ("Invalid key")',
  '57_SVCB.in:28': 'RFC 9460 §14.3.2: key65535 is reserved ("Invalid key")',
  '57_SVCB.in:29': 'RFC 9460 §14.3.2: key65535 is reserved ("Invalid key")',
  '57_SVCB.in:30': 'RFC 9460 §14.3.2: key65535 is reserved ("Invalid key")',
  '58_HTTPS.in:9': 'RFC 9460 §14.3.2: key65535 is reserved ("Invalid key")',
};

/** Logical lines (parentheses joined, comments dropped) with their first line number. */
function logicalLines(src: string): [number, string][] {
  const out: [number, string][] = [];
  let cur = '';
  let depth = 0;
  let quoted = false;
  let line = 1;
  let start = 1;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\' && i + 1 < src.length) {
      cur += c + src[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (!quoted && c === ';') {
      while (i + 1 < src.length && src[i + 1] !== '\n') i++;
      continue;
    }
    if (!quoted && (c === '(' || c === ')')) {
      depth += c === '(' ? 1 : -1;
      cur += ' ';
      continue;
    }
    if (c === '\n') {
      line++;
      if (depth > 0 || quoted) {
        cur += ' ';
        continue;
      }
      if (cur.trim()) out.push([start, cur]);
      cur = '';
      start = line;
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push([start, cur]);
  return out;
}

const dir = sharedFile('knot/libzscanner/10_A.in');

test('Knot libzscanner RDATA golden tests', { skip: dir.skip }, () => {
  const base = join(dir.path, '..');
  const files = readdirSync(base).filter((f) => /^[1-6]\d_[A-Z0-9]+\.in$/.test(f) && !/ALIAS|DELEG/.test(f));
  assert.ok(files.length > 40);
  const failures: string[] = [];
  let checked = 0;
  for (const file of files.sort()) {
    const expected = readFileSync(join(base, file.replace(/\.in$/, '.out')), 'latin1')
      .split('------\n')
      .filter((e) => e.trim() !== '')
      .map((e) => /RDATA=([0-9A-F]*)/.exec(e)?.[1] ?? 'ERROR');
    let origin = Name.ROOT;
    let k = 0;
    for (const [line, text] of logicalLines(readFileSync(join(base, file), 'latin1'))) {
      if (text.startsWith('$ORIGIN')) {
        origin = Name.parse(text.trim().split(/\s+/)[1], Name.ROOT);
        continue;
      }
      if (text.startsWith('$')) continue;
      const toks = tokens(text);
      // Owner first (unless the line starts blank), then optional TTL and class.
      let ti = /^\s/.test(text) ? 0 : 1;
      while (ti < toks.length && (/^\d+$/.test(toks[ti].text) || /^(IN|CH)$/i.test(toks[ti].text))) ti++;
      const want = expected[k++];
      const where = `${file}:${line}`;
      let got: string;
      try {
        const type = toks[ti] ? typeFromString(toks[ti].text) : undefined;
        if (type === undefined) throw new Error('unknown type');
        const wire = rdataFromText(type, toks.slice(ti + 1), origin);
        got = Buffer.from(wire).toString('hex').toUpperCase();
        // What we print must read back to the same octets.
        const again = rdataFromText(type, tokens(rdataToText(type, wire)), undefined);
        if (Buffer.from(again).toString('hex').toUpperCase() !== got)
          failures.push(`${where}: reprint differs`);
      } catch {
        got = 'ERROR';
      }
      checked++;
      if ((got === want) === (deviations[where] !== undefined))
        failures.push(
          `${where}: ${text.trim().slice(0, 60)} → Knot ${want.slice(0, 40)}, us ${got.slice(0, 40)}`,
        );
    }
  }
  assert.ok(checked > 800, `only ${checked} records checked`);
  assert.deepEqual(failures, []);
});
