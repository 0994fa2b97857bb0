/**
 * Memory of process trees from /proc/PID/smaps_rollup: PSS (proportional set size: a page
 * shared by N processes counts 1/N in each) summed over every process of a server, so memory
 * that workers share shows as shared, and RSS beside it. A sampler keeps the peak while a
 * server loads.
 * @module
 */
import { readFileSync } from 'node:fs';
import { listDescendants } from '../test/helpers/peers.js';

/** The figures we use from one smaps_rollup, in bytes. */
export interface Rollup {
  pss: number;
  rss: number;
}

/** Parses the text of /proc/PID/smaps_rollup (fields in kB); undefined without Pss and Rss. */
export function parseSmapsRollup(text: string): Rollup | undefined {
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const pss = field('Pss');
  const rss = field('Rss');
  return pss === undefined || rss === undefined ? undefined : { pss, rss };
}

/** One process's rollup, or undefined when it is gone (or unreadable). */
export function readRollup(pid: number): Rollup | undefined {
  try {
    return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** PSS and RSS summed over `pids` (processes that are gone count 0), and how many were read. */
export function sumRollups(pids: readonly number[]): Rollup & { processes: number } {
  let pss = 0;
  let rss = 0;
  let processes = 0;
  for (const p of pids) {
    const r = readRollup(p);
    if (!r) continue;
    pss += r.pss;
    rss += r.rss;
    processes++;
  }
  return { pss, rss, processes };
}

/** Peak figures a {@link TreeMemorySampler} saw. */
export interface MemoryPeak {
  /** Largest summed PSS of one sample. */
  pss: number;
  /** Largest summed RSS of one sample. */
  rss: number;
  /** Most processes seen in one sample. */
  processes: number;
  samples: number;
}

/**
 * Samples the summed PSS/RSS of every descendant of `root` (default: this process, so a
 * server is covered from its first moment, before its PID is known; run one server at a time)
 * every `intervalMs`, keeping the peak. `exclude` leaves processes out (e.g. a load generator).
 */
export class TreeMemorySampler {
  readonly #root: number;
  readonly #exclude: (pid: number) => boolean;
  #timer: NodeJS.Timeout | undefined;
  #peak: MemoryPeak = { pss: 0, rss: 0, processes: 0, samples: 0 };

  constructor(intervalMs = 250, root = process.pid, exclude: (pid: number) => boolean = () => false) {
    this.#root = root;
    this.#exclude = exclude;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  /** Takes one sample now (also done at every interval); returns it. */
  sample(): Rollup & { processes: number } {
    const s = sumRollups(listDescendants(this.#root).filter((p) => !this.#exclude(p)));
    const p = this.#peak;
    this.#peak = {
      pss: Math.max(p.pss, s.pss),
      rss: Math.max(p.rss, s.rss),
      processes: Math.max(p.processes, s.processes),
      samples: p.samples + 1,
    };
    return s;
  }

  get peak(): MemoryPeak {
    return this.#peak;
  }

  /** Stops sampling (after one last sample) and returns the peak. */
  stop(): MemoryPeak {
    if (this.#timer) {
      this.sample();
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    return this.#peak;
  }
}
