import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkZoneCommand } from './check-zone.js';

const dir = mkdtempSync(join(tmpdir(), 'check-zone-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(name: string, text: string, opts: { origin?: string; print?: boolean } = {}) {
  const path = join(dir, name);
  writeFileSync(path, text);
  let out = '';
  let err = '';
  const code = await checkZoneCommand(path, opts, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err, path };
}

const GOOD = `$TTL 1h
@   SOA ns hostmaster 2026112201 2h 30m 2w 5m
@   NS  ns
ns  A   192.0.2.53
`;

describe('check-zone command', () => {
  test('a good zone: loaded serial and OK, exit 0', async () => {
    const r = await run('example.com.zone', GOOD);
    assert.equal(r.code, 0);
    assert.equal(r.out, 'zone example.com/IN: loaded serial 2026112201\nOK\n');
    assert.equal(r.err, '');
  });

  test('a bad zone: each error as file:line: message, exit 1', async () => {
    const r = await run('bad.zone', `${GOOD}www A 1.2.3\nmx MX x y\n`, { origin: 'example.com' });
    assert.equal(r.code, 1);
    const lines = r.out.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0], new RegExp(`^${r.path.replace(/[.]/g, '\\.')}:5: A address: '1\\.2\\.3'`));
    assert.match(lines[1], /:6: MX preference: 'x'/);
    assert.equal(lines[2], 'zone example.com/IN: not loaded due to errors.');
  });

  test('warnings are printed and do not fail the zone', async () => {
    const r = await run('w.example.zone', `${GOOD}@ MX 10 nowhere\n`);
    assert.equal(r.code, 0);
    assert.match(
      r.out,
      /^zone w\.example\/IN: .*:5: w\.example\.\/MX: MX 'nowhere\.w\.example\.' has no address records/m,
    );
    assert.match(r.out, /OK\n$/);
  });

  test('--print writes the canonical zone to stdout and the verdict to stderr', async () => {
    const r = await run('p.example.zone', GOOD, { print: true });
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      'p.example.\t3600\tIN\tSOA\tns.p.example. hostmaster.p.example. 2026112201 7200 1800 1209600 300\n' +
        'p.example.\t3600\tIN\tNS\tns.p.example.\n' +
        'ns.p.example.\t3600\tIN\tA\t192.0.2.53\n',
    );
    assert.equal(r.err, 'zone p.example/IN: loaded serial 2026112201\nOK\n');
  });

  test('the root zone is labelled "."', async () => {
    const r = await run('root.zone', GOOD.replace('ns  A', 'ns.  A').replace('@   NS  ns', '@ NS ns.'), {
      origin: '.',
    });
    assert.equal(r.out.split('\n')[0], 'zone ./IN: loaded serial 2026112201');
  });

  test("the origin comes from the file's $ORIGIN, wherever it is, before the file name", async () => {
    const r = await run(
      'named-otherwise.zone',
      `$TTL 1h\n$ORIGIN shop.test.\n${GOOD.replace('$TTL 1h\n', '')}`,
    );
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, 'zone shop.test/IN: loaded serial 2026112201\nOK\n');
    const late = await run(
      'late.zone',
      `$TTL 1h\nshop.test. SOA ns.shop.test. h.shop.test. 1 2 3 4 5\n$ORIGIN shop.test.\n@ NS ns\nns A 192.0.2.1\n`,
    );
    assert.equal(late.code, 0, late.out);
    const bad = await run('bad-origin.zone', `$ORIGIN shop.test.\n${GOOD}x A 1.2.3\n`);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /zone shop\.test\/IN: not loaded due to errors\.\n$/);
  });

  test('an SOA at another name than the origin suggests --origin', async () => {
    const text = `$TTL 1h\nshop.test. SOA ns.shop.test. h.shop.test. 1 2 3 4 5\nshop.test. NS ns.shop.test.\n`;
    const r = await run('shop.zone', text);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /^hint: the file's SOA is at shop\.test\. but it was read with origin shop\. \(from the file name\); try --origin shop\.test\.$/m,
    );
    const given = await run('shop2.zone', text, { origin: 'other.test' });
    assert.match(given.out, /^hint: .*read with origin other\.test\. \(--origin\); is --origin right\?$/m);
    const right = await run('shop3.zone', `${text}ns.shop.test. A 192.0.2.1\n`, { origin: 'shop.test' });
    assert.equal(right.code, 0, right.out);
  });

  test('an unreadable file is reported, exit 1', async () => {
    let out = '';
    const code = await checkZoneCommand(
      join(dir, 'missing.zone'),
      {},
      { out: (t) => (out += t), err: () => {} },
    );
    assert.equal(code, 1);
    assert.match(out, /missing\.zone: ENOENT/);
  });
});
