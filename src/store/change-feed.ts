/**
 * The PostgreSQL change feed: a dedicated connection that LISTENs on one channel and hands
 * every NOTIFY payload to the store's user. A NOTIFY sent inside a transaction is delivered
 * only when that transaction commits, so listeners never hear of changes that did not land.
 * When the connection drops (server restart, network fault, or a silent death noticed by a
 * periodic ping) it reconnects with backoff and reports `onReconnect`, because notifications
 * sent while it was away are lost and the user must resynchronise.
 * @module
 */
import pg from 'pg';

/** What the feed reports. */
export interface ChangeFeedHandlers {
  /** One NOTIFY payload. */
  onMessage(payload: string): void;
  /** Listening again after a lost connection: notifications may have been missed meanwhile. */
  onReconnect(): void;
  /** A connection fault (for logs); the feed keeps retrying by itself. */
  onError?(err: Error): void;
}

/** Options of the feed. */
export interface ChangeFeedOptions {
  /** How often the idle connection is checked (ms). Default 5000. */
  pingIntervalMs?: number;
  /** Longest wait between reconnection attempts (ms). Default 2000. */
  maxBackoffMs?: number;
}

/** `application_name` of the listening connection (visible in pg_stat_activity). */
export const FEED_APPLICATION_NAME = 'switchboard-listener';

/** A channel name PostgreSQL accepts unquoted (it is interpolated into LISTEN). */
const CHANNEL_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** LISTEN on one channel over its own connection, reconnecting until closed. */
export class ChangeFeed {
  readonly #url: string;
  readonly #channel: string;
  readonly #handlers: ChangeFeedHandlers;
  readonly #pingMs: number;
  readonly #maxBackoffMs: number;
  #client: pg.Client | undefined;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #ping: NodeJS.Timeout | undefined;
  #backoff = 50;
  #connecting = false;

  constructor(url: string, channel: string, handlers: ChangeFeedHandlers, opts: ChangeFeedOptions = {}) {
    if (!CHANNEL_RE.test(channel)) throw new Error(`bad channel name '${channel}'`);
    this.#url = url;
    this.#channel = channel;
    this.#handlers = handlers;
    this.#pingMs = opts.pingIntervalMs ?? 5000;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 2000;
  }

  /** Connects and LISTENs; rejects when the first connection fails. */
  async start(): Promise<void> {
    await this.#connect();
    this.#ping = setInterval(() => this.#checkAlive(), this.#pingMs);
    this.#ping.unref();
  }

  /** True while the listening connection is up. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** Drops the current connection as if the network failed (tests of the reconnect path). */
  simulateDrop(): void {
    const c = this.#client;
    if (!c) return;
    this.#lost(c, new Error('connection dropped (simulated)'));
    // Ending the socket makes the server side go away too.
    c.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#url,
      keepAlive: true,
      application_name: FEED_APPLICATION_NAME,
    });
    client.on('notification', (msg) => {
      if (msg.channel === this.#channel && msg.payload !== undefined) this.#handlers.onMessage(msg.payload);
    });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('listener connection ended')));
    await client.connect();
    try {
      await client.query(`LISTEN ${this.#channel}`);
    } catch (err) {
      client.end().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#backoff = 50;
  }

  #lost(client: pg.Client, err: Error): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.removeAllListeners('notification');
    if (this.#closed) return;
    this.#handlers.onError?.(err);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#timer || this.#connecting) return;
    const wait = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.#maxBackoffMs);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connecting = true;
      this.#connect().then(
        () => {
          this.#connecting = false;
          if (!this.#closed && this.#client) this.#handlers.onReconnect();
        },
        (err: Error) => {
          this.#connecting = false;
          this.#handlers.onError?.(err);
          this.#scheduleReconnect();
        },
      );
    }, wait);
  }

  #checkAlive(): void {
    const c = this.#client;
    if (!c) return;
    // A connection that died without a FIN/RST would stay silent forever: a cheap query
    // with a deadline turns that into an error and a reconnect.
    const deadline = setTimeout(() => this.simulateDrop(), this.#pingMs);
    c.query('SELECT 1').then(
      () => clearTimeout(deadline),
      (err: Error) => {
        clearTimeout(deadline);
        this.#lost(c, err);
        c.end().catch(() => {});
      },
    );
  }

  /** Stops listening and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#ping) clearInterval(this.#ping);
    const c = this.#client;
    this.#client = undefined;
    if (c) await c.end().catch(() => {});
  }
}
