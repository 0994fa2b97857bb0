/**
 * A change of a big zone reaching `switchboard edge` by IXFR: Knot 3.2 as the primary (its
 * generated catalog, the zone a member, changes made in Knot by `knotc zone-begin … zone-commit`,
 * journaled, NOTIFY to the edge), the edge following it (one DNS worker). Per change: the
 * commit in Knot → the edge's worker answering the new data (ms), and the CPU the edge's
 * process tree spent on it (less its idle rate). Modes: `patch` (the default since ixfrdelta:
 * the IXFR's difference patches the served image, a delta image where it can) and `text`
 * (`SWITCHBOARD_IMAGE_PATCHES=off` in the edge: the zone's stored text compiled whole, as
 * before). Ops: `replace` (h1's address), `add` (a name n0, n1 …), `remove` (h2, h3 …).
 *
 *   node dist/bench/edge-ixfr.js [--records 500000] [--changes 3] [--modes patch,text] [--ops replace,add,remove]
 *
 * Loopback only; Knot and the edge are stopped after each mode; every wait is bounded.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMessage } from '../src/wire/decode.js';
import { rdataToText } from '../src/wire/rdata.js';
import { type EdgeProcess, startEdge } from '../test/e2e/edge-support.js';
import { freePort } from '../test/e2e/support.js';
import { buildQuery, queryUdp } from '../test/helpers/dns-client.js';
import { findCommand, findFreePort, knotServerSections, launch, type Peer } from '../test/helpers/peers.js';
import { treeCpuSeconds } from '../test/helpers/procs.js';
import { median } from './stats.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const records = Number(arg('records', '500000'));
const changes = Number(arg('changes', '3'));
const modes = arg('modes', 'patch,text').split(',');
const ops = arg('ops', 'replace,add,remove').split(',');
const ZONE = 'eix.test.';
const SECRET = Buffer.from('edge-ixfr-bench-key-secret-0000000').toString('base64');
const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

async function answer(edge: EdgeProcess, name: string): Promise<string> {
  try {
    const r = decodeMessage(
      await queryUdp(buildQuery({ name, type: 1 }), { host: edge.host, port: edge.port, timeoutMs: 1000 }),
    );
    return `${r.flags & 15} ${r.answers.map((a) => rdataToText(a.type, a.rdata)).join('|')}`;
  } catch (err) {
    return `error ${(err as Error).message}`;
  }
}

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

async function run(mode: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-edge-ixfr-'));
  let knot: Peer | undefined;
  let edge: EdgeProcess | undefined;
  const saved = process.env.SWITCHBOARD_IMAGE_PATCHES;
  try {
    const port = await findFreePort();
    const edgePort = await freePort('127.0.0.4');
    const lines = [
      `$ORIGIN ${ZONE}`,
      '$TTL 300',
      '@ SOA ns1 hostmaster 1 2 1 3600 300',
      '@ NS ns1',
      'ns1 A 192.0.2.1',
    ];
    for (let i = 0; i < records; i++) lines.push(`h${i} A ${address(i)}`);
    writeFileSync(join(dir, `${ZONE}zone`), `${lines.join('\n')}\n`);
    const conf = join(dir, 'knot.conf');
    writeFileSync(
      conf,
      [
        ...knotServerSections(dir, `127.0.0.1@${port}`, { log: 'error' }),
        'key:',
        '  - id: pop-b.',
        '    algorithm: hmac-sha256',
        `    secret: ${SECRET}`,
        'remote:',
        '  - id: edge',
        `    address: 127.0.0.4@${edgePort}`,
        '    key: pop-b.',
        'acl:',
        '  - id: edge-xfr',
        '    address: 127.0.0.0/8',
        '    key: pop-b.',
        '    action: transfer',
        'template:',
        '  - id: default',
        `    storage: "${dir}"`,
        '    semantic-checks: off',
        '    zonefile-sync: -1',
        '    journal-content: changes',
        '    journal-max-usage: 1G',
        '    acl: edge-xfr',
        '    notify: edge',
        'zone:',
        '  - domain: catalog.switchboard.invalid.',
        '    catalog-role: generate',
        `  - domain: ${ZONE}`,
        `    file: "${join(dir, `${ZONE}zone`)}"`,
        '    catalog-role: member',
        '    catalog-zone: catalog.switchboard.invalid.',
        '',
      ].join('\n'),
    );
    knot = await launch(
      'knot',
      [findCommand('knotd') ?? 'knotd', '-c', conf],
      dir,
      '127.0.0.1',
      port,
      ZONE,
      {},
    );
    if (mode === 'text') process.env.SWITCHBOARD_IMAGE_PATCHES = 'off';
    else delete process.env.SWITCHBOARD_IMAGE_PATCHES;
    edge = await startEdge({
      primary: `127.0.0.1:${port}`,
      key: `pop-b.:hmac-sha256:${SECRET}`,
      host: '127.0.0.4',
      port: edgePort,
    });
    const e = edge;
    const last = records - 1;
    await until(
      'the zone on the edge',
      async () => (await answer(e, `h${last}.${ZONE}`)) === `0 ${address(last)}`,
      600_000,
    );
    const knotc = (...a: string[]) => execFileSync('knotc', ['-c', conf, ...a], { timeout: 60_000 });
    for (const op of ops) {
      const took: number[] = [];
      const cpu: number[] = [];
      for (let k = 0; k < changes; k++) {
        await new Promise((r) => setTimeout(r, 3000));
        const idle0 = treeCpuSeconds(e.pid);
        await new Promise((r) => setTimeout(r, 1000));
        const idleRate = treeCpuSeconds(e.pid) - idle0;
        const value = `10.200.${k >> 8}.${k & 255}`;
        const name = op === 'add' ? `n${k}.${ZONE}` : op === 'remove' ? `h${k + 2}.${ZONE}` : `h1.${ZONE}`;
        const want = op === 'remove' ? '3 ' : `0 ${value}`;
        const cpu0 = treeCpuSeconds(e.pid);
        const t0 = performance.now();
        knotc('zone-begin', ZONE);
        if (op === 'remove') knotc('zone-unset', ZONE, name, 'A');
        else {
          if (op === 'replace') knotc('zone-unset', ZONE, name, 'A');
          knotc('zone-set', ZONE, name, '300', 'A', value);
        }
        knotc('zone-commit', ZONE);
        await until(`${op} ${name} on the edge`, async () => (await answer(e, name)) === want, 120_000);
        const t1 = performance.now();
        await new Promise((r) => setTimeout(r, 1000));
        took.push(t1 - t0);
        cpu.push(Math.max(0, treeCpuSeconds(e.pid) - cpu0 - idleRate * ((performance.now() - t0) / 1000)));
      }
      const fmt = (xs: number[], d: number) =>
        `${median(xs).toFixed(d)} (${xs.map((x) => x.toFixed(d)).join(', ')})`;
      console.log(
        `${records} records, edge following Knot, ${op}, ${mode === 'text' ? 'stored text compiled whole (SWITCHBOARD_IMAGE_PATCHES=off)' : 'IXFR difference patched'}: ` +
          `commit in Knot → edge answers ${fmt(took, 0)} ms; edge CPU ${fmt(cpu, 2)} s (medians of ${changes})`,
      );
    }
    const log = e
      .stderr()
      .split('\n')
      .filter((l) => /patched|by IXFR|compiling its text/.test(l));
    console.log(`  edge log (last lines): ${log.slice(-3).join(' | ')}`);
  } finally {
    if (saved === undefined) delete process.env.SWITCHBOARD_IMAGE_PATCHES;
    else process.env.SWITCHBOARD_IMAGE_PATCHES = saved;
    await edge?.stop();
    await knot?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const mode of modes) await run(mode);
