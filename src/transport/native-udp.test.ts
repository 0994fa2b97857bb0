import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import type { QueryHandler } from './handler.js';
import { parseListenAddress } from './listen-address.js';
import {
  createNativeUdpListener,
  PREPARSE_FLAGS as F,
  formatIPv6,
  type NativeUdpListener,
  nativeUdpStatus,
  PREPARSE_STATUS as S,
} from './native-udp.js';

const native = nativeUdpStatus();
const skip = native.ok ? false : `native UDP addon unavailable: ${native.reason}`;

/** A query for `name` (dotted, absolute) type `qtype`, with optional raw additional bytes. */
function query(
  id: number,
  name: string,
  qtype = 1,
  opts: { ar?: number[]; arcount?: number; flags?: number } = {},
) {
  const labels = name.split('.').filter((l) => l.length > 0);
  const qname = labels.flatMap((l) => [l.length, ...Buffer.from(l, 'latin1')]);
  const ar = opts.ar ?? [];
  const arcount = opts.arcount ?? (ar.length > 0 ? 1 : 0);
  return Uint8Array.from([
    id >> 8,
    id & 0xff,
    opts.flags ?? 0x01,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    arcount >> 8,
    arcount & 0xff,
    ...qname,
    0,
    qtype >> 8,
    qtype & 0xff,
    0,
    1,
    ...ar,
  ]);
}

/** An OPT RR: payload size, DO, options as [code, bytes]. */
function opt(
  size: number,
  dnssecOk: boolean,
  options: [number, number[]][] = [],
  rdlenLie?: number,
): number[] {
  const body = options.flatMap(([code, data]) => [
    code >> 8,
    code & 0xff,
    data.length >> 8,
    data.length & 0xff,
    ...data,
  ]);
  const rdlen = rdlenLie ?? body.length;
  return [0, 0, 41, size >> 8, size & 0xff, 0, 0, dnssecOk ? 0x80 : 0, 0, rdlen >> 8, rdlen & 0xff, ...body];
}

