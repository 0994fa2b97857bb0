/**
 * Issue 7 item 1 under `switchboard start` (`--images on`, 2 workers): records of a zone change
 * through the API while queries run, and no query is lost or answered wrongly — names that do
 * not change always give their address, the changing name only ever gives a value written
 * (never an older one after a newer on one worker), added names answer once acknowledged and
 * removed ones go. The new images are built from the control plane's diffs (the primary's log
 * says how many were patched and that none had to be compiled from text), and a change the
 * patch refuses (an owner spelled with capitals) is compiled from the zone's text instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeMessage } from '../../src/wire/decode.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { buildQuery, queryUdp } from '../helpers/dns-client.js';
import { callApi, type Platform, startPlatform, waitForEveryWorker } from '../helpers/platform.js';
import { waitFor, waitForText } from '../helpers/wait-for.js';

const A = 1;
const ZONE = 'live.test.';
const STABLE = 2000;

function zoneFile(): string {
  const lines = [`$ORIGIN ${ZONE}`, '$TTL 300', '@ NS ns.example.net.', 'c A 10.1.0.0'];
  for (let i = 0; i < STABLE; i++) lines.push(`h${i} A 10.0.${i >> 8}.${i & 255}`);
  return `${lines.join('\n')}\n`;
}

interface Answer {
  rcode: number;
  answers: string[];
  worker: string;
}

/** One query, no retry: a timeout is a lost answer. */
async function ask(port: number, name: string): Promise<Answer> {
  const q = buildQuery({
    name,
    type: A,
    edns: { udpSize: 1232, options: [{ code: 3, data: new Uint8Array(0) }] },
  });
  const r = decodeMessage(await queryUdp(q, { port, timeoutMs: 2000, retries: 0 }));
  const nsid = r.edns?.options.find((o) => o.code === 3);
  return {
    rcode: r.flags & 0xf,
    answers: r.answers.filter((a) => a.type === A).map((a) => rdataToText(a.type, a.rdata)),
    worker: nsid ? Buffer.from(nsid.data).toString('utf8') : '?',
  };
}

