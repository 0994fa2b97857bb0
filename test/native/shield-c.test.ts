/**
 * The shield's C mechanisms (native/shield.c) against their TypeScript reference (src/shield):
 * seeded random scripts of operations — SipHash, cookie checks of hostile options, RRL through
 * a small table with many blocks, a zone flooded and calm zones, sources through a crowded
 * table, admission and the overload meter — run through both, the C side built as a
 * standalone harness with -fsanitize=address,undefined; every output line must be equal.
 * Without a C compiler it skips; with SWITCHBOARD_REQUIRE_PEERS=1 a missing compiler fails.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Admission, type Admit, OverloadMeter } from '../../src/shield/admission.js';
import { CookieSecrets, checkCookie, writeCookie } from '../../src/shield/cookies.js';
import { type ResponseKind, ResponseRateLimiter } from '../../src/shield/rrl.js';
import { sipHash24 } from '../../src/shield/siphash.js';
import { SourceTable, type Tier } from '../../src/shield/sources.js';
import { ZoneAttackDetector } from '../../src/shield/zone-attack.js';
import { seededRandom } from '../helpers/prng.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { buildHarness } from '../helpers/sanitizer.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-shield-c-'));
const harness = join(dir, 'shield-harness');

function build(): false | string {
  return buildHarness('shield harness', harness, ['shield.c', 'prefilter.c', 'fuzz/shield-harness.c'], {
    warnings: true,
    libs: ['-lm'],
  });
}

const skip = skipOrFail(build());
after(() => rmSync(dir, { recursive: true, force: true }));

const hex = (b: Uint8Array): string => (b.length === 0 ? '-' : Buffer.from(b).toString('hex'));

/** A script and what the TypeScript modules answer to it. */
class Script {
  readonly lines: string[] = [];
  readonly expected: string[] = [];
  op(line: string, result?: string | number): void {
    this.lines.push(line);
    if (result !== undefined) this.expected.push(String(result));
  }
}

function runHarness(script: Script): string[] {
  const r = spawnSync(harness, [], {
    input: `${script.lines.join('\n')}\n`,
    encoding: 'utf8',
    timeout: 240_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `harness failed (${r.status} ${r.signal}): ${r.stderr.slice(0, 2000)}`);
  return r.stdout.split('\n').slice(0, -1);
}

function compare(script: Script): void {
  const got = runHarness(script);
  assert.equal(got.length, script.expected.length, 'as many results from C as from TypeScript');
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== script.expected[i])
      assert.fail(`result ${i}: C says ${got[i]}, TypeScript ${script.expected[i]}`);
  }
}

function randomBytes(rand: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
}

/** A zone's own RRL rates by kind (--shield-zone), in the RRL comparison. */
const ZONE_RATES = [3, 1, 0, 2, 4];