describe('native pre-parse (native/preparse.c)', { skip }, () => {
  const pp = (b: Uint8Array) => {
    if (!native.ok) throw new Error('unreachable');
    const [status, flags, qnameLen, qtype, qclass, optSize, ednsVersion, labels, questionEnd] =
      native.addon.preparse(b);
    return { status, flags, qnameLen, qtype, qclass, optSize, ednsVersion, labels, questionEnd };
  };

  test('a plain query: the question, no OPT', () => {
    assert.deepEqual(pp(query(1, 'www.example.', 28)), {
      status: 0,
      flags: F.rd,
      qnameLen: 13,
      qtype: 28,
      qclass: 1,
      optSize: 0,
      ednsVersion: 0,
      labels: 2,
      questionEnd: 29,
    });
    // The root name.
    assert.deepEqual(pp(query(1, '.', 2)).qnameLen, 1);
  });

  test('an OPT: its UDP size, DO bit, COOKIE, NSID, version', () => {
    const r = pp(
      query(1, 'example.', 1, {
        ar: opt(1232, true, [
          [10, [1, 2, 3, 4, 5, 6, 7, 8]],
          [3, []],
        ]),
      }),
    );
    assert.equal(r.status, 0);
    assert.equal(r.flags, F.rd | F.opt | F.do | F.cookie | F.nsid);
    assert.equal(r.optSize, 1232);
    assert.equal(
      pp(query(1, 'example.', 1, { ar: opt(1232, false, [[3, []]]) })).flags,
      F.rd | F.opt | F.nsid,
    );
    const v1 = query(1, 'example.', 1, { ar: opt(512, false) });
    v1[v1.length - 5] = 1; // EDNS version 1 (owner, type, size, extended rcode, version, flags, rdlength)
    assert.equal(pp(v1).ednsVersion, 1);
    assert.equal(pp(v1).flags & F.do, 0);
  });

  test('header problems are flagged, not fatal', () => {
    assert.equal(pp(new Uint8Array(0)).status, S.short);
    assert.equal(pp(new Uint8Array(11)).status, S.short);
    assert.equal(pp(query(1, 'a.', 1, { flags: 0x81 })).status & S.response, S.response);
    assert.equal(pp(query(1, 'a.', 1, { flags: 0x28 })).status & S.opcode, S.opcode); // opcode 5 (UPDATE)
    const qd0 = query(1, 'a.');
    qd0[5] = 0;
    assert.equal(pp(qd0).status, S.qdcount);
    const qd2 = query(1, 'a.');
    qd2[5] = 2;
    assert.equal(pp(qd2).status, S.qdcount);
  });

  test('bad names: compression, label > 63, name > 255, running past the end', () => {
    const ptr = Uint8Array.from([...query(1, 'a.').subarray(0, 12), 0xc0, 12, 0, 1, 0, 1]);
    assert.equal(pp(ptr).status, S.badName);
    const long = Uint8Array.from([
      ...query(1, 'a.').subarray(0, 12),
      64,
      ...new Array(64).fill(97),
      0,
      0,
      1,
      0,
      1,
    ]);
    assert.equal(pp(long).status, S.badName);
    const l63 = 'x'.repeat(63);
    assert.equal(pp(query(1, `${l63}.${l63}.${l63}.${'y'.repeat(61)}.`)).status, 0); // 255 octets
    assert.equal(pp(query(1, `${l63}.${l63}.${l63}.${'y'.repeat(62)}.`)).status, S.badName); // 256
    const full = query(1, 'www.example.');
    for (let cut = 12; cut < 25; cut++)
      assert.equal(pp(full.subarray(0, cut)).status, S.badName, `cut at ${cut}`);
    assert.equal(pp(full.subarray(0, 27)).status, S.noQtype);
  });

  test('a lying OPT, extra records, trailing octets', () => {
    assert.equal(pp(query(1, 'a.', 1, { ar: opt(4096, false, [], 500) })).status, S.optBad);
    assert.equal(
      pp(query(1, 'a.', 1, { ar: opt(4096, false, [[10, [1, 2]]]).slice(0, -1) })).status,
      S.optBad,
    );
    assert.equal(pp(query(1, 'a.', 1, { ar: [...opt(4096, false), 9] })).status, S.trailing);
    assert.equal(pp(query(1, 'a.', 1, { ar: opt(4096, false), arcount: 2 })).status & S.trailing, S.trailing);
    // docs/NATIVE.md: 0x80 is other records or octets after the last one; 0x40 a missing or cut record.
    assert.equal(pp(query(1, 'a.', 1, { ar: [7, 7] })).status, S.optBad, 'ARCOUNT 1 with 2 octets');
    assert.equal(pp(query(1, 'a.', 1, { arcount: 1 })).status, S.optBad, 'ARCOUNT 1, no record');
    assert.equal(
      pp(query(1, 'a.', 1, { ar: [9], arcount: 0 })).status,
      S.trailing,
      'an octet after the question',
    );
    const a = [0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]; // root A record, not an OPT
    assert.equal(pp(query(1, 'a.', 1, { ar: a })).status, S.trailing, 'an additional A record');
    const named = [1, 0x61, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]; // type 41 owned by "a."
    assert.equal(pp(query(1, 'a.', 1, { ar: named })).status, S.trailing, 'an OPT not owned by the root');
    assert.equal(
      pp(
        query(1, 'a.', 1, {
          ar: opt(1232, false, [
            [10, [1, 2, 3, 4, 5, 6, 7, 8]],
            [12, [0, 0]],
          ]),
        }),
      ).status,
      0,
    );
  });
});

/** Echo with QR set; `0xff` as the first QNAME octet throws, `0xfe` answers nothing. */
const echo: QueryHandler = (q) => {
  if (q[12] === 0xff) throw new Error('boom');
  if (q[12] === 0xfe) return null;
  const r = new Uint8Array(q);
  r[2] |= 0x80;
  return r;
};

