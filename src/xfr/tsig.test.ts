/**
 * TSIG against real peers: kdig and dig sign queries (`-y ALG:NAME:SECRET`) that a loopback
 * socket here captures and `verifyTsigRequest` checks, and they check the responses that
 * `TsigSigner` / `signTsigError` sign (a peer that finds a bad MAC says so). Skipped with a
 * message when kdig or dig is missing (SWITCHBOARD_REQUIRE_PEERS=1 fails instead).
 * @module
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { describe, test } from 'node:test';
import { skipUnlessCommands } from '../../test/helpers/peers.js';
import { Name } from '../wire/name.js';
import {
  findTsig,
  makeTsigKey,
  parseTsigKeySpec,
  signTsigError,
  TSIG_ALGORITHMS,
  type TsigAlgorithm,
  TsigError,
  type TsigKey,
  type TsigRecord,
  TsigSigner,
  tsigNow,
  verifyTsigRequest,
} from './tsig.js';

const skip = skipUnlessCommands('kdig', 'dig');

const SECRET = Buffer.from('switchboard-tsig-test-secret-0123456789').toString('base64');
const OTHER = Buffer.from('another-secret-of-some-length-9876543210').toString('base64');

/** The answer to a captured query: a NOERROR header echoing the question. */
function answerOf(query: Uint8Array): Uint8Array {
  const tsig = findTsig(query) as TsigRecord;
  const end = tsig === undefined ? query.length : tsig.offset;
  // Header and question only (the query has QDCOUNT 1 and its OPT, if any, after the question).
  let at = 12;
  while (query[at] !== 0) at += query[at] + 1;
  at += 5;
  const out = Uint8Array.from(query.subarray(0, Math.min(at, end)));
  out[2] = 0x84 | (query[2] & 0x01);
  out[3] = 0;
  out.fill(0, 6, 12);
  return out;
}

/**
 * Runs `cmd args…` against a UDP socket that hands each query to `reply`; resolves with the
 * captured queries and the peer's output.
 */
