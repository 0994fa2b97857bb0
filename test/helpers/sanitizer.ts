/**
 * The standalone C harnesses of native/fuzz, built with -fsanitize=address,undefined and fed
 * hostile input in `npm test` (docs/NATIVE.md): one way to build them, to run them, and to pack
 * their input records.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { findCommand } from './peers.js';

/** The C compiler the harnesses are built with, if any. */
export const harnessCompiler = findCommand('gcc') ?? findCommand('cc') ?? findCommand('clang');

/** The sanitizers' settings for a harness run: leaks reported, no abort (the exit status tells). */
export const SANITIZER_ENV = {
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0',
  UBSAN_OPTIONS: 'print_stacktrace=1',
};

/**
 * Builds `out` from `sources` (paths under native/) with ASan and UBSan, no recovery. Returns
 * why it cannot be built (no compiler, or the compiler's first error line), or false.
 */
export function buildHarness(
  what: string,
  out: string,
  sources: readonly string[],
  opts: { warnings?: boolean; libs?: readonly string[] } = {},
): false | string {
  if (!harnessCompiler) return `no C compiler (gcc, cc or clang) to build the ${what} (apt-get install gcc)`;
  const r = spawnSync(
    harnessCompiler,
    [
      '-std=gnu11',
      '-g',
      '-O1',
      ...(opts.warnings ? ['-Wall', '-Wextra'] : []),
      '-fsanitize=address,undefined',
      '-fno-sanitize-recover=all',
      '-fno-omit-frame-pointer',
      ...sources.map((f) => resolve('native', f)),
      '-o',
      out,
      ...(opts.libs ?? []),
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0)
    return `${harnessCompiler} cannot build the ${what} with -fsanitize=address,undefined: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`;
  return false;
}

/** Records as the harnesses read them: [u32 BE length][octets]... */
export function packRecords(records: readonly Uint8Array[]): Buffer {
  const size = records.reduce((n, p) => n + 4 + p.length, 0);
  const out = Buffer.alloc(size);
  let at = 0;
  for (const p of records) {
    out.writeUInt32BE(p.length, at);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}
