import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseListenAddress } from '../../transport/listen-address.js';
import { nativeUdpStatus } from '../../transport/native-udp.js';
import { chooseUdpIo, formatUdpIoLine, IO_ENV, parseUdpIo } from './listeners.js';
import { ConfigError } from './options.js';

describe('--io: the UDP path', () => {
  test('parseUdpIo: the flag, else SWITCHBOARD_IO, else auto; anything else is a ConfigError', () => {
    assert.equal(parseUdpIo(undefined, {}), 'auto');
    assert.equal(parseUdpIo('node', { [IO_ENV]: 'native' }), 'node');
    assert.equal(parseUdpIo(undefined, { [IO_ENV]: 'native' }), 'native');
    assert.throws(
      () => parseUdpIo('fast', {}),
      (e: unknown) => e instanceof ConfigError && /--io must be/.test(e.message),
    );
    assert.throws(
      () => parseUdpIo(undefined, { [IO_ENV]: 'x' }),
      /SWITCHBOARD_IO must be native, node or auto, got 'x'/,
    );
  });

  const fixed = [parseListenAddress('127.0.0.1:5300')];
  const zero = [parseListenAddress('127.0.0.1:0')];
  const status = nativeUdpStatus();

  test('node is node, whatever the addon', () => {
    assert.deepEqual(chooseUdpIo('node', fixed, true), { io: 'node', why: '--io node' });
    assert.equal(formatUdpIoLine({ io: 'node', why: '--io node' }), 'UDP path: node (dgram; --io node)');
  });

  test('auto takes native in one process when the addon passed its self-check, else node with the reason', () => {
    const c = chooseUdpIo('auto', fixed, false);
    if (status.ok) assert.deepEqual(c, { io: 'native', why: 'addon loaded and passed its self-check' });
    else assert.deepEqual(c, { io: 'node', why: `native addon unavailable: ${status.reason}` });
    // Worker processes keep the shared dgram socket under auto (a busy worker's native socket is not read).
    assert.equal(chooseUdpIo('auto', fixed, true).io, 'node');
  });

  test('port 0 with worker processes keeps node under auto and is refused under native', {
    skip: !status.ok,
  }, () => {
    assert.equal(chooseUdpIo('auto', zero, true).io, 'node');
    assert.equal(chooseUdpIo('auto', zero, false).io, 'native'); // one process: port 0 is fine
    assert.throws(() => chooseUdpIo('native', zero, true), /port of 0 cannot be shared/);
    assert.equal(chooseUdpIo('native', fixed, true).io, 'native');
  });
});
