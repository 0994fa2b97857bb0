/**
 * The edge's compile service (docs/EDGE.md "What it runs"): `CompilePool` (the compile threads of
 * `serve` and `start`), except that a call of a few small zones (at most `INLINE_COMPILE_JOBS`
 * text jobs, `INLINE_COMPILE_CHARS` of text in all) while the threads are idle is compiled at
 * once on the calling thread — the edge's primary process, which answers no queries (its DNS
 * workers do). A one-record change to a small zone is the common case on an edge; through the
 * pool it waited for a thread, and an idle thread exits after 5 s, so nearly every change
 * started one (tens of ms on a quiet machine, seconds on a loaded one: the tail of the fleet's
 * change-to-answer, docs/PERFORMANCE.md "fleet10"). While the threads work (a catalog sync of
 * many zones, a big zone) every call goes to them, so a sync keeps its compile off this thread.
 * @module
 */
import { type CompileJob, type CompileOutcome, CompilePool } from '../shared/compile-pool.js';
import { runCompile } from '../shared/compile-thread.js';

/** At most this much zone text in one call is compiled on the calling thread (~1,000 records). */
export const INLINE_COMPILE_CHARS = 64 * 1024;
/** At most this many zones in one call are compiled on the calling thread. */
export const INLINE_COMPILE_JOBS = 8;
/** The threads count as working this long after a call went to them (the pool's idle exit is 5 s). */
const THREADS_WARM_MS = 4000;

/** True when `jobs` are few and small enough for the calling thread: all text. */
export function compilesInline(jobs: readonly CompileJob[]): boolean {
  if (jobs.length === 0 || jobs.length > INLINE_COMPILE_JOBS) return false;
  let chars = 0;
  for (const j of jobs) {
    if (j.kind !== 'text') return false;
    chars += j.text.length;
    if (chars > INLINE_COMPILE_CHARS) return false;
  }
  return true;
}

export class EdgeCompilePool extends CompilePool {
  /** Calls compiled on the calling thread (tests, logs). */
  inline = 0;
  /** When a call last went to the threads (performance.now()). */
  #threadsAt = Number.NEGATIVE_INFINITY;

  override async compileMany(jobs: readonly CompileJob[]): Promise<CompileOutcome[]> {
    const now = performance.now();
    if (now - this.#threadsAt < THREADS_WARM_MS || !compilesInline(jobs)) {
      this.#threadsAt = now;
      return super.compileMany(jobs);
    }
    this.inline++;
    return jobs.map((j) => runCompile(j));
  }
}
