import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ApiClient } from './api-client.js';

test('a body sent with progress arrives whole, in pieces, each one reported', async () => {
  let received = '';
  const server = createServer((req, res) => {
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      received += c;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ length: Buffer.byteLength(received), type: req.headers['content-type'] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const api = new ApiClient(`http://127.0.0.1:${port}`, 'k');
    // 600 KiB of text with multi-octet characters: three pieces of 256 KiB at most.
    const text = 'é'.repeat(300 * 1024);
    const seen: [number, number][] = [];
    const res = await api.request<{ length: number; type: string }>('PUT', '/x', {
      text,
      contentType: 'text/dns',
      onProgress: (sent, total) => seen.push([sent, total]),
    });
    assert.deepEqual(res.body, { length: 600 * 1024, type: 'text/dns' });
    assert.equal(received, text);
    assert.deepEqual(seen, [
      [256 * 1024, 600 * 1024],
      [512 * 1024, 600 * 1024],
      [600 * 1024, 600 * 1024],
    ]);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