describe('start --images on: a zone changed under queries, its images patched from the diffs', () => {
  let platform: Platform;
  let key: string;

  before(async () => {
    platform = await startPlatform({ workers: 2 });
    key = platform.printedKey ?? '';
    assert.ok(key, platform.stderr());
    const res = await callApi(platform.api, key, 'POST', '/api/v1/zones', {
      name: ZONE,
      zonefile: zoneFile(),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await waitForEveryWorker(
      platform.dnsPort,
      `h${STABLE - 1}.${ZONE}`,
      A,
      2,
      (a) => a.answers.length === 1,
      20_000,
    );
  });
  after(async () => {
    await platform?.stop();
  });

  test('no lost or wrong answer while 20 changes land; every change patched, none compiled from text', async () => {
    const problems: string[] = [];
    let queries = 0;
    let stop = false;
    // The highest counter value each worker has answered for c.live.test.
    const seen = new Map<string, number>();
    let written = 0;
    const loop = async (seed: number) => {
      let i = seed;
      while (!stop) {
        i = (i * 7 + 13) % STABLE;
        try {
          const stable = await ask(platform.dnsPort, `h${i}.${ZONE}`);
          queries++;
          const want = `10.0.${i >> 8}.${i & 255}`;
          if (stable.rcode !== 0 || stable.answers.join() !== want)
            problems.push(`h${i}: rcode ${stable.rcode} ${stable.answers.join()} (want ${want})`);
          const upper = written; // values up to this one may be served now
          const c = await ask(platform.dnsPort, `c.${ZONE}`);
          queries++;
          const m = /^10\.1\.0\.(\d+)$/.exec(c.answers.join());
          if (c.rcode !== 0 || !m) problems.push(`c: rcode ${c.rcode} ${c.answers.join()}`);
          else {
            const n = Number(m[1]);
            const before = seen.get(c.worker) ?? 0;
            if (n < before) problems.push(`worker ${c.worker} went back from ${before} to ${n}`);
            if (n > Math.max(upper, written)) problems.push(`c answered ${n} before it was written`);
            seen.set(c.worker, Math.max(before, n));
          }
        } catch (err) {
          problems.push(`lost: ${(err as Error).message}`);
        }
      }
    };
    const loops = [loop(1), loop(2), loop(3)];
    try {
      for (let v = 1; v <= 20; v++) {
        written = v;
        const res = await callApi(platform.api, key, 'PATCH', `/api/v1/zones/${ZONE}/rrsets`, {
          changes: [
            { op: 'replace', name: `c.${ZONE}`, type: 'A', ttl: 300, records: [{ content: `10.1.0.${v}` }] },
            {
              op: 'replace',
              name: `n${v}.x.${ZONE}`,
              type: 'A',
              ttl: 60,
              records: [{ content: `10.2.0.${v}` }],
            },
            { op: 'delete', name: `n${v - 1}.x.${ZONE}`, type: 'A' },
          ],
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        await waitForEveryWorker(
          platform.dnsPort,
          `c.${ZONE}`,
          A,
          2,
          (a) => a.answers.join() === `10.1.0.${v}`,
          10_000,
        );
        const added = await ask(platform.dnsPort, `n${v}.x.${ZONE}`);
        assert.deepEqual([added.rcode, added.answers], [0, [`10.2.0.${v}`]]);
        if (v > 1) assert.equal((await ask(platform.dnsPort, `n${v - 1}.x.${ZONE}`)).rcode, 3); // NXDOMAIN
      }
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    assert.deepEqual(problems, [], `${problems.length} problems in ${queries} queries`);
    assert.ok(queries > 100, `only ${queries} queries`);
    // The first summary line is logged at once (by the primary, perhaps after the workers answer
    // the change); every change so far was patched.
    const summary =
      /zone images from the control plane's diffs: (\d+) patched \(\d+ of them delta images\), (\d+) compiled from text instead/;
    const line = summary.exec(await waitForText('the primary', platform.stderr, summary));
    assert.ok(line, platform.stderr());
    assert.ok(Number(line[1]) >= 1);
    assert.equal(Number(line[2]), 0);
    assert.doesNotMatch(platform.stderr(), /compiling its text|not compiled/);
  });

  test('changes that keep the names are delta images; their workers answer the new values', async () => {
    // The summary line is logged at most every 10 s: the changes, a pause, one more change.
    const change = async (v: number) => {
      const res = await callApi(platform.api, key, 'PATCH', `/api/v1/zones/${ZONE}/rrsets`, {
        changes: [
          { op: 'replace', name: `c.${ZONE}`, type: 'A', ttl: 300, records: [{ content: `10.1.0.${v}` }] },
          { op: 'replace', name: `h5.${ZONE}`, type: 'TXT', ttl: 300, records: [{ content: `"v${v}"` }] },
        ],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await waitForEveryWorker(
        platform.dnsPort,
        `c.${ZONE}`,
        A,
        2,
        (a) => a.answers.join() === `10.1.0.${v}`,
        10_000,
      );
    };
    const summaries = () => [
      ...platform
        .stderr()
        .matchAll(
          /zone images from the control plane's diffs: (\d+) patched \((\d+) of them delta images\), (\d+) compiled from text instead/g,
        ),
    ];
    for (let v = 30; v < 33; v++) await change(v);
    await new Promise((r) => setTimeout(r, 10_500));
    const before = summaries().length;
    await change(33);
    // The line for the last change: the primary may log it after the workers answer it.
    await waitFor('a summary line after the last change', async () => summaries().length > before, 15_000);
    const last = summaries().at(-1);
    assert.ok(last, platform.stderr());
    assert.ok(Number(last[2]) >= 3, last[0]);
    assert.equal(Number(last[3]), 0);
    const stable = await ask(platform.dnsPort, `h7.${ZONE}`);
    assert.deepEqual(stable.answers, ['10.0.0.7']);
  });

  test('a change the patch refuses (an owner spelled with capitals) is compiled from the text', async () => {
    const res = await callApi(platform.api, key, 'PATCH', `/api/v1/zones/${ZONE}/rrsets`, {
      changes: [
        { op: 'replace', name: `Mixed.${ZONE}`, type: 'A', ttl: 60, records: [{ content: '10.3.0.1' }] },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await waitForEveryWorker(
      platform.dnsPort,
      `mixed.${ZONE}`,
      A,
      2,
      (a) => a.answers.join() === '10.3.0.1',
      10_000,
    );
    await waitForText('the primary', platform.stderr, /spelled with capitals; compiling its text/);
    const stable = await ask(platform.dnsPort, `h7.${ZONE}`);
    assert.deepEqual(stable.answers, ['10.0.0.7']);
  });
});
