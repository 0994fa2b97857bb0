/**
 * The drill's own cgroup of the highest CPU weight (test/helpers/cpu-quota.ts `CpuWeight`, used
 * by `bench/drill.ts` with `--server-cpu-share`): a process added to it is in it (and a child it
 * forks after follows), its weight is the kernel's highest and it has no quota; `remove` moves the
 * process back to the root cgroup and deletes the cgroup.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CpuWeight, cpuQuotaMissing } from '../helpers/cpu-quota.js';

/** The cgroup path of `pid` for the cpu controller (v1 `N:cpu,cpuacct:/x` or v2 `0::/x`). */
function cpuCgroupOf(pid: number): string {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers === '' || controllers?.split(',').includes('cpu')) return path ?? '';
  }
  return '';
}

test('a process in the drill weight cgroup, its later child too; removed after', {
  skip: cpuQuotaMissing(),
}, async () => {
  const parent = spawn(process.execPath, [
    '-e',
    "process.stdin.once('data', () => { const c = require('node:child_process').spawn('sleep', ['5']); console.log(c.pid); process.stdin.once('data', () => { c.kill(); process.exit(0); }); })",
  ]);
  const w = new CpuWeight(`switchboard-weight-test-${process.pid}`);
  try {
    w.add(parent.pid ?? 0);
    const name = w.dir.slice(w.dir.lastIndexOf('/'));
    assert.equal(cpuCgroupOf(parent.pid ?? 0), name);
    const shares = join(w.dir, 'cpu.shares');
    if (existsSync(shares)) {
      assert.equal(readFileSync(shares, 'utf8').trim(), '262144');
      assert.equal(readFileSync(join(w.dir, 'cpu.cfs_quota_us'), 'utf8').trim(), '-1');
    } else assert.equal(readFileSync(join(w.dir, 'cpu.weight'), 'utf8').trim(), '10000');
    const childPid = await new Promise<number>((resolve) => {
      parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
      parent.stdin.write('fork\n');
    });
    assert.equal(cpuCgroupOf(childPid), name, 'the child forked after follows its parent');
    parent.stdin.write('stop\n');
    await new Promise((r) => parent.once('exit', r));
  } finally {
    parent.kill();
    w.remove([]);
  }
  assert.equal(existsSync(w.dir), false);
});
