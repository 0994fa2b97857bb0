/**
 * `switchboard zone deleted` and `zone restore` against a running `switchboard start`: a
 * deleted zone stops being served, is listed with its restore window, and comes back (served
 * again over DNS) with the next serial.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  callApi,
  type Platform,
  removeDataDir,
  runCli,
  startPlatform,
  waitForEveryWorker,
} from '../helpers/platform.js';

describe('switchboard zone deleted|restore', () => {
  const key = `sb_${randomBytes(32).toString('base64url')}`;
  let p: Platform;
  const cli = (args: string[]) => runCli(args, { SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: key });

  before(async () => {
    p = await startPlatform({ apiKey: key, workers: 1 });
  });
  after(async () => {
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
  });

  test('a deleted zone is listed, restored by name and served again', async () => {
    const created = await cli(['zone', 'create', 'undo.test', '--nameserver', 'ns1.example.net.']);
    assert.equal(created.code, 0, created.err);
    const set = await cli(['record', 'set', 'www', 'A', '192.0.2.77', '--zone', 'undo.test']);
    assert.equal(set.code, 0, set.err);
    await waitForEveryWorker(p.dnsPort, 'www.undo.test', 1, 1, (a) => a.answers.includes('192.0.2.77'), 2000);
    const before = await callApi(p.api, key, 'GET', '/api/v1/zones/undo.test');

    assert.equal((await callApi(p.api, key, 'DELETE', '/api/v1/zones/undo.test')).status, 204);
    await waitForEveryWorker(p.dnsPort, 'www.undo.test', 1, 1, (a) => a.rcode === 5 || a.rcode === 3, 2000);

    const list = await cli(['zone', 'deleted']);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /^NAME\s+ID\s+VERSION\s+RECORDS\s+DELETED\s+RESTORABLE UNTIL$/m);
    assert.match(list.out, new RegExp(`^undo\\.test\\.\\s+${before.body.id}\\s+2\\s+`, 'm'));
    const json = await cli(['zone', 'deleted', '--name', 'undo.test', '--json']);
    assert.equal(json.code, 0, json.err);
    const [d] = JSON.parse(json.out);
    assert.equal(d.id, before.body.id);

    const restored = await cli(['zone', 'restore', 'undo.test', '--comment', 'deleted by mistake']);
    assert.equal(restored.code, 0, restored.err);
    assert.match(restored.out, /restored zone undo\.test\. \(version 3, serial \d+/);
    await waitForEveryWorker(p.dnsPort, 'www.undo.test', 1, 1, (a) => a.answers.includes('192.0.2.77'), 2000);
    const after = await callApi(p.api, key, 'GET', '/api/v1/zones/undo.test');
    assert.ok(after.body.serial > before.body.serial);

    // Nothing left to restore: exit 1 with the API's message.
    const again = await cli(['zone', 'restore', 'undo.test']);
    assert.equal(again.code, 1);
    assert.match(again.err, /no deleted zone/);
  });
});
