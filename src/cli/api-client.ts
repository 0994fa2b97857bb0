/**
 * A small HTTP client of the native API (`/api/v1/…`) on Node's fetch: sends the API key as
 * `X-API-Key`, decodes JSON, and turns error responses (`{"error", "code", "field"}`) into
 * ApiRequestError.
 * @module
 */

/** A request the server refused, or one that never reached it. */
export class ApiRequestError extends Error {
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  /** The API's stable code (`CTL_ERR_…`, `API_ERR_…`), or `CLI_ERR_NETWORK`/`CLI_ERR_HTTP`. */
  readonly code: string;
  /** The request field at fault, as the API names it. */
  readonly field?: string;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiRequestError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** One request. */
export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  /** A JSON body. */
  json?: unknown;
  /** A text body, sent with `contentType`. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /**
   * Called as a text body is sent (octets sent, octets in all): the body then goes out in
   * pieces instead of at once.
   */
  onProgress?: (sent: number, total: number) => void;
}

/** The size of the pieces of a body sent with progress. */
const UPLOAD_CHUNK = 256 * 1024;

/** A body as a stream of pieces that reports each one as it is read. */
function progressBody(
  text: string,
  onProgress: (sent: number, total: number) => void,
): ReadableStream<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes.length) {
        controller.close();
        return;
      }
      const end = Math.min(sent + UPLOAD_CHUNK, bytes.length);
      controller.enqueue(bytes.subarray(sent, end));
      sent = end;
      onProgress(sent, bytes.length);
    },
  });
}

/** A response: status, headers and the decoded body (JSON, or text for other types). */
export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** Talks to one server with one key. */
export class ApiClient {
  readonly server: string;
  readonly #apiKey: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(server: string, apiKey: string | undefined, fetchImpl: typeof fetch = fetch) {
    this.server = server.replace(/\/+$/, '');
    this.#apiKey = apiKey;
    this.#fetch = fetchImpl;
  }

  /** The URL of an API path with a query. */
  url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /**
   * Sends one request and decodes the response.
   * @throws ApiRequestError for a non-2xx status or when the server cannot be reached
   */
  async request<T = unknown>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (this.#apiKey !== undefined) headers['x-api-key'] = this.#apiKey;
    let body: string | ReadableStream<Uint8Array> | undefined;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.text !== undefined) {
      body = opts.onProgress ? progressBody(opts.text, opts.onProgress) : opts.text;
      headers['content-type'] = opts.contentType ?? 'text/plain';
    }
    const url = this.url(path, opts.query);
    let res: Response;
    try {
      // A stream body needs `duplex: 'half'` (the request goes out before the response).
      const init: RequestInit & { duplex?: 'half' } = { method, headers, body };
      if (typeof body === 'object') init.duplex = 'half';
      res = await this.#fetch(url, init);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new ApiRequestError(0, 'CLI_ERR_NETWORK', `cannot reach ${this.server}: ${why}`);
    }
    const type = res.headers.get('content-type') ?? '';
    const raw = await res.text();
    let decoded: unknown = raw;
    if (type.includes('json') && raw.length > 0) {
      try {
        decoded = JSON.parse(raw);
      } catch {
        decoded = raw;
      }
    } else if (raw.length === 0) decoded = undefined;
    if (!res.ok) throw errorOfResponse(res.status, decoded);
    return { status: res.status, headers: res.headers, body: decoded as T };
  }

  /** Every item of a paginated list endpoint (`{"items", "next"}`), following `next`. */
  async listAll<T>(path: string, query: RequestOptions['query'] = {}, pageSize = 1000): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    do {
      const res = await this.request<{ items: T[]; next?: string }>('GET', path, {
        query: { ...query, limit: pageSize, cursor },
      });
      out.push(...res.body.items);
      cursor = res.body.next ?? undefined;
    } while (cursor);
    return out;
  }
}

/** The ApiRequestError of an error response. */
export function errorOfResponse(status: number, body: unknown): ApiRequestError {
  if (typeof body === 'object' && body !== null) {
    const b = body as { error?: unknown; message?: unknown; code?: unknown; field?: unknown };
    const message =
      typeof b.error === 'string' ? b.error : typeof b.message === 'string' ? b.message : undefined;
    if (message !== undefined)
      return new ApiRequestError(
        status,
        typeof b.code === 'string' ? b.code : `HTTP_${status}`,
        message,
        typeof b.field === 'string' ? b.field : undefined,
      );
  }
  const text = typeof body === 'string' && body.trim() !== '' ? `: ${body.trim().slice(0, 200)}` : '';
  return new ApiRequestError(status, 'CLI_ERR_HTTP', `HTTP ${status}${text}`);
}