async function exchange(
  cmd: string,
  args: string[],
  reply: (query: Uint8Array) => Uint8Array | undefined,
): Promise<{ queries: Uint8Array[]; output: string; code: number | null }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const port = sock.address().port;
  const queries: Uint8Array[] = [];
  sock.on('message', (msg, rinfo) => {
    const q = new Uint8Array(msg);
    queries.push(q);
    const r = reply(q);
    if (r) sock.send(r, rinfo.port, rinfo.address);
  });
  const child = spawn(cmd, ['@127.0.0.1', '-p', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  sock.close();
  return { queries, output, code };
}

const kdigTiming = ['+retry=0', '+timeout=2', '+notcp'];
const digTiming = ['+tries=1', '+timeout=2', '+notcp'];

function lookupOf(...keys: TsigKey[]): (name: Name) => TsigKey | undefined {
  return (name) => keys.find((k) => k.name.key === name.key);
}

describe('TSIG with kdig and dig', { skip }, () => {
  for (const alg of Object.keys(TSIG_ALGORITHMS) as TsigAlgorithm[]) {
    test(`${alg}: kdig's signed query verifies, and kdig accepts our signed answer`, async () => {
      const key = makeTsigKey('tsig-test.example', alg, SECRET);
      let verdictOk = false;
      const r = await exchange(
        'kdig',
        ['-y', `${alg}:tsig-test.example:${SECRET}`, 'SOA', 'example.com', ...kdigTiming],
        (q) => {
          const tsig = findTsig(q);
          assert.ok(tsig !== undefined && tsig !== 'malformed');
          const v = verifyTsigRequest(q, tsig, lookupOf(key));
          verdictOk = v.ok;
          return new TsigSigner(key, tsig.mac).sign(answerOf(q));
        },
      );
      assert.ok(verdictOk, 'the request did not verify');
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /status: NOERROR/);
      assert.doesNotMatch(r.output, /WARNING|BADSIG|failed/i, r.output);
    });
  }

  test('kdig rejects an answer whose MAC does not match (so the checks above mean something)', async () => {
    const key = makeTsigKey('tsig-test.example', 'hmac-sha256', SECRET);
    const wrong = makeTsigKey('tsig-test.example', 'hmac-sha256', OTHER);
    const r = await exchange(
      'kdig',
      ['-y', `hmac-sha256:tsig-test.example:${SECRET}`, 'SOA', 'example.com', ...kdigTiming],
      (q) => {
        const tsig = findTsig(q) as TsigRecord;
        assert.ok(verifyTsigRequest(q, tsig, lookupOf(key)).ok);
        return new TsigSigner(wrong, tsig.mac).sign(answerOf(q));
      },
    );
    assert.match(r.output, /WARNING: reply verification .*failed to verify TSIG/, r.output);
  });

  test('a wrong secret is BADSIG, an unknown name or another algorithm BADKEY; kdig reads the unsigned errors', async () => {
    const key = makeTsigKey('tsig-test.example', 'hmac-sha256', SECRET);
    const cases: [string, number][] = [
      [`hmac-sha256:tsig-test.example:${OTHER}`, TsigError.BADSIG],
      [`hmac-sha256:nobody.example:${SECRET}`, TsigError.BADKEY],
      [`hmac-sha512:tsig-test.example:${SECRET}`, TsigError.BADKEY],
    ];
    for (const [spec, error] of cases) {
      let got = -1;
      const r = await exchange('kdig', ['-y', spec, 'SOA', 'example.com', ...kdigTiming], (q) => {
        const tsig = findTsig(q) as TsigRecord;
        const v = verifyTsigRequest(q, tsig, lookupOf(key));
        assert.equal(v.ok, false);
        if (v.ok) return undefined;
        got = v.error;
        const head = answerOf(q);
        head[3] = 9; // NOTAUTH
        return signTsigError(head, v);
      });
      assert.equal(got, error, spec);
      assert.match(r.output, error === TsigError.BADSIG ? /BADSIG/ : /BADKEY/, r.output);
    }
  });

  test('BADTIME: answered signed with the client time, ours in Other Data; kdig verifies and reports it', async () => {
    const key = makeTsigKey('tsig-test.example', 'hmac-sha256', SECRET);
    let verdict: ReturnType<typeof verifyTsigRequest> | undefined;
    const r = await exchange(
      'kdig',
      ['-y', `hmac-sha256:tsig-test.example:${SECRET}`, 'SOA', 'example.com', ...kdigTiming],
      (q) => {
        const tsig = findTsig(q) as TsigRecord;
        // Our clock 1,000 s ahead of the client's: outside its fudge of 300.
        verdict = verifyTsigRequest(q, tsig, lookupOf(key), tsigNow() + 1000);
        if (verdict.ok) return undefined;
        const head = answerOf(q);
        head[3] = 9;
        return signTsigError(head, verdict, tsigNow() + 1000);
      },
    );
    assert.ok(verdict && !verdict.ok && verdict.error === TsigError.BADTIME && verdict.key !== undefined);
    assert.match(r.output, /BADTIME/, r.output);
  });

  test('truncated MACs (dig hmac-sha256-128): accepted; below max(10, half the hash): FORMERR', async () => {
    const key = makeTsigKey('tsig-test.example', 'hmac-sha256', SECRET);
    const ok = await exchange(
      'dig',
      ['-y', `hmac-sha256-128:tsig-test.example:${SECRET}`, 'SOA', 'example.com', ...digTiming],
      (q) => {
        const tsig = findTsig(q) as TsigRecord;
        assert.equal(tsig.mac.length, 16);
        const v = verifyTsigRequest(q, tsig, lookupOf(key));
        assert.ok(v.ok, 'a 128-bit truncated MAC must verify');
        return new TsigSigner(key, tsig.mac).sign(answerOf(q));
      },
    );
    assert.match(ok.output, /status: NOERROR/, ok.output);
    assert.doesNotMatch(ok.output, /Couldn't verify|failed/i, ok.output);
    let short: ReturnType<typeof verifyTsigRequest> | undefined;
    await exchange(
      'dig',
      ['-y', `hmac-sha256-80:tsig-test.example:${SECRET}`, 'SOA', 'example.com', ...digTiming],
      (q) => {
        const tsig = findTsig(q) as TsigRecord;
        assert.equal(tsig.mac.length, 10);
        short = verifyTsigRequest(q, tsig, lookupOf(key));
        return undefined;
      },
    );
    assert.ok(short && !short.ok && short.rcode === 1, 'a 10-octet MAC of SHA-256 is FORMERR');
  });
});

describe('TSIG records and keys', () => {
  test('findTsig: none, malformed (truncated, not last), and the record read back', () => {
    const key = makeTsigKey('k.example', 'hmac-sha256', SECRET);
    const header = Uint8Array.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1]);
    assert.equal(findTsig(header), undefined);
    const signed = new TsigSigner(key, new Uint8Array(0)).sign(header, 1_700_000_000);
    const t = findTsig(signed);
    assert.ok(t !== undefined && t !== 'malformed');
    assert.equal(t.keyName.toString(), 'k.example.');
    assert.equal(t.timeSigned, 1_700_000_000);
    assert.equal(t.mac.length, 32);
    assert.equal(t.originalId, 0x1234);
    for (let cut = 1; cut < signed.length - header.length; cut++)
      assert.equal(findTsig(signed.subarray(0, signed.length - cut)), 'malformed', `cut ${cut}`);
    // An RR after the TSIG (ARCOUNT + 1 and a root OPT appended): not last.
    const after = new Uint8Array(signed.length + 11);
    after.set(signed);
    after.set([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0], signed.length);
    after[11] = 2;
    assert.equal(findTsig(after), 'malformed');
  });

  test('later messages are signed with the prior MAC and the timers only (RFC 8945 §5.3.1)', () => {
    const key = makeTsigKey('k.example', 'hmac-sha256', SECRET);
    const msg = Uint8Array.from([0, 1, 0x84, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const s = new TsigSigner(key, new Uint8Array([1, 2, 3]));
    const first = findTsig(s.sign(msg, 100)) as TsigRecord;
    const second = findTsig(s.sign(msg, 100)) as TsigRecord;
    assert.notDeepEqual(first.mac, second.mac);
    // The same chain computed again gives the same MACs.
    const again = new TsigSigner(key, new Uint8Array([1, 2, 3]));
    assert.deepEqual((findTsig(again.sign(msg, 100)) as TsigRecord).mac, first.mac);
    assert.deepEqual((findTsig(again.sign(msg, 100)) as TsigRecord).mac, second.mac);
  });

  test('key specs: NAME:ALG:SECRET, algorithm spellings, errors that never show the secret', () => {
    const k = parseTsigKeySpec(`edge1:HMAC-SHA256.:${SECRET}`);
    assert.equal(k.algorithm, 'hmac-sha256');
    assert.equal(k.name.toString(), 'edge1.');
    assert.equal(parseTsigKeySpec(`old:hmac-md5.sig-alg.reg.int:${SECRET}`).algorithm, 'hmac-md5');
    for (const bad of [
      'edge1',
      `edge1:${SECRET}`,
      'edge1:hmac-sha999:AAAA',
      'edge1:hmac-sha256:not base64!',
      'edge1:hmac-sha256:',
    ])
      assert.throws(
        () => parseTsigKeySpec(bad),
        (e: Error) => !e.message.includes('not base64!') && !e.message.includes(SECRET),
      );
    assert.equal(Name.parse('EDGE1.').key, k.name.key);
  });
});