describe('the shield in C agrees with its TypeScript reference (ASan/UBSan)', {
  skip,
  timeout: 300_000,
}, () => {
  test('SipHash-2-4 and cookies: written, checked, forged, expired, malformed', () => {
    const rand = seededRandom(9018);
    const s = new Script();
    for (let i = 0; i < 300; i++) {
      const key = randomBytes(rand, 16);
      const data = randomBytes(rand, Math.floor(rand() * 70));
      s.op(`siphash ${hex(key)} ${hex(data)}`, hex(sipHash24(key, data)));
    }
    const secrets = [randomBytes(rand, 16), randomBytes(rand, 16), randomBytes(rand, 16)];
    for (let i = 0; i < 2000; i++) {
      const addr = randomBytes(rand, rand() < 0.5 ? 4 : 16);
      const now = rand() < 0.05 ? 0xffffff00 + Math.floor(rand() * 512) : Math.floor(rand() * 2 ** 32);
      const client = randomBytes(rand, 8);
      const made = new Uint8Array(24);
      made.set(client);
      const madeAt = (now - Math.floor(rand() * 5000) + 600) >>> 0;
      const secret = secrets[Math.floor(rand() * 3)];
      writeCookie(made, 0, made, 0, addr, madeAt, secret);
      s.op(`cookie-write ${hex(client)} ${hex(addr)} ${madeAt} ${hex(secret)}`, hex(made));
      // The option inside a bigger message, maybe damaged, maybe of another length.
      const pad = Math.floor(rand() * 6);
      let option: Uint8Array = made;
      const r = rand();
      if (r < 0.15) option = made.slice(0, 8);
      else if (r < 0.25) option = randomBytes(rand, Math.floor(rand() * 45));
      else if (r < 0.4) {
        option = made.slice();
        option[Math.floor(rand() * 24)] ^= 1 << Math.floor(rand() * 8);
      }
      const q = new Uint8Array(pad + option.length + Math.floor(rand() * 3));
      q.set(option, pad);
      const claimed = rand() < 0.05 ? option.length + 3 : option.length; // a length past the end
      const accepted = secrets.slice(0, 1 + Math.floor(rand() * 3));
      const at = rand() < 0.03 ? -1 : pad;
      const want = checkCookie(q, at, claimed, addr, now, new CookieSecrets(accepted[0], accepted.slice(1)));
      s.op(
        `cookie-check ${hex(q)} ${at} ${claimed} ${hex(addr)} ${now} ${accepted.map(hex).join(',')}`,
        want,
      );
    }
    compare(s);
  });

  test('response-rate limiting through a crowded table', () => {
    const rand = seededRandom(2016);
    const s = new Script();
    for (const cfg of [
      { r: [5, 5, 5, 5, 5], all: 0, window: 15, slip: 2, v4: 24, v6: 56, table: 1024, dry: false },
      { r: [3, 1, 0, 2, 1], all: 7, window: 2, slip: 3, v4: 20, v6: 48, table: 1500, dry: false },
      { r: [0, 10, 10, 0, 0], all: 0, window: 5, slip: 0, v4: 32, v6: 128, table: 1024, dry: true },
    ]) {
      const rrl = new ResponseRateLimiter({
        responsesPerSecond: cfg.r[0],
        nxdomainsPerSecond: cfg.r[1],
        nodataPerSecond: cfg.r[2],
        referralsPerSecond: cfg.r[3],
        errorsPerSecond: cfg.r[4],
        allPerSecond: cfg.all,
        window: cfg.window,
        slip: cfg.slip,
        ipv4PrefixLength: cfg.v4,
        ipv6PrefixLength: cfg.v6,
        tableSize: cfg.table,
        dryRun: cfg.dry,
      });
      s.op(
        `rrl-new ${cfg.r.join(' ')} ${cfg.all} ${cfg.window} ${cfg.slip} ${cfg.v4} ${cfg.v6} ${cfg.table} ${cfg.dry ? 1 : 0}`,
      );
      const hot = Array.from({ length: 20 }, () => randomBytes(rand, rand() < 0.7 ? 4 : 16));
      let now = 1000;
      for (let i = 0; i < 40_000; i++) {
        now += rand() * 3;
        const addr =
          rand() < 0.6 ? hot[Math.floor(rand() * hot.length)] : randomBytes(rand, rand() < 0.8 ? 4 : 16);
        const kind = Math.floor(rand() * 5) as ResponseKind;
        const name = Math.floor(rand() * 8);
        if (name === 7) {
          // A zone with rates of its own (--shield-zone): names 7 are its.
          s.op(
            `rrlz ${hex(addr)} ${kind} ${name} ${now} ${ZONE_RATES.join(' ')}`,
            rrl.decide(rrl.blockHash(addr), kind, name, now, ZONE_RATES),
          );
        } else
          s.op(`rrl ${hex(addr)} ${kind} ${name} ${now}`, rrl.decide(rrl.blockHash(addr), kind, name, now));
      }
      const c = rrl.counters();
      const k = ['answer', 'nxdomain', 'nodata', 'referral', 'error'] as const;
      s.op(
        'rrl-counters',
        [c.sent, ...k.map((x) => c.dropped[x]), ...k.map((x) => c.slipped[x]), c.evictions].join(' '),
      );
    }
    compare(s);
  });

  test('random-subdomain detection: calm zones, a flood, its budget and its end', () => {
    const rand = seededRandom(1021);
    const s = new Script();
    // Zones with floors of their own (--shield-zone): the victim's budget raised, a busy zone's
    // and a rare zone's detector floors changed, one setting keeping the server's floor.
    const own: [number, number, number][] = [
      [7, 60, 35],
      [3, 1, -1],
      [150, -1, 5],
    ];
    const d = new ZoneAttackDetector({
      minNxPerSecond: 50,
      factor: 10,
      minNxShare: 0.5,
      holdSeconds: 5,
      budgetFloor: 20,
      tableSize: 64,
      zones: new Map(
        own.map(([k, m, f]) => [
          k,
          { ...(m >= 0 ? { minNxPerSecond: m } : {}), ...(f >= 0 ? { budgetFloor: f } : {}) },
        ]),
      ),
    });
    for (const [k, m, f] of own) s.op(`zset ${k} ${m} ${f}`);
    s.op('zones-new 50 10 0.5 5 20 64');
    const slots = new Map<number, number>();
    for (let second = 0; second < 120; second++) {
      const flood = second >= 40 && second < 70;
      for (let zone = 1; zone <= 300; zone++) {
        // zone 7: the victim; zones 1..5 busy; the rest rare (the table of 64 churns).
        const n = zone === 7 ? (flood ? 400 : 10) : zone <= 5 ? 20 : rand() < 0.02 ? 1 : 0;
        for (let i = 0; i < n; i++) {
          const t = second * 1000 + rand() * 999;
          const exists = zone === 7 && flood ? rand() < 0.05 : rand() < 0.9;
          const slot = d.observe(zone, exists, t);
          slots.set(zone, slot);
          s.op(`zobs ${zone} ${exists ? 1 : 0} ${t}`, d.isAttacked(slot) ? 1 : 0);
          if (!exists) s.op(`zadmit ${zone} ${t}`, d.admitMissing(slots.get(zone)!, t) ? 1 : 0);
        }
      }
      d.sweep(second * 1000 + 999);
      const attacked = d.attackedZones().sort((a, b) => a - b);
      s.op(`zsweep ${second * 1000 + 999}`, attacked.length === 0 ? '-' : attacked.join(' '));
      const busiest = d.top(second * 1000 + 999).map((r) => r.zone);
      s.op(`ztop ${second * 1000 + 999}`, busiest.length === 0 ? '-' : busiest.join(' '));
      // The mid-second call: the flood is called within its first second (no roll yet).
      if (second === 40) assert.ok(attacked.includes(7), 'the flood called within its first second');
    }
    compare(s);
  });

  test('zone floors changed on a running detector (settings pushed to a worker), table kept', () => {
    const rand = seededRandom(4242);
    const s = new Script();
    const d = new ZoneAttackDetector({
      minNxPerSecond: 50,
      factor: 10,
      minNxShare: 0.5,
      holdSeconds: 3,
      budgetFloor: 20,
      tableSize: 64,
    });
    s.op('zones-new 50 10 0.5 3 20 64');
    // Mid-flood: the victim's floor raised above its flood (it leaves after the hold), a rare
    // zone's budget set, then everything back to the server's floors (it is attacked again).
    const pushes = new Map<number, [number, number, number][]>([
      [
        30,
        [
          [7, 100000, -1],
          [150, -1, 5],
          [3, 1, 40],
        ],
      ],
      [50, []],
    ]);
    const slots = new Map<number, number>();
    for (let second = 0; second < 70; second++) {
      const push = pushes.get(second);
      if (push !== undefined) {
        s.op('zclear');
        for (const [k, m, f] of push) s.op(`zset ${k} ${m} ${f}`);
        s.op('zapply');
        d.setZones(
          new Map(
            push.map(([k, m, f]) => [
              k,
              { ...(m >= 0 ? { minNxPerSecond: m } : {}), ...(f >= 0 ? { budgetFloor: f } : {}) },
            ]),
          ),
        );
      }
      const flood = second >= 20;
      for (let zone = 1; zone <= 200; zone++) {
        const n = zone === 7 ? (flood ? 300 : 10) : zone <= 5 ? 20 : rand() < 0.03 ? 1 : 0;
        for (let i = 0; i < n; i++) {
          const t = second * 1000 + rand() * 999;
          const exists = zone === 7 && flood ? rand() < 0.05 : rand() < 0.9;
          const slot = d.observe(zone, exists, t);
          slots.set(zone, slot);
          s.op(`zobs ${zone} ${exists ? 1 : 0} ${t}`, d.isAttacked(slot) ? 1 : 0);
          if (!exists) s.op(`zadmit ${zone} ${t}`, d.admitMissing(slots.get(zone)!, t) ? 1 : 0);
        }
      }
      d.sweep(second * 1000 + 999);
      const attacked = d.attackedZones().sort((a, b) => a - b);
      s.op(`zsweep ${second * 1000 + 999}`, attacked.length === 0 ? '-' : attacked.join(' '));
      if (second === 29) assert.deepEqual(attacked, [7], 'the flood is seen before the push');
      if (second === 45) assert.deepEqual(attacked, [], 'the raised floor ends it');
      if (second === 60) assert.deepEqual(attacked, [7], 'the server floor again: attacked again');
    }
    compare(s);
  });

  test('source tiers through a crowded table, admission and the overload meter', () => {
    const rand = seededRandom(7873);
    const s = new Script();
    const src = new SourceTable({
      tableSize: 256,
      historyMin: 5,
      historyShare: 0.8,
      tcpSeconds: 30,
      cookieSeconds: 20,
    });
    s.op('src-new 256 5 0.8 30 20');
    const known = Array.from({ length: 100 }, () => randomBytes(rand, rand() < 0.7 ? 4 : 16));
    let now = 0;
    const vouched = [0, 0];
    for (let i = 0; i < 30_000; i++) {
      now += rand() * 10;
      const addr =
        rand() < 0.5 ? known[Math.floor(rand() * known.length)] : randomBytes(rand, rand() < 0.7 ? 4 : 16);
      const key = src.key(addr);
      const r = rand();
      if (r < 0.5) {
        const exists = rand() < 0.85;
        src.noteCalmQuery(key, exists, now);
        s.op(`scalm ${hex(addr)} ${exists ? 1 : 0} ${now}`);
      } else if (r < 0.53) {
        src.noteTruncated(key, now);
        s.op(`strunc ${hex(addr)} ${now}`);
      } else if (r < 0.55) {
        s.op(`stcp ${hex(addr)} ${now}`, src.noteTcp(key, now) ? 1 : 0);
      } else if (r < 0.58) {
        src.noteCookie(key, now);
        s.op(`scookie ${hex(addr)} ${now}`);
      } else if (r < 0.62) {
        const cookie = rand() < 0.5;
        s.op(`utcp ${hex(addr)} ${cookie ? 1 : 0} ${now}`, src.usedTcp(key, cookie, now) ? 1 : 0);
      } else if (r < 0.66) {
        // The TCP gate's question (sb_sources_vouched).
        const v = src.vouched(key, now);
        vouched[v ? 1 : 0]++;
        s.op(`svouch ${hex(addr)} ${now}`, v ? 1 : 0);
      } else {
        const cookie = rand() < 0.1;
        s.op(`stier ${hex(addr)} ${cookie ? 1 : 0} ${now}`, src.tier(key, cookie, now));
      }
    }
    assert.ok(vouched[0] > 100 && vouched[1] > 100, `vouched no/yes: ${vouched}`);
    const adm = new Admission();
    let admNow = 0;
    for (let i = 0; i < 5000; i++) {
      admNow += rand() * 20;
      const tier = Math.floor(rand() * 4) as Tier;
      const b = () => rand() < 0.5;
      const input = {
        tier,
        inZone: b(),
        exists: b(),
        zoneAttacked: b(),
        withinZoneBudget: b(),
        overload: Math.floor(rand() * 4),
        usedTcp: rand() < 0.3,
        nowMs: admNow,
      };
      const verdict: Admit = adm.decide(input);
      s.op(
        `adm ${tier} ${+input.inZone} ${+input.exists} ${+input.zoneAttacked} ${+input.withinZoneBudget} ${input.overload} ${+input.usedTcp} ${input.nowMs}`,
        verdict,
      );
    }
    const meter = new OverloadMeter({ behindShare: 0.4, smoothingSeconds: 0.3, holdSeconds: 1 });
    s.op('ovl-new 0.4 0.3 1');
    let t = 0;
    for (let i = 0; i < 20_000; i++) {
      t += rand() * 5;
      const phase = Math.floor(t / 3000) % 4;
      const got = phase === 0 ? Math.floor(rand() * 10) : phase === 1 ? (rand() < 0.6 ? 64 : 30) : 64;
      meter.read(got, 64, t);
      s.op(`ovl ${got} 64 ${t}`, meter.level);
    }
    compare(s);
  });

  test('hist23: no calm credit for a source without history within calmAfterSeconds of an attack seen', () => {
    // Unrest in bursts (an attack seen every ~50 ms for a while, then quiet), the refusal's
    // edge crossed often: a 3 s calmAfter, sources asking once or twice a second, some of them
    // earning history before the first burst (and keeping it through every burst).
    const rand = seededRandom(2316);
    const s = new Script();
    const src = new SourceTable({ tableSize: 512, historyMin: 4, historyShare: 0.8, calmAfterSeconds: 3 });
    s.op('src-new 512 4 0.8 3600 3600 3');
    const addrs = Array.from({ length: 300 }, () => randomBytes(rand, rand() < 0.8 ? 4 : 16));
    let now = 1000;
    const tiers = [0, 0];
    for (let i = 0; i < 40_000; i++) {
      now += rand() * 2;
      const unrest = now > 8000 && Math.floor(now / 7000) % 2 === 1;
      if (unrest && rand() < 0.05) {
        src.noteUnrest(now);
        s.op(`sunrest ${now}`);
      }
      const addr = addrs[Math.floor(rand() * (now < 8000 ? 100 : addrs.length))];
      const key = src.key(addr);
      if (rand() < 0.9) {
        const exists = rand() < 0.9;
        src.noteCalmQuery(key, exists, now);
        s.op(`scalm ${hex(addr)} ${exists ? 1 : 0} ${now}`);
      } else {
        const t = src.tier(key, false, now);
        tiers[t === 0 ? 0 : 1]++;
        s.op(`stier ${hex(addr)} 0 ${now}`, t);
      }
    }
    assert.ok(tiers[0] > 100 && tiers[1] > 100, `unknown / history: ${tiers}`);
    // (tidy25) The refused credits counted alike.
    assert.ok(src.calmRefused > 100, `refused ${src.calmRefused}`);
    s.op('srefused', src.calmRefused);
    compare(s);
  });

  test('the kernel prefilter: programs for 0 to 512 random /24s drop exactly those /24s (a BPF interpreter), accept IPv6, refuse unsorted input', () => {
    const s = new Script();
    for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 100, 255, 256, 257, 511, 512])
      s.op(`pf ${n} ${n * 7919 + 1}`, 'ok');
    s.op('pf 2000 5', 'refused');
    compare(s);
  });
});
