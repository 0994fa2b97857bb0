import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ClientConfigError,
  DEFAULT_SERVER,
  defaultConfigPath,
  resolveClientConfig,
} from './client-config.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cli-config-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('resolveClientConfig', () => {
  test('flags beat the environment, which beats the config file', () => {
    withDir((dir) => {
      const file = join(dir, 'c.json');
      writeFileSync(file, JSON.stringify({ server: 'http://file:1', apiKey: 'from-file' }));
      const env = { SWITCHBOARD_URL: 'http://env:2', SWITCHBOARD_API_KEY: 'from-env' };
      assert.deepEqual(
        resolveClientConfig({ config: file, server: 'http://flag:3/', apiKey: 'from-flag' }, env),
        {
          server: 'http://flag:3',
          apiKey: 'from-flag',
          configFile: file,
        },
      );
      assert.deepEqual(resolveClientConfig({ config: file }, env), {
        server: 'http://env:2',
        apiKey: 'from-env',
        configFile: file,
      });
      assert.deepEqual(resolveClientConfig({ config: file }, {}), {
        server: 'http://file:1',
        apiKey: 'from-file',
        configFile: file,
      });
      // Each setting on its own: a key from the environment, the server from the file.
      assert.deepEqual(resolveClientConfig({ config: file }, { SWITCHBOARD_API_KEY: 'k' }), {
        server: 'http://file:1',
        apiKey: 'k',
        configFile: file,
      });
    });
  });

  test('the default config file is under XDG_CONFIG_HOME, and a missing one is no error', () => {
    withDir((dir) => {
      assert.equal(defaultConfigPath({ XDG_CONFIG_HOME: dir }), join(dir, 'switchboard', 'config.json'));
      assert.deepEqual(resolveClientConfig({}, { XDG_CONFIG_HOME: dir }), {
        server: DEFAULT_SERVER,
        apiKey: undefined,
        configFile: undefined,
      });
      mkdirSync(join(dir, 'switchboard'));
      writeFileSync(join(dir, 'switchboard', 'config.json'), '{"apiKey": "xdg"}');
      assert.equal(resolveClientConfig({}, { XDG_CONFIG_HOME: dir }).apiKey, 'xdg');
    });
  });

  test('a named config file that is missing, not JSON or badly typed is a config error', () => {
    withDir((dir) => {
      assert.throws(() => resolveClientConfig({ config: join(dir, 'nope.json') }, {}), ClientConfigError);
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, '{not json');
      assert.throws(() => resolveClientConfig({ config: bad }, {}), /not valid JSON/);
      writeFileSync(bad, '{"apiKey": 7}');
      assert.throws(() => resolveClientConfig({ config: bad }, {}), /"apiKey" must be a string/);
      writeFileSync(bad, '[]');
      assert.throws(() => resolveClientConfig({ config: bad }, {}), /JSON object/);
    });
  });

  test('the server must be an http(s) URL', () => {
    withDir((dir) => {
      const env = { XDG_CONFIG_HOME: dir };
      assert.throws(() => resolveClientConfig({ server: 'localhost:8080x' }, env), ClientConfigError);
      assert.throws(() => resolveClientConfig({ server: 'ftp://x' }, env), /http/);
      assert.equal(resolveClientConfig({ server: 'https://h/' }, env).server, 'https://h');
    });
  });

  test('config keys match whatever their letter case; an unknown key is reported', () => {
    withDir((dir) => {
      const file = join(dir, 'c.json');
      writeFileSync(file, JSON.stringify({ Server: 'http://file:1', API_KEY: 'k1' }));
      assert.deepEqual(resolveClientConfig({ config: file }, {}), {
        server: 'http://file:1',
        apiKey: 'k1',
        configFile: file,
      });
      writeFileSync(file, JSON.stringify({ URL: 'http://file:2', 'api-key': 'k2' }));
      assert.equal(resolveClientConfig({ config: file }, {}).apiKey, 'k2');
      writeFileSync(file, JSON.stringify({ server: 'http://file:1', apiky: 'typo' }));
      assert.throws(() => resolveClientConfig({ config: file }, {}), /unknown key "apiky"/);
      writeFileSync(file, JSON.stringify({ constructor: 'x' }));
      assert.throws(() => resolveClientConfig({ config: file }, {}), /unknown key "constructor"/);
    });
  });

  test('a server URL ending in /api/v1 (as the start banner prints it) is accepted', () => {
    withDir((dir) => {
      const env = { XDG_CONFIG_HOME: dir };
      assert.equal(
        resolveClientConfig({ server: 'http://127.0.0.1:8080/api/v1/' }, env).server,
        'http://127.0.0.1:8080',
      );
      assert.equal(resolveClientConfig({ server: 'http://h:1/api/v1' }, env).server, 'http://h:1');
      assert.equal(resolveClientConfig({ server: 'http://h:1/base/api/v1' }, env).server, 'http://h:1/base');
    });
  });
});
