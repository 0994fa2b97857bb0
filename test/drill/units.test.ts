/**
 * The drill's pieces without a server: target validation, hard stops, scenarios, the query
 * and response codec, the population's addresses, the zone set, and the HTML report.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkHardStops,
  DrillConfigError,
  dyn2016,
  htmlReport,
  isLoopbackAddress,
  parseScenario,
  parseTarget,
  zoneText,
} from '../../src/drill/index.js';
import { readResponse, wireName, writeQuery } from '../../src/drill/packet.js';
import { botAddress, LONE_MAX, makeResolvers } from '../../src/drill/population.js';
import { seeded, Zipf } from '../../src/drill/random.js';
import type { DrillReport } from '../../src/drill/run.js';
import { waveOfPhases } from '../../src/drill/scenario.js';
import { numberToIpv4 } from '../../src/drill/target.js';

test('targets: loopback only, anything else refused with the field named', () => {
  assert.deepEqual(parseTarget('127.0.0.1:53'), { host: '127.0.0.1', port: 53, family: 4 });
  assert.deepEqual(parseTarget('127.255.3.4:5300'), { host: '127.255.3.4', port: 5300, family: 4 });
  assert.deepEqual(parseTarget('[::1]:53'), { host: '::1', port: 53, family: 6 });
  assert.deepEqual(parseTarget('[0:0:0:0:0:0:0:1]:53').family, 6);
  for (const bad of [
    '8.8.8.8:53',
    '10.0.0.1:53',
    '128.0.0.1:53',
    '0.0.0.0:53',
    '[::]:53',
    '[::2]:53',
    '[::ffff:127.0.0.1]:53',
    '[fe80::1]:53',
    'localhost:53',
    '127.0.0.1',
    '127.0.0.1:0',
    '127.0.0.1:70000',
    '',
  ])
    assert.throws(
      () => parseTarget(bad),
      (e: unknown) => e instanceof DrillConfigError && /--target/.test(e.message),
      bad,
    );
  assert.equal(isLoopbackAddress('127.9.9.9'), true);
  assert.equal(isLoopbackAddress('::1'), true);
  assert.equal(isLoopbackAddress('1.2.3.4'), false);
});

test('hard stops: both required, positive and bounded', () => {
  assert.deepEqual(checkHardStops('10', '1000'), { maxSeconds: 10, maxPackets: 1000 });
  assert.throws(() => checkHardStops(undefined, '1000'), /--max-seconds/);
  assert.throws(() => checkHardStops('10', undefined), /--max-packets/);
  assert.throws(() => checkHardStops('0', '10'), /--max-seconds/);
  assert.throws(() => checkHardStops('3601', '10'), /--max-seconds/);
  assert.throws(() => checkHardStops('10', '0'), /--max-packets/);
  assert.throws(() => checkHardStops('10', '1.5'), /--max-packets/);
  assert.throws(() => checkHardStops('10', String(3e9)), /--max-packets/);
});

test('scenarios: dyn-2016 has a baseline and three waves with calm between; files are checked', () => {
  const s = dyn2016({ baseline: 5, wave: 10, calm: 4, multiple: 3 });
  assert.deepEqual(
    s.phases.map((p) => p.name),
    ['baseline', 'wave1', 'calm1', 'wave2', 'calm2', 'wave3', 'calm3'],
  );
  assert.equal(s.phases[1].attack?.multiple, 3);
  assert.ok(!s.phases[0].classes.includes('new'), 'new resolvers first appear with the attack');
  assert.ok(s.phases[1].classes.includes('new'));
  assert.ok(!s.phases[0].classes.includes('lone') && s.phases[1].classes.includes('lone'));
  // The wave each phase is or follows: the lone class's group that sends then.
  assert.deepEqual(waveOfPhases(s), [-1, 0, 0, 1, 1, 2, 2]);
  const c = parseScenario({
    phases: [
      { name: 'a', seconds: 2 },
      { seconds: 3, attack: { rate: 1000, mix: { direct: 1 } } },
    ],
  });
  assert.equal(c.phases[1].name, 'phase2');
  assert.equal(c.phases[1].attack?.rate, 1000);
  for (const [bad, re] of [
    [{}, /phases/],
    [{ phases: [{ seconds: 0 }] }, /seconds/],
    [{ phases: [{ seconds: 1, classes: ['bogus'] }] }, /classes/],
    [{ phases: [{ seconds: 1, attack: { rate: 1, multiple: 2 } }] }, /exactly one/],
    [{ phases: [{ seconds: 1, attack: { rate: 1, mix: { flood: 1 } } }] }, /mix/],
    [{ phases: [{ seconds: 1, attack: { rate: 1, mix: { direct: 0 } } }] }, /no weight/],
    [{ phases: [{ seconds: 1, attack: { rate: 1, tcp: { syn: 1 } } }] }, /tcp/],
    [{ phases: [{ seconds: 1, attack: { rate: 1, tcp: { slow: -1 } } }] }, /tcp\.slow/],
  ] as const)
    assert.throws(() => parseScenario(bad), re);
});

test('queries and responses: the codec reads what a server would send back', () => {
  const name = wireName('n7.z1.drill');
  const buf = new Uint8Array(200);
  const cookie = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const len = writeQuery(buf, 0, 0x1234, name, 1, { size: 1232, cookie });
  const q = buf.subarray(0, len);
  assert.equal(q[0], 0x12);
  assert.equal(q[11], 1, 'one OPT record');
  // Make a response: QR AA, one A record with a compressed owner, and the query's OPT with a longer cookie.
  const opt = q.subarray(12 + name.length + 4);
  const rr = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 0, 7];
  const resp = new Uint8Array([...q.subarray(0, 12 + name.length + 4), ...rr, ...opt]);
  resp[2] = 0x84;
  resp[7] = 1;
  const info = readResponse(resp, name, 1);
  assert.ok(info);
  assert.equal(info.rcode, 0);
  assert.deepEqual(info.a, [(10 << 24) | (1 << 16) | 7]);
  assert.deepEqual([...(info.cookie ?? [])], [...cookie]);
  assert.equal(readResponse(resp, wireName('n8.z1.drill'), 1), undefined, 'another question');
  assert.equal(readResponse(q, name, 1), undefined, 'not a response');
  // Truncated and garbage responses never throw.
  for (let cut = 0; cut < resp.length; cut++) readResponse(resp.subarray(0, cut), name, 1);
  const rand = seeded(7);
  for (let i = 0; i < 2000; i++) {
    const junk = resp.slice();
    junk[12 + Math.floor(rand() * (junk.length - 12))] = Math.floor(rand() * 256);
    readResponse(junk, name, 1);
  }
});

test('population: resolvers in classes, NAT resolvers share a /24 with bots, bots go past 127.2/16', () => {
  const r = makeResolvers(200, 10_000, 1);
  assert.equal(r.length, 200);
  const by = (c: string) => r.filter((x) => x.cls === c);
  for (const c of ['steady', 'new', 'nat', 'plain', 'storm']) assert.ok(by(c).length > 0, c);
  assert.equal(new Set(r.map((x) => x.address)).size, 200, 'one address each');
  const botBlocks = new Set(Array.from({ length: 10_000 }, (_, b) => botAddress(b) >>> 8));
  for (const n of by('nat')) assert.ok(botBlocks.has(n.address >>> 8), numberToIpv4(n.address));
  for (const s of by('steady')) assert.match(numberToIpv4(s.address), /^127\.1\./);
  assert.ok(by('plain').every((x) => !x.modern));
  assert.ok(by('storm').every((x) => x.stormFactor >= 10 && x.stormFactor <= 20));
  assert.equal(numberToIpv4(botAddress(0)), '127.2.0.1');
  assert.equal(numberToIpv4(botAddress(249)), '127.2.0.250');
  assert.equal(numberToIpv4(botAddress(250)), '127.2.1.1');
  assert.match(numberToIpv4(botAddress(70_000)), /^127\.3\./);
  assert.equal(new Set(Array.from({ length: 20_000 }, (_, b) => botAddress(b))).size, 20_000);
});

test('population: the lone class, a group per wave, each resolver alone in a /24 no bot or other resolver uses', () => {
  // The other classes at their largest (20,000 resolvers: 127.1.0-79) and bots past 127.2/16.
  const bots = 100_000;
  const r = makeResolvers(20_000, bots, 1, undefined, { perWave: 16, waves: 3 });
  const lone = r.filter((x) => x.cls === 'lone');
  assert.equal(r.length, 20_000 + 48);
  assert.equal(lone.length, 48);
  assert.deepEqual(
    [0, 1, 2].map((w) => lone.filter((x) => x.wave === w).length),
    [16, 16, 16],
  );
  assert.ok(lone.every((x) => x.modern && x.stormFactor === 1));
  assert.ok(r.every((x) => (x.cls === 'lone') === (x.wave !== undefined)));
  const others = new Set(r.filter((x) => x.cls !== 'lone').map((x) => x.address >>> 8));
  const botBlocks = new Set(Array.from({ length: bots }, (_, b) => botAddress(b) >>> 8));
  const loneBlocks = new Set(lone.map((x) => x.address >>> 8));
  assert.equal(loneBlocks.size, 48, 'one /24 each');
  for (const b of loneBlocks) assert.ok(!others.has(b) && !botBlocks.has(b), numberToIpv4(b << 8));
  assert.equal(numberToIpv4(lone[0].address), '127.1.128.1');
  assert.match(numberToIpv4(lone[47].address), /^127\.1\.175\.1$/);
  assert.equal(makeResolvers(200, 10_000, 1).filter((x) => x.cls === 'lone').length, 0, 'none unless asked');
  assert.throws(() => makeResolvers(200, 10_000, 1, undefined, { perWave: LONE_MAX, waves: 2 }), /--lone/);
});

test('Zipf: rank 0 is the most popular, every rank reachable', () => {
  const z = new Zipf(100, 1);
  const rand = seeded(3);
  const counts = new Array(100).fill(0);
  for (let i = 0; i < 50_000; i++) counts[z.sample(rand)]++;
  assert.ok(counts[0] > counts[1] && counts[1] > counts[10] && counts[10] > counts[99]);
  assert.ok(counts[99] > 0);
});

test('zone set: names, addresses and a large TXT RRset', () => {
  const text = zoneText({ zones: 2, names: 3 }, 1);
  assert.match(text, /^\$ORIGIN z1\.drill\.$/m);
  assert.match(text, /^n2 IN A 10\.1\.0\.2$/m);
  assert.equal(text.match(/^big IN TXT/gm)?.length, 6);
});

test('HTML report: self-contained (no external asset, no script) with an SVG timeline', () => {
  const e = { queries: 10, answered: 9, success: 0.9, firstTry: 0.8, tcp: 0, p50Ms: 1, p99Ms: 3200 };
  const report: DrillReport = {
    version: 1,
    scenario: 'dyn-2016',
    label: '<b>x</b>',
    target: '127.0.0.1:53',
    startedAt: 'now',
    seed: 1,
    io: {
      legit: 'l',
      attack: 'a',
      attackSources: 1,
      senders: 1,
      drillCpus: '1',
      targetCpus: '0-1',
      resolverCache: true,
    },
    population: { resolvers: { steady: 1 }, bots: 1, zones: 1, names: 1, victim: 'z0.drill' },
    phases: [
      {
        name: 'wave1',
        seconds: 1,
        legit: {
          all: e,
          byClass: { steady: e },
          byZoneGroup: { victim: e, victimTypos: e, others: e },
          byZone: [e],
        },
        attack: {
          rate: 10,
          sent: { 'rs-resolvers': 1, 'rs-bots': 0, direct: 0, large: 0 },
          answered: { 'rs-resolvers': 1, 'rs-bots': 0, direct: 0, large: 0 },
          rcodes: {},
          behind: 0,
          tcp: { tried: 5, established: 5, answered: 2, failed: 0, slowClosedByServer: 1, slowOpen: 2 },
        },
        drill: { cpuCores: 0.5 },
      },
    ],
    timeline: [
      { t: 1, phase: 'baseline', legitQueries: 5, legitAnswered: 5, attackSent: 0, attackAnswered: 0 },
      { t: 2, phase: 'wave1', legitQueries: 5, legitAnswered: 2, attackSent: 100, attackAnswered: 10 },
    ],
    stoppedBy: 'end of scenario',
    packets: { legit: 10, attack: 1 },
    seconds: 2,
  };
  const html = htmlReport(report);
  assert.match(html, /<svg /);
  assert.match(html, /<polyline/);
  assert.match(html, /TCP floods/);
  assert.match(html, /they share CPUs/, 'drill on CPU 1, target on 0-1: warned');
  assert.doesNotMatch(html, /<script|src=|href=|url\(/i);
  assert.doesNotMatch(html, /<b>x<\/b>/, 'labels escaped');
});
