/**
 * Short drills (fixed seed, a few seconds each, asserted with a margin) against a real
 * `switchboard serve` and against NSD on loopback: with no attack every legitimate query is
 * answered; a flood above the server's capacity makes first tries fail; the hard stops end a run.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DrillOptions, parseScenario, runDrill, writeZoneFiles } from '../../src/drill/index.js';
import {
  listZoneFiles,
  type Peer,
  skipUnlessCommands,
  startNsd,
  startSwitchboard,
} from '../helpers/peers.js';
import { shortDrillOptions } from '../helpers/short-drill.js';

const shape = { zones: 4, names: 200 };
let dir = '';
let sb: Peer | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-drill-'));
  writeZoneFiles(dir, shape);
  // The Node UDP path in one worker: a capacity a single sender process can exceed anywhere.
  sb = await startSwitchboard(dir, { workers: 1, io: 'node' });
});

after(async () => {
  await sb?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function options(peer: Peer, more: Partial<DrillOptions>): DrillOptions {
  return shortDrillOptions(peer, shape, more);
}

test('no attack: every legitimate query of every class is answered right, first try or over TCP', async () => {
  const r = await runDrill(
    options(sb!, {
      scenario: parseScenario({
        phases: [{ name: 'calm', seconds: 2.5, classes: ['steady', 'nat', 'plain', 'storm'] }],
      }),
      targetPid: sb!.pid,
    }),
  );
  const calm = r.phases[0];
  assert.equal(r.stoppedBy, 'end of scenario');
  assert.ok(calm.legit.all.queries > 800, `queries: ${calm.legit.all.queries}`);
  assert.ok(calm.legit.all.success >= 0.995, `success ${calm.legit.all.success}`);
  for (const cls of ['steady', 'nat', 'plain', 'storm'])
    assert.ok(
      (calm.legit.byClass[cls]?.success ?? 0) >= 0.99,
      `${cls}: ${JSON.stringify(calm.legit.byClass[cls])}`,
    );
  assert.equal(calm.legit.byClass.new, undefined, 'a class left out of the phase sent nothing');
  assert.ok(
    calm.legit.byZoneGroup.victimTypos.queries > 0 && calm.legit.byZoneGroup.victimTypos.success >= 0.99,
  );
  // Each class without the attacked zone's typos: together, every query but those typos.
  const classes = ['steady', 'nat', 'plain', 'storm'];
  const typos = classes.reduce(
    (t, c) => t + (calm.legit.byClass[c]?.queries ?? 0) - (calm.legit.byClassNames?.[c]?.queries ?? 0),
    0,
  );
  assert.equal(typos, calm.legit.byZoneGroup.victimTypos.queries);
  assert.ok(calm.legit.all.tcp > 0, 'large TXT answers went over TCP after TC=1');
  assert.ok(calm.target?.alive && calm.target.rssPeakBytes > 0 && calm.target.pssPeakBytes > 0);
  assert.ok(calm.drill.cpuCores > 0);
  assert.ok(r.timeline.length >= 2);
  // Where queries went: every try answered, none lost in the kernel; resolvers cache (TTL 3600,
  // negative answers 300 s), so popular names are asked once.
  const l = calm.losses!;
  assert.equal(l.unansweredTries, 0, JSON.stringify(l.resolvers));
  assert.equal(l.kernel.targetSocketDrops, 0);
  assert.equal(l.kernel.drillResolverDrops, 0);
  assert.ok(l.resolvers.cacheHits > 50, `cache hits ${l.resolvers.cacheHits}`);
  assert.equal(l.resolvers.udpTries + l.resolvers.tcpTries >= calm.legit.all.queries, true);
  assert.equal(r.io.resolverCache, true);
});

test('resolvers cache answers for their TTL: with --no-cache the same lookups send more queries', async () => {
  const scenario = parseScenario({ phases: [{ name: 'calm', seconds: 2, classes: ['steady', 'plain'] }] });
  const cached = await runDrill(options(sb!, { scenario, resolvers: 20, perResolverRate: 40 }));
  const uncached = await runDrill(
    options(sb!, { scenario, resolvers: 20, perResolverRate: 40, cache: false }),
  );
  const a = cached.phases[0].losses!.resolvers;
  const b = uncached.phases[0].losses!.resolvers;
  assert.equal(b.cacheHits, 0);
  assert.equal(uncached.io.resolverCache, false);
  // Same seed, same lookups: every cache hit is a query the uncached run sent.
  assert.ok(a.cacheHits > 100, `cache hits ${a.cacheHits}`);
  assert.ok(
    b.udpTries > a.udpTries + a.cacheHits * 0.5,
    `uncached ${b.udpTries}, cached ${a.udpTries} + ${a.cacheHits}`,
  );
  assert.ok(cached.phases[0].legit.all.success >= 0.99 && uncached.phases[0].legit.all.success >= 0.99);
});

test('a flood far above capacity makes legitimate first tries fail; calm again afterwards', async () => {
  const scenario = parseScenario({
    phases: [
      { name: 'calm', seconds: 2 },
      { name: 'flood', seconds: 3, attack: { rate: 2_000_000, mix: { direct: 1, 'rs-bots': 1 } } },
      { name: 'after', seconds: 1.5 },
    ],
  });
  const r = await runDrill(options(sb!, { scenario, senders: 2 }));
  const [calm, flood] = r.phases;
  const sent = Object.values(flood.attack.sent).reduce((a, b) => a + b, 0);
  const answered = Object.values(flood.attack.answered).reduce((a, b) => a + b, 0);
  assert.ok(sent > 10_000, `attack sent ${sent}`);
  assert.ok(answered < sent * 0.95, `attack answered ${answered} of ${sent}`);
  assert.equal(flood.attack.rcodes.FORMERR, undefined, 'every attack query well formed');
  assert.ok(
    flood.legit.all.firstTry < calm.legit.all.firstTry - 0.05,
    `first try: calm ${calm.legit.all.firstTry}, flood ${flood.legit.all.firstTry}`,
  );
  assert.ok(flood.legit.all.p99Ms > calm.legit.all.p99Ms);
  // The lost tries are found: the target's socket queue overflowed (FIFO: legitimate datagrams
  // dropped with the attack's odds), and the drill's own sockets lost none.
  const l = flood.losses!;
  assert.ok(l.unansweredTries > 0, JSON.stringify(l.resolvers));
  assert.ok(
    l.kernel.targetSocketDrops > sent * 0.05,
    `target drops ${l.kernel.targetSocketDrops} of ${sent}`,
  );
  assert.ok(l.legitInTargetQueue > 0);
  assert.equal(l.kernel.drillResolverDrops, 0);
  // Once its tries time out, the storm class multiplies its rate (10-20x per resolver).
  const rate = (ph: typeof calm) => (ph.legit.byClass.storm?.queries ?? 0) / ph.seconds;
  assert.ok(rate(flood) > 3 * rate(calm), `storm: calm ${rate(calm)}/s, flood ${rate(flood)}/s`);
});

test('the lone class: a fresh group first seen at each wave, each resolver alone in its /24, counted apart', async () => {
  // A recording target: every datagram's source and when it came (no answers: the tries retry).
  const seen: Array<{ at: number; src: string }> = [];
  const sock = createSocket('udp4');
  sock.on('message', (_m, rinfo) => seen.push({ at: Date.now(), src: rinfo.address }));
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  try {
    const scenario = parseScenario({
      phases: [
        { name: 'before', seconds: 1 },
        { name: 'wave1', seconds: 1.2, attack: { rate: 200, mix: { direct: 1 } } },
        { name: 'between', seconds: 0.8 },
        { name: 'wave2', seconds: 1.2, attack: { rate: 200, mix: { 'rs-resolvers': 1 } } },
      ],
    });
    const r = await runDrill(
      shortDrillOptions({ host: '127.0.0.1', port: sock.address().port }, shape, {
        scenario,
        resolvers: 20,
        lonePerWave: 4,
        perResolverRate: 20,
      }),
    );
    assert.equal(r.population.resolvers.lone, 8);
    const [before, wave1, between, wave2] = r.phases;
    assert.equal(before.legit.byClass.lone, undefined, 'not seen before the first wave');
    for (const ph of [wave1, between, wave2]) assert.ok((ph.legit.byClass.lone?.queries ?? 0) > 10, ph.name);
    // Reported apart in the onset slices too.
    assert.ok(wave1.onset?.some((s) => (s.byClass.lone?.[0] ?? 0) > 0));
    const lone = (src: string) => src.startsWith('127.1.') && Number(src.split('.')[2]) >= 128;
    const first = new Map<string, number>();
    for (const d of seen) if (!first.has(d.src)) first.set(d.src, d.at);
    const wave2At = wave2.startedAtMs!;
    const group = (from: number, to: number) =>
      [...first].filter(([src, at]) => lone(src) && at >= from && at < to).map(([src]) => src);
    const g1 = group(wave1.startedAtMs!, wave2At);
    const g2 = group(wave2At, Number.POSITIVE_INFINITY);
    assert.equal(g1.length, 4, `first seen in wave 1 and after: ${g1}`);
    assert.equal(g2.length, 4, `first seen in wave 2: ${g2}`);
    assert.equal([...first].filter(([src, at]) => lone(src) && at < wave1.startedAtMs!).length, 0);
    // One source per /24, and no other resolver's or bot's source in those /24s (the random
    // names of wave 2 go through the other resolvers, not the lone ones).
    const block = (src: string) => src.split('.').slice(0, 3).join('.');
    const loneBlocks = new Set([...g1, ...g2].map(block));
    assert.equal(loneBlocks.size, 8);
    for (const src of first.keys()) if (!lone(src)) assert.ok(!loneBlocks.has(block(src)), src);
    assert.ok(
      seen.some((d) => d.src.startsWith('127.2.')),
      'the bots sent',
    );
  } finally {
    sock.close();
  }
});

test('the Node sender (no addon) sends well-formed attack queries, answered as the native ones are', async () => {
  const scenario = parseScenario({
    phases: [
      { name: 'attack', seconds: 1.5, attack: { rate: 4000, mix: { direct: 1, 'rs-bots': 1, large: 1 } } },
    ],
  });
  const r = await runDrill(options(sb!, { scenario, io: 'node', resolvers: 10 }));
  const a = r.phases[0].attack;
  const sent = Object.values(a.sent).reduce((x, y) => x + y, 0);
  const answered = Object.values(a.answered).reduce((x, y) => x + y, 0);
  assert.match(r.io.attack, /node dgram/);
  assert.ok(sent > 2000 && answered >= sent * 0.9, `${answered} of ${sent}`);
  assert.equal(a.rcodes.FORMERR, undefined, JSON.stringify(a.rcodes));
  assert.ok(a.rcodes.NXDOMAIN > 0 && a.rcodes.NOERROR > 0 && a.rcodes.TC > 0, JSON.stringify(a.rcodes));
});

test('the hard stops end a run by themselves', async () => {
  const long = parseScenario({ phases: [{ name: 'calm', seconds: 60 }] });
  const byPackets = await runDrill(
    options(sb!, { scenario: long, stops: { maxSeconds: 20, maxPackets: 400 } }),
  );
  assert.equal(byPackets.stoppedBy, '--max-packets 400');
  assert.ok(byPackets.packets.legit + byPackets.packets.attack < 600, JSON.stringify(byPackets.packets));
  const started = Date.now();
  const bySeconds = await runDrill(
    options(sb!, { scenario: long, stops: { maxSeconds: 1.5, maxPackets: 1e6 } }),
  );
  assert.equal(bySeconds.stoppedBy, '--max-seconds 1.5');
  assert.ok(Date.now() - started < 9000);
});

const noNsd = skipUnlessCommands('nsd');
test('the drill works against NSD too: no attack, every query answered', { skip: noNsd }, async () => {
  const nsd = await startNsd(listZoneFiles(dir));
  try {
    const r = await runDrill(
      options(nsd, { scenario: parseScenario({ phases: [{ name: 'calm', seconds: 2 }] }) }),
    );
    assert.ok(r.phases[0].legit.all.queries > 500);
    assert.ok(r.phases[0].legit.all.success >= 0.995, JSON.stringify(r.phases[0].legit.all));
  } finally {
    await nsd.stop();
  }
});

test('a wrong answer is not an answer: a zone served with other addresses fails, the others succeed', {
  skip: noNsd,
}, async () => {
  const wrong = mkdtempSync(join(tmpdir(), 'sb-drill-wrong-'));
  try {
    writeZoneFiles(wrong, shape);
    const f = join(wrong, 'z1.drill.zone');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/ IN A 10\.1\./g, ' IN A 10.99.'));
    const nsd = await startNsd(listZoneFiles(wrong));
    try {
      const scenario = parseScenario({
        phases: [{ name: 'calm', seconds: 2, classes: ['steady', 'plain'] }],
      });
      const r = await runDrill(options(nsd, { scenario }));
      const z = r.phases[0].legit.byZone;
      assert.ok(z[1].queries > 50, JSON.stringify(z[1]));
      // Only its typos (NXDOMAIN), AAAA (NODATA) and TXT queries can be right.
      assert.ok(z[1].success < 0.2, `z1 success ${z[1].success}`);
      assert.ok(z[0].success >= 0.99 && z[2].success >= 0.99, JSON.stringify([z[0], z[2]]));
    } finally {
      await nsd.stop();
    }
  } finally {
    rmSync(wrong, { recursive: true, force: true });
  }
});
