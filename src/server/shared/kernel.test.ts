import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kernelReport, readKernelSettings } from './kernel.js';

test('kernel settings: one info line, a warning for each setting that works against us', () => {
  const good = kernelReport(
    { tcpSyncookies: 1, somaxconn: 4096, tcpMaxSynBacklog: 2048, rmemMax: 8 << 20 },
    8 << 20,
  );
  assert.equal(
    good.info,
    'kernel: tcp_syncookies=1 somaxconn=4096 tcp_max_syn_backlog=2048 rmem_max=8388608',
  );
  assert.deepEqual(good.warnings, []);
  const bad = kernelReport({ tcpSyncookies: 0, somaxconn: 128, rmemMax: 212992 }, 8 << 20);
  assert.equal(bad.warnings.length, 3);
  assert.match(bad.warnings[0], /tcp_syncookies=0/);
  assert.match(bad.warnings[1], /somaxconn=128/);
  assert.match(bad.warnings[2], /rmem_max=212992 caps the UDP receive buffer/);
  assert.match(kernelReport({}, 1).info, /tcp_syncookies=unknown/);
  // On this machine (Linux) the values are read.
  if (process.platform === 'linux') assert.equal(typeof readKernelSettings().somaxconn, 'number');
});