async function client(): Promise<{
  sock: Socket;
  got: Buffer[];
  from: string[];
  wait: (n: number) => Promise<void>;
}> {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  const got: Buffer[] = [];
  const from: string[] = [];
  let waiter: (() => void) | null = null;
  let want = 0;
  sock.on('message', (m, rinfo) => {
    got.push(m);
    from.push(rinfo.address);
    if (waiter && got.length >= want) waiter();
  });
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  return {
    sock,
    got,
    from,
    wait: (n) =>
      got.length >= n
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            want = n;
            waiter = resolve;
          }),
  };
}

describe('native UDP listener', { skip }, () => {
  test('a burst is answered in batches: every datagram once, through few JS calls', async (t) => {
    const errors: string[] = [];
    const l = await createNativeUdpListener({
      address: parseListenAddress('127.0.0.1:0'),
      handler: echo,
      onError: (m) => errors.push(m),
    });
    t.after(() => l.close());
    const c = await client();
    t.after(() => c.sock.close());
    // 200 queries; #50 throws in the handler, #60 is answered with nothing.
    for (let i = 0; i < 200; i++) {
      const q = query(i, 'www.example.');
      if (i === 50) q[12] = 0xff;
      if (i === 60) q[12] = 0xfe;
      c.sock.send(q, l.port, '127.0.0.1');
    }
    await c.wait(198);
    const ids = c.got.map((m) => m.readUInt16BE(0)).sort((a, b) => a - b);
    assert.deepEqual(
      ids,
      Array.from({ length: 200 }, (_, i) => i).filter((i) => i !== 50 && i !== 60),
    );
    assert.ok(c.got.every((m) => (m[2] & 0x80) === 0x80));
    assert.equal(errors.length, 1);
    const s = l.stats();
    assert.equal(s.received, 200);
    assert.equal(s.answeredJs, 198);
    assert.equal(s.sent, 198);
    assert.ok(s.jsCalls <= s.batches && s.batches <= 200, JSON.stringify(s));
    t.diagnostic(`200 datagrams in ${s.batches} batches, ${s.jsCalls} JS calls`);
  });

  test('answers larger than the output area are flushed mid-batch, none lost', async (t) => {
    // 24 answers of 15,000 octets overflow the 320 KiB output area once.
    const big: QueryHandler = (q) => {
      const r = new Uint8Array(15_000);
      r.set(q.subarray(0, 2));
      r[2] = 0x80;
      r[14_999] = q[1];
      return r;
    };
    const l = await createNativeUdpListener({ address: parseListenAddress('127.0.0.1:0'), handler: big });
    t.after(() => l.close());
    const c = await client();
    t.after(() => c.sock.close());
    for (let i = 0; i < 24; i++) c.sock.send(query(i, 'big.example.'), l.port, '127.0.0.1');
    await c.wait(24);
    assert.deepEqual(
      c.got.map((m) => m.readUInt16BE(0)).sort((a, b) => a - b),
      Array.from({ length: 24 }, (_, i) => i),
    );
    assert.ok(c.got.every((m) => m.length === 15_000 && m[14_999] === m[1]));
    t.diagnostic(`stats ${JSON.stringify(l.stats())}`);
  });

  test('a datagram larger than a slot is dropped and counted; the socket keeps serving', async (t) => {
    const l = await createNativeUdpListener({ address: parseListenAddress('127.0.0.1:0'), handler: echo });
    t.after(() => l.close());
    const c = await client();
    t.after(() => c.sock.close());
    c.sock.send(Buffer.alloc(6000, 1), l.port, '127.0.0.1');
    c.sock.send(query(7, 'a.'), l.port, '127.0.0.1');
    await c.wait(1);
    assert.equal(c.got[0].readUInt16BE(0), 7);
    assert.equal(l.stats().truncated, 1);
  });

  test('two native sockets share one port (SO_REUSEPORT); close is idempotent', async () => {
    const a = await createNativeUdpListener({ address: parseListenAddress('127.0.0.1:0'), handler: echo });
    const b = await createNativeUdpListener({
      address: parseListenAddress(`127.0.0.1:${a.port}`),
      handler: echo,
    });
    assert.equal(b.port, a.port);
    await a.close();
    await a.close();
    await b.close();
  });

  test('a handler that closes the socket mid-batch: nothing more is sent, nothing crashes', async (t) => {
    let l: NativeUdpListener | undefined;
    let calls = 0;
    const closing: QueryHandler = (q, ctx) => {
      calls++;
      void l?.close();
      return echo(q, ctx);
    };
    l = await createNativeUdpListener({ address: parseListenAddress('127.0.0.1:0'), handler: closing });
    const c = await client();
    t.after(() => c.sock.close());
    for (let i = 0; i < 5; i++) c.sock.send(query(i, 'a.'), l.port, '127.0.0.1');
    while (calls === 0) await new Promise((r) => setImmediate(r));
    // The batch that closed it sent nothing (the counters outlive the socket).
    assert.equal(l.stats().sent, 0);
    assert.equal(l.stats().jsCalls, 1);
  });

  test("the socket queue wait of a wake-up's oldest datagram is measured (SO_TIMESTAMPNS), and is off unless asked for", async (t) => {
    // A sender in a child process queues datagrams while this process's loop is blocked (spawnSync
    // returns when the child has exited, 80 ms after its sends): they wait >= 80 ms by construction.
    const sendAndLinger = (port: number): void => {
      const script = `const s=require('node:dgram').createSocket('udp4');let n=0;for(let i=0;i<4;i++)s.send(Buffer.from(${JSON.stringify(Array.from(query(7, 'a.')))}),${port},'127.0.0.1',()=>{if(++n===4)setTimeout(()=>process.exit(0),80)});`;
      const r = spawnSync(process.execPath, ['-e', script], { timeout: 10_000 });
      assert.equal(r.status, 0, String(r.stderr));
    };
    const was = process.env.SWITCHBOARD_QDELAY;
    t.after(() => {
      if (was === undefined) delete process.env.SWITCHBOARD_QDELAY;
      else process.env.SWITCHBOARD_QDELAY = was;
    });
    for (const mode of ['on', 'off'] as const) {
      // Opt-in: on with SWITCHBOARD_QDELAY=on, off by default.
      if (mode === 'on') process.env.SWITCHBOARD_QDELAY = 'on';
      else delete process.env.SWITCHBOARD_QDELAY;
      const l = await createNativeUdpListener({ address: parseListenAddress('127.0.0.1:0'), handler: echo });
      try {
        sendAndLinger(l.port);
        const deadline = Date.now() + 5000;
        while (l.stats().received < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        const s = l.stats();
        assert.equal(s.received, 4, JSON.stringify(s));
        if (mode === 'on') {
          assert.equal(s.queueDelayStamps, 1);
          assert.ok((s.queueDelayMaxMs ?? 0) >= 75, `the oldest waited ${s.queueDelayMaxMs} ms`);
          t.diagnostic(`oldest datagram waited ${s.queueDelayMaxMs?.toFixed(1)} ms`);
        } else {
          assert.equal(s.queueDelayStamps, 0);
          assert.equal(s.queueDelayMaxMs, 0);
        }
      } finally {
        await l.close();
      }
    }
  });

  test('a wildcard socket replies from the address that was queried (IP_PKTINFO)', async (t) => {
    // Only loopback sources are answered; the socket lives for this test only.
    const loopOnly: QueryHandler = (q, ctx) => (ctx.address.startsWith('127.') ? echo(q, ctx) : null);
    let l: NativeUdpListener;
    try {
      l = await createNativeUdpListener({ address: parseListenAddress('0.0.0.0:0'), handler: loopOnly });
    } catch (err) {
      t.skip(`cannot bind 0.0.0.0: ${(err as Error).message}`);
      return;
    }
    t.after(() => l.close());
    const c = await client();
    t.after(() => c.sock.close());
    c.sock.send(query(1, 'a.'), l.port, '127.0.0.5');
    c.sock.send(query(2, 'a.'), l.port, '127.0.0.9');
    await c.wait(2);
    assert.equal(l.stats().pktinfo, 1);
    const byId = new Map(c.got.map((m, i) => [m.readUInt16BE(0), c.from[i]]));
    assert.equal(byId.get(1), '127.0.0.5');
    assert.equal(byId.get(2), '127.0.0.9');
  });

  test('an IPv6 wildcard socket replies from the address that was queried (IPV6_PKTINFO)', async (t) => {
    let l: NativeUdpListener;
    try {
      l = await createNativeUdpListener({
        address: parseListenAddress('[::]:0'),
        handler: (q, ctx) => (ctx.address === '::1' ? echo(q, ctx) : null),
      });
    } catch (err) {
      t.skip(`cannot bind ::: ${(err as Error).message}`);
      return;
    }
    t.after(() => l.close());
    const sock = createSocket('udp6');
    t.after(() => sock.close());
    sock.bind(0, '::1');
    await once(sock, 'listening');
    sock.send(query(9, 'a.'), l.port, '::1');
    const [msg, rinfo] = (await once(sock, 'message')) as [Buffer, { address: string }];
    assert.equal(msg.readUInt16BE(0), 9);
    assert.equal(rinfo.address, '::1');
    assert.equal(l.stats().pktinfo, 1);
  });

  test('scoped IPv6 listen addresses: a zone index names an interface, an unknown one is refused clearly', async (t) => {
    // parseListenAddress accepts `[addr%zone]:port` (node:net isIPv6 does); so must the addon.
    await assert.rejects(
      createNativeUdpListener({ address: parseListenAddress('[fe80::1%nosuchif0]:0'), handler: echo }),
      (err: Error) => /no network interface 'nosuchif0'/.test(err.message),
    );
    await assert.rejects(
      createNativeUdpListener({ address: { host: 'fe80::1%', port: 0, family: 6 }, handler: echo }),
      /no network interface/,
    );
    let l: NativeUdpListener;
    try {
      // ::1 scoped to the loopback interface (by name): binds, and answers queries to ::1.
      l = await createNativeUdpListener({ address: parseListenAddress('[::1%lo]:0'), handler: echo });
    } catch (err) {
      t.skip(`cannot bind ::1 here: ${(err as Error).message}`);
      return;
    }
    t.after(() => l.close());
    const sock = createSocket('udp6');
    t.after(() => sock.close());
    sock.bind(0, '::1');
    await once(sock, 'listening');
    sock.send(query(7, 'a.'), l.port, '::1');
    const [msg] = (await once(sock, 'message')) as [Buffer];
    assert.equal(msg.readUInt16BE(0), 7);
    // The same by interface number.
    const l2 = await createNativeUdpListener({ address: parseListenAddress('[::1%1]:0'), handler: echo });
    await l2.close();
  });
});

describe('formatIPv6 (as Node prints addresses)', () => {
  const f = (s: string) => {
    const hex = s.replace(/ /g, '');
    return formatIPv6(Uint8Array.from(hex.match(/../g)!.map((h) => Number.parseInt(h, 16))));
  };
  test('RFC 5952 forms', () => {
    assert.equal(f('0000 0000 0000 0000 0000 0000 0000 0001'), '::1');
    assert.equal(f('0000 0000 0000 0000 0000 0000 0000 0000'), '::');
    assert.equal(f('2001 0db8 0000 0000 0000 0000 0002 0001'), '2001:db8::2:1');
    assert.equal(f('2001 0db8 0000 0001 0001 0001 0001 0001'), '2001:db8:0:1:1:1:1:1');
    assert.equal(f('2001 0000 0000 0001 0000 0000 0000 0001'), '2001:0:0:1::1');
    assert.equal(f('fe80 0000 0000 0000 0000 0000 0000 0000'), 'fe80::');
    assert.equal(f('0000 0000 0000 0000 0000 ffff 7f00 0001'), '::ffff:127.0.0.1');
  });
});
