/**
 * A one-record change to a big zone under `switchboard start --workers 2` (`--images on`): the
 * time from the API's acknowledgement to the new answer from every DNS worker, and the CPU the
 * platform spent on it (primary, its threads and the workers), with the image patched from the
 * control plane's diff (the default) and with every change read and compiled whole
 * (`SWITCHBOARD_IMAGE_PATCHES=off`, what `start` did before), side by side on one machine.
 * Mode `whole`: patched from the diff, but the control plane works the change out over the
 * whole zone (`SWITCHBOARD_INCREMENTAL=off`: copy, build, check and render it, as before
 * src/control/incremental.ts).
 *
 * Mode `nodelta`: as `patch`, but the image compiled whole from the base image and the diff
 * (`SWITCHBOARD_DELTA_IMAGE=off`: what `start` did before delta images), and its workers
 * validating it in full.
 *
 * `--ops`: what each change does — `replace` (h1's address, the default), `add` (a name the
 * zone does not hold, n0, n1 …: the canonical order, the hash and the parent's flags change) or
 * `remove` (h2, h3 …'s only RRset deleted: the name goes); each measured with every mode.
 *
 * Usage: node dist/bench/zone-change.js [--records 100000,1000000] [--changes 5] [--modes patch,nodelta,whole,text] [--ops replace,add,remove]
 * Loopback only; every run stops by itself (bounded changes, timeouts on every wait).
 * @module
 */
import { createSocket } from 'node:dgram';
import { decodeMessage } from '../src/wire/decode.js';
import { rdataToText } from '../src/wire/rdata.js';
import { buildQuery } from '../test/helpers/dns-client.js';
import { callApi, NO_LIMIT_ARGS, type Platform, startPlatform } from '../test/helpers/platform.js';
import { treeCpuSeconds } from '../test/helpers/procs.js';
import { median } from './stats.js';

const KEY = `sb_zonechange_${'x'.repeat(32)}`;
const ZONE = 'big.test.';
const A = 1;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

/** Records per request: a request may use at most 1.5 GiB (the zone-work thread holds the zone too), so a big zone goes in parts. */
const PART = 50_000;

const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

function zoneFile(records: number): string {
  const lines = [`$ORIGIN ${ZONE}`, '$TTL 300', '@ NS ns1.example.net.'];
  for (let i = 0; i < records; i++) lines.push(`h${i} A ${address(i)}`);
  return `${lines.join('\n')}\n`;
}

