import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { buildServeConfig, ConfigError, decodeServeConfig, encodeServeConfig } from './config.js';

const isConfigError = (err: unknown) => err instanceof ConfigError && err.code === 'SERVER_ERR_CONFIG';

describe('buildServeConfig', () => {
  test('fills in the defaults', () => {
    const c = buildServeConfig({ zoneDir: 'zones' }, '/srv');
    assert.equal(c.zoneDir, '/srv/zones');
    assert.deepEqual(c.listen, [{ host: '127.0.0.1', port: 5300, family: 4 }]);
    assert.equal(c.workers, availableParallelism());
    assert.equal(c.tcpIdleTimeoutMs, 10_000);
    assert.equal(c.nsid, undefined);
    assert.equal(c.ednsSize, undefined);
  });

  test('takes every option', () => {
    const c = buildServeConfig({
      zoneDir: '/z',
      listen: ['127.0.0.1:53', '[::1]:53', '::1'],
      workers: '0',
      nsid: 'ns1',
      ednsSize: '4096',
      tcpIdleTimeout: '2500',
      tcpMaxConnections: '10',
      tcpMaxPerClient: '2',
    });
    assert.deepEqual(
      c.listen.map((a) => [a.host, a.port]),
      [
        ['127.0.0.1', 53],
        ['::1', 53],
        ['::1', 5300],
      ],
    );
    assert.equal(c.workers, 0);
    assert.equal(c.nsid, 'ns1');
    assert.equal(c.ednsSize, 4096);
    assert.equal(c.tcpIdleTimeoutMs, 2500);
    assert.equal(c.tcpMaxConnections, 10);
    assert.equal(c.tcpMaxConnectionsPerClient, 2);
  });

  test('rejects bad values with SERVER_ERR_CONFIG', () => {
    for (const bad of [
      {},
      { zoneDir: 'z', listen: ['localhost:53'] },
      { zoneDir: 'z', workers: '-1' },
      { zoneDir: 'z', workers: 'two' },
      { zoneDir: 'z', workers: '1000' },
      { zoneDir: 'z', ednsSize: '100' },
      { zoneDir: 'z', ednsSize: '70000' },
      { zoneDir: 'z', nsid: '' },
      { zoneDir: 'z', tcpIdleTimeout: '0' },
    ])
      assert.throws(() => buildServeConfig(bad), isConfigError, JSON.stringify(bad));
  });

  test('round-trips through the worker environment encoding', () => {
    const c = buildServeConfig({ zoneDir: '/z', listen: ['[::1]:5353'], nsid: 'x', workers: 2 });
    assert.deepEqual(decodeServeConfig(encodeServeConfig(c)), c);
    assert.throws(() => decodeServeConfig(undefined), isConfigError);
    assert.throws(() => decodeServeConfig('{'), isConfigError);
  });
});
