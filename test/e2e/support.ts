/**
 * Helpers of the end-to-end tests: start `switchboard serve` as a child process with any
 * arguments, wait for its start line, run dig/kdig against it, and a raw TCP client for
 * pipelining. Every target is a loopback address.
 * @module
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, Socket } from 'node:net';
import { killAtCleanup } from '../helpers/cleanup.js';
import { assertLoopback } from '../helpers/dns-client.js';
import { findFreePort, listDescendants, switchboardBin } from '../helpers/peers.js';

/** A running `switchboard serve`. */
export interface ServeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The start line (empty when the process exited before printing it). */
  readonly startLine: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once it exited. */
  readonly exited: Promise<number | null>;
  /** Resolves when stderr has `count` lines matching `re` (rejects if the process exits first). */
  waitForStderr(re: RegExp, count?: number, timeoutMs?: number): Promise<void>;
  /** SIGTERM, wait, then SIGKILL whatever is left of it and its workers. */
  stop(): Promise<number | null>;
}

export const START_LINE = /^switchboard: serving .*$/m;

/**
 * Spawns `node BIN serve ARGS` from the repo root and waits for its start line or its exit.
 * BIN is $SWITCHBOARD_BIN or dist/src/cli/main.js.
 */
export async function startServe(args: string[], timeoutMs = 30_000): Promise<ServeProcess> {
  return startSwitchboard('serve', args, START_LINE, timeoutMs);
}

/**
 * Spawns `node BIN COMMAND ARGS` and waits for a stdout line matching `startLine` (or its exit):
 * `serve` above, `edge` in edge-support.ts. `env`: added to this process's environment.
 */
export async function startSwitchboard(
  command: string,
  args: string[],
  startLinePattern: RegExp,
  timeoutMs = 30_000,
  env?: Record<string, string>,
): Promise<ServeProcess> {
  const START_LINE = startLinePattern;
  const child = spawn(process.execPath, [switchboardBin(), command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    notify();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString('utf8');
    notify();
  });
  let hasExited = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      hasExited = true;
      notify();
      resolve(code);
    });
  });
  const pid = child.pid!;
  // Whatever ends the test process (exit, SIGINT, SIGTERM) ends the server and its workers.
  const unkill = killAtCleanup(child);
  // Workers are found before the primary goes, so a killed primary leaves nothing behind.
  const stop = async () => {
    const workers = listDescendants(pid);
    if (!hasExited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    for (const w of workers) {
      try {
        process.kill(w, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    unkill();
    return exited;
  };

  const waitUntil = (ok: () => boolean, what: string, ms: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (ok()) done(null);
        else if (hasExited)
          done(new Error(`switchboard exited before ${what}\nstdout: ${out}\nstderr: ${err}`));
      };
      const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}\nstderr: ${err}`)), ms);
      const done = (e: Error | null) => {
        clearTimeout(timer);
        listeners.delete(check);
        if (e) reject(e);
        else resolve();
      };
      listeners.add(check);
      check();
    });

  let startLine = '';
  try {
    await waitUntil(() => START_LINE.test(out), 'its start line', timeoutMs);
    startLine = START_LINE.exec(out)![0];
  } catch {
    // Exited (or too slow): the caller inspects `exited` and the output.
  }
  return {
    child,
    pid,
    startLine,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStderr: (re, count = 1, ms = 60_000) =>
      waitUntil(
        () =>
          (err.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`)) ?? [])
            .length >= count,
        `${count} stderr line(s) matching ${re}`,
        ms,
      ),
    stop,
  };
}

/** A port free for TCP and UDP on `host`: `findFreePort` (below the ephemeral range). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return findFreePort(host);
}

/** True when ::1 can be bound here. */
export async function hasIpv6Loopback(): Promise<boolean> {
  const srv = createServer();
  try {
    srv.listen(0, '::1');
    await once(srv, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    srv.close();
  }
}

/** Output of one dig/kdig run. */
export interface DigResult {
  text: string;
  /** `NOERROR`, `NXDOMAIN`, … from the header line; undefined when no response. */
  status?: string;
  /** Answer-section records as `name type rdata` (TTL and class left out). */
  answers: string[];
  flags: string[];
}

/** Parses dig's and kdig's default output. */
export function parseDig(text: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(text)?.[1];
  const flags = (/flags: ([a-z ]+)[;]/.exec(text)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const answers: string[] = [];
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|\n;;|$)/.exec(text);
  if (section) {
    for (const line of section[1].split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5 || line.startsWith(';')) continue;
      // name ttl class type rdata…
      answers.push([f[0], f[3], ...f.slice(4)].join(' '));
    }
  }
  return { text, status, answers, flags };
}

/** Runs dig or kdig with `args` (server and port included by the caller). */
export function runTool(tool: 'dig' | 'kdig', args: string[]): Promise<DigResult> {
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: 30_000 }, (_err, stdout, stderr) =>
      resolve(parseDig(`${stdout}${stderr}`)),
    );
  });
}

/** `dig @HOST -p PORT NAME TYPE +norec [extra]`. */
export function dig(
  host: string,
  port: number,
  name: string,
  type: string,
  ...extra: string[]
): Promise<DigResult> {
  assertLoopback(host);
  return runTool('dig', [
    `@${host}`,
    '-p',
    String(port),
    name,
    type,
    '+norec',
    '+time=3',
    '+tries=2',
    ...extra,
  ]);
}

/** `kdig @HOST -p PORT NAME TYPE +norec [extra]`. */
export function kdig(
  host: string,
  port: number,
  name: string,
  type: string,
  ...extra: string[]
): Promise<DigResult> {
  assertLoopback(host);
  return runTool('kdig', [
    `@${host}`,
    '-p',
    String(port),
    name,
    type,
    '+norec',
    '+time=3',
    '+retry=1',
    ...extra,
  ]);
}

/** A raw TCP connection that splits the response stream into messages (RFC 1035 §4.2.2). */
export class FramedClient {
  readonly sock: Socket;
  readonly #messages: Buffer[] = [];
  readonly #waiters: ((m: Buffer | null) => void)[] = [];
  #buf = Buffer.alloc(0);

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      while (this.#buf.length >= 2 && this.#buf.length >= 2 + this.#buf.readUInt16BE(0)) {
        const len = this.#buf.readUInt16BE(0);
        const m = Buffer.from(this.#buf.subarray(2, 2 + len));
        this.#buf = this.#buf.subarray(2 + len);
        const w = this.#waiters.shift();
        if (w) w(m);
        else this.#messages.push(m);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      for (const w of this.#waiters.splice(0)) w(null);
    });
  }

  /** Connects to a loopback server. */
  static async connect(host: string, port: number): Promise<FramedClient> {
    assertLoopback(host);
    const sock = new Socket();
    sock.setNoDelay(true);
    sock.connect({ host, port });
    await once(sock, 'connect');
    return new FramedClient(sock);
  }

  /** The next response, or null if the connection closed first. */
  next(): Promise<Buffer | null> {
    const m = this.#messages.shift();
    if (m) return Promise.resolve(m);
    if (this.sock.destroyed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Writes raw octets and waits until they are handed to the kernel. */
  write(b: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.sock.write(b, (e) => (e ? reject(e) : resolve())));
  }

  close(): void {
    this.sock.destroy();
  }
}

/** `msg` with its two-octet length prefix (test/helpers/tcp-client.ts). */
export { framed as frame } from '../helpers/tcp-client.js';