/** Creates the zone with `records` A records h0…: the first part as a zone file, the rest added by PATCHes. */
async function createBigZone(api: string, key: string, records: number): Promise<void> {
  const first = Math.min(records, PART);
  const created = await callApi(api, key, 'POST', '/api/v1/zones', { name: ZONE, zonefile: zoneFile(first) });
  if (created.status !== 201)
    throw new Error(
      `creating the zone: HTTP ${created.status} ${JSON.stringify(created.body).slice(0, 300)}`,
    );
  for (let from = first; from < records; from += PART) {
    const changes = [];
    for (let i = from; i < Math.min(records, from + PART); i++)
      changes.push({
        op: 'replace',
        name: `h${i}.${ZONE}`,
        type: 'A',
        ttl: 300,
        records: [{ content: address(i) }],
      });
    const r = await callApi(api, key, 'PATCH', `/api/v1/zones/${ZONE}/rrsets`, { changes });
    if (r.status !== 200)
      throw new Error(`adding records: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }
}

/** Sends `name` A from fresh sockets until every worker (by NSID) answers `want`; ms from `from`. */
async function untilEveryWorker(
  port: number,
  name: string,
  want: string,
  workers: number,
  from: number,
  timeoutMs: number,
): Promise<{ first: number; all: number }> {
  const q = buildQuery({
    name,
    type: A,
    edns: { udpSize: 1232, options: [{ code: 3, data: new Uint8Array(0) }] },
  });
  const good = new Set<string>();
  let first = -1;
  const deadline = performance.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const socks = Array.from({ length: 8 }, () => createSocket('udp4'));
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      for (const s of socks) s.close();
      if (err) reject(err);
      else resolve({ first, all: performance.now() - from });
    };
    for (const s of socks)
      s.on('message', (m) => {
        const r = decodeMessage(m);
        const answer = r.answers
          .filter((x) => x.type === A)
          .map((x) => rdataToText(A, x.rdata))
          .join();
        const nsid = r.edns?.options.find((o) => o.code === 3);
        if (answer !== want || !nsid) return;
        if (first < 0) first = performance.now() - from;
        good.add(Buffer.from(nsid.data).toString('utf8'));
        if (good.size >= workers) finish();
      });
    let k = 0;
    const timer = setInterval(() => {
      if (performance.now() > deadline)
        return finish(new Error(`${name} never answered ${want} from ${workers} workers`));
      // Fresh source ports spread the queries over the workers (SO_REUSEPORT hashes them).
      const s = socks[k++ % socks.length];
      s.send(q, port, '127.0.0.1');
    }, 1);
  });
}

interface ChangeFigures {
  /** PATCH sent → 200 received (ms). */
  ack: number[];
  /** 200 received → the first worker answers the new value (ms). */
  first: number[];
  /** 200 received → every worker answers it (ms). */
  all: number[];
  /** CPU seconds of the platform's processes from the PATCH to 1 s after every worker answered, less idle. */
  cpu: number[];
}

type Mode = 'patch' | 'nodelta' | 'whole' | 'text';

const MODE_NAMES: Record<Mode, string> = {
  patch: 'patched from the diff, change worked out incrementally',
  nodelta:
    'patched from the diff but compiled whole (SWITCHBOARD_DELTA_IMAGE=off), change worked out incrementally',
  whole: 'patched from the diff, change worked out over the whole zone',
  text: 'read + compiled whole',
};

type Op = 'replace' | 'add' | 'remove';

/** Change `k` of `op`: the PATCH's changes, the name asked and the answer that shows it served. */
function changeOf(op: Op, k: number): { changes: unknown[]; name: string; want: string } {
  const want = `10.200.${k >> 8}.${k & 255}`;
  if (op === 'add') {
    const name = `n${k}.${ZONE}`;
    return {
      changes: [{ op: 'replace', name, type: 'A', ttl: 300, records: [{ content: want }] }],
      name,
      want,
    };
  }
  if (op === 'remove') {
    // NXDOMAIN: no address in the answer.
    const name = `h${k + 2}.${ZONE}`;
    return { changes: [{ op: 'delete', name, type: 'A' }], name, want: '' };
  }
  const name = `h1.${ZONE}`;
  return {
    changes: [{ op: 'replace', name, type: 'A', ttl: 300, records: [{ content: want }] }],
    name,
    want,
  };
}

async function measure(
  mode: Mode,
  records: number,
  changes: number,
  op: Op = 'replace',
): Promise<ChangeFigures> {
  const saved = process.env.SWITCHBOARD_IMAGE_PATCHES;
  const savedInc = process.env.SWITCHBOARD_INCREMENTAL;
  const savedDelta = process.env.SWITCHBOARD_DELTA_IMAGE;
  process.env.SWITCHBOARD_IMAGE_PATCHES = mode === 'text' ? 'off' : 'on';
  process.env.SWITCHBOARD_INCREMENTAL = mode === 'patch' || mode === 'nodelta' ? 'on' : 'off';
  process.env.SWITCHBOARD_DELTA_IMAGE = mode === 'nodelta' ? 'off' : 'on';
  let p: Platform;
  try {
    p = await startPlatform({
      apiKey: KEY,
      workers: 2,
      extraArgs: [...NO_LIMIT_ARGS, '--max-records-per-request', String(records + 100)],
      timeoutMs: 120_000,
    });
  } finally {
    if (saved === undefined) delete process.env.SWITCHBOARD_IMAGE_PATCHES;
    else process.env.SWITCHBOARD_IMAGE_PATCHES = saved;
    if (savedInc === undefined) delete process.env.SWITCHBOARD_INCREMENTAL;
    else process.env.SWITCHBOARD_INCREMENTAL = savedInc;
    if (savedDelta === undefined) delete process.env.SWITCHBOARD_DELTA_IMAGE;
    else process.env.SWITCHBOARD_DELTA_IMAGE = savedDelta;
  }
  const out: ChangeFigures = { ack: [], first: [], all: [], cpu: [] };
  try {
    const acct = await callApi(p.api, KEY, 'POST', '/api/v1/accounts', {
      name: 'bench',
      maxZones: 10,
      maxRecords: records * 2 + 1000,
    });
    if (acct.status !== 201) throw new Error(`account: HTTP ${acct.status} ${JSON.stringify(acct.body)}`);
    const tok = await callApi(p.api, KEY, 'POST', '/api/v1/tokens', {
      name: 'bench',
      accountId: (acct.body as { id: string }).id,
      scope: { admin: false, access: 'write' },
    });
    const key = (tok.body as { secret: string }).secret;
    await createBigZone(p.api, key, records);
    const last = records - 1;
    await untilEveryWorker(p.dnsPort, `h${last}.${ZONE}`, address(last), 2, performance.now(), 300_000);
    for (let k = 0; k < changes; k++) {
      // Let the creation's (or the last change's) work finish, then take the idle rate.
      await new Promise((r) => setTimeout(r, 3000));
      const idle0 = treeCpuSeconds(p.pid);
      await new Promise((r) => setTimeout(r, 1000));
      const idleRate = treeCpuSeconds(p.pid) - idle0;
      const { changes: body, name, want } = changeOf(op, k);
      const cpu0 = treeCpuSeconds(p.pid);
      const sent = performance.now();
      const res = await callApi(p.api, key, 'PATCH', `/api/v1/zones/${ZONE}/rrsets`, { changes: body });
      const acked = performance.now();
      if (res.status !== 200) throw new Error(`PATCH: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      const t = await untilEveryWorker(p.dnsPort, name, want, 2, acked, 120_000);
      await new Promise((r) => setTimeout(r, 1000));
      const spent = (performance.now() - sent) / 1000;
      out.ack.push(acked - sent);
      out.first.push(Math.max(0, t.first));
      out.all.push(t.all);
      out.cpu.push(Math.max(0, treeCpuSeconds(p.pid) - cpu0 - idleRate * spent));
    }
    return out;
  } finally {
    await p.stop();
  }
}

function fmt(xs: number[], digits = 0): string {
  return `${median(xs).toFixed(digits)} (${xs.map((x) => x.toFixed(digits)).join(', ')})`;
}

async function main(): Promise<void> {
  const sizes = arg('--records', '100000,1000000')
    .split(',')
    .map((s) => Number(s));
  const changes = Number(arg('--changes', '5'));
  const modes = arg('--modes', 'whole,patch').split(',') as Mode[];
  const ops = arg('--ops', 'replace').split(',') as Op[];
  for (const records of sizes) {
    for (const op of ops)
      for (const mode of modes) {
        const f = await measure(mode, records, changes, op);
        console.log(
          `${records} records, ${op === 'replace' ? 'a record replaced' : op === 'add' ? 'a name added' : 'a name removed'}, ${MODE_NAMES[mode]}: ` +
            `ack ${fmt(f.ack)} ms; ack → first worker ${fmt(f.first)} ms; ack → both workers ${fmt(f.all)} ms; ` +
            `CPU ${fmt(f.cpu, 2)} s (medians of ${changes} changes)`,
        );
      }
  }
}

await main();
