/**
 * The control-plane benchmark's instruments: a keep-alive JSON client for the HTTP API, and a
 * UDP poller that asks a name's A record every few milliseconds until the answer carries an
 * expected address (change-to-answer latency). Both refuse any target outside loopback, and
 * every poll stops by itself after its deadline.
 * @module
 */
import { createSocket, type Socket } from 'node:dgram';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { decodeMessage } from '../src/wire/decode.js';
import { assertLoopback, buildQuery } from '../test/helpers/dns-client.js';

/** An HTTP response: status, body text and the parsed JSON (undefined when not JSON). */
export interface JsonResponse {
  status: number;
  text: string;
  json: unknown;
}

/** A JSON client bound to one API base URL and key, with a pool of keep-alive connections. */
export class ApiClient {
  readonly #host: string;
  readonly #port: number;
  readonly #key: string;
  readonly #agent: Agent;

  /** `base` is `http://127.0.0.1:PORT`; `sockets` caps the open connections. */
  constructor(base: string, key: string, sockets = 16) {
    const u = new URL(base);
    assertLoopback(u.hostname.replace(/^\[|\]$/g, ''));
    this.#host = u.hostname.replace(/^\[|\]$/g, '');
    this.#port = Number(u.port || 80);
    this.#key = key;
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets });
  }

  /** A client of the same server with another key (and a pool of its own). */
  withKey(key: string, sockets = 16): ApiClient {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return new ApiClient(`http://${host}:${this.#port}`, key, sockets);
  }

  /** Sends one request; resolves when the whole response has arrived. */
  call(method: string, path: string, body?: unknown): Promise<JsonResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.#host,
          port: this.#port,
          method,
          path,
          agent: this.#agent,
          headers: {
            'X-API-Key': this.#key,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, text, json });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`HTTP timeout: ${method} ${path}`)));
      req.end(payload);
    });
  }

  /** Like `call`, but throws unless the status is 2xx. */
  async expect(method: string, path: string, body?: unknown): Promise<JsonResponse> {
    const r = await this.call(method, path, body);
    if (r.status < 200 || r.status >= 300)
      throw new Error(`${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 500)}`);
    return r;
  }

  /** Closes the idle connections. */
  close(): void {
    this.#agent.destroy();
  }
}

/** The four octets of a dotted IPv4 address. */
function ipv4Octets(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** True when `msg` is a NOERROR response with an A record of `ip` in its answer section. */
export function answersWith(msg: Uint8Array, ip: readonly number[]): boolean {
  let m: ReturnType<typeof decodeMessage>;
  try {
    m = decodeMessage(msg);
  } catch {
    return false;
  }
  if ((m.flags & 0xf) !== 0) return false;
  return m.answers.some(
    (rr) =>
      rr.type === 1 &&
      rr.rdata.length === 4 &&
      rr.rdata[0] === ip[0] &&
      rr.rdata[1] === ip[1] &&
      rr.rdata[2] === ip[2] &&
      rr.rdata[3] === ip[3],
  );
}

/** When the new value was first and last not seen, relative to the poll's start. */
export interface PollResult {
  /** ms from `start` to the first answer carrying the new value; NaN when none before the deadline. */
  firstNewMs: number;
  /** ms from `start` to the last answer that still lacked it (0 when none after the first new one). */
  lastStaleMs: number;
  /** Answers that lacked the new value after one had carried it (another worker lagging). */
  staleAfterNew: number;
  /** Queries sent. */
  sent: number;
}

/**
 * Polls `name` A at `host:port` from several UDP sockets (so answers come from several
 * workers), one query every `intervalMs`, until `settleAnswers` answers in a row carry `ip`
 * after the first one did, or until `timeoutMs`. Times are relative to `start` (performance.now()).
 */
export class AnswerPoller {
  readonly #host: string;
  readonly #port: number;
  readonly #sockets: Socket[] = [];

  constructor(host: string, port: number, sockets = 4) {
    assertLoopback(host);
    this.#host = host;
    this.#port = port;
    for (let i = 0; i < sockets; i++) this.#sockets.push(createSocket('udp4'));
  }

  /** Binds the sockets (ephemeral loopback ports). */
  async open(): Promise<void> {
    await Promise.all(
      this.#sockets.map(
        (s) => new Promise<void>((res) => s.bind({ address: '127.0.0.1', port: 0 }, () => res())),
      ),
    );
  }

  /** Runs one poll (see the class comment). */
  poll(opts: {
    name: string;
    ip: string;
    start: number;
    intervalMs: number;
    timeoutMs: number;
    settleAnswers?: number;
  }): Promise<PollResult> {
    const ip = ipv4Octets(opts.ip);
    const settle = opts.settleAnswers ?? 8;
    return new Promise((resolve) => {
      let id = Math.floor(Math.random() * 0x10000);
      const outstanding = new Set<number>();
      let firstNew = Number.NaN;
      let lastStale = 0;
      let staleAfterNew = 0;
      let newInRow = 0;
      let sent = 0;
      let next = 0;
      let timer: NodeJS.Timeout | undefined;
      let finished = false;
      const onMessage = (msg: Buffer): void => {
        const now = performance.now() - opts.start;
        if (msg.length < 12) return;
        const rid = (msg[0] << 8) | msg[1];
        if (!outstanding.delete(rid)) return;
        if (answersWith(msg, ip)) {
          if (Number.isNaN(firstNew)) firstNew = now;
          newInRow++;
          if (newInRow >= settle) finish();
        } else {
          newInRow = 0;
          if (!Number.isNaN(firstNew)) {
            staleAfterNew++;
            lastStale = now;
          }
        }
      };
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        for (const s of this.#sockets) s.off('message', onMessage);
        resolve({ firstNewMs: firstNew, lastStaleMs: lastStale, staleAfterNew, sent });
      };
      for (const s of this.#sockets) s.on('message', onMessage);
      const tick = (): void => {
        if (finished) return;
        if (performance.now() - opts.start > opts.timeoutMs) {
          finish();
          return;
        }
        id = (id + 1) & 0xffff;
        outstanding.add(id);
        const q = buildQuery({ id, name: opts.name, type: 1 });
        this.#sockets[next++ % this.#sockets.length].send(q, this.#port, this.#host);
        sent++;
        timer = setTimeout(tick, opts.intervalMs);
      };
      tick();
    });
  }

  close(): void {
    for (const s of this.#sockets) s.close();
  }
}
