/**
 * Samples the target's CPU and memory in a worker thread. Reading /proc/PID/smaps_rollup walks
 * the process's page tables and took 140-400 ms per Node process on a busy machine here
 * (2026-12-04): read in the drill's main thread every 500 ms it stalled the resolvers' timers
 * by as much (late retries, latencies counted against the server). The thread samples every
 * `intervalMs` (default 1 s: the read holds the target's mmap lock while it walks, so reading
 * more often would slow the target down) and posts each sample; the main thread keeps the
 * latest and the peaks.
 * @module
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { sampleTarget, type TargetSample } from './proc.js';

/** The latest sample of the target, and the peaks since the last reset. */
export class TargetSampler {
  private readonly worker: Worker;
  latest: TargetSample | undefined;
  rssPeak = 0;
  pssPeak = 0;
  private waiters: Array<(s: TargetSample) => void> = [];

  constructor(pid: number, intervalMs = 1000) {
    this.worker = new Worker(new URL(import.meta.url), { workerData: { pid, intervalMs } });
    this.worker.unref();
    this.worker.on('message', (s: TargetSample) => {
      this.latest = s;
      this.rssPeak = Math.max(this.rssPeak, s.rssBytes);
      this.pssPeak = Math.max(this.pssPeak, s.pssBytes);
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f(s);
    });
    this.worker.on('error', () => {});
  }

  /** The next sample (a fresh reading), or the latest after `timeoutMs`. */
  next(timeoutMs = 1500): Promise<TargetSample | undefined> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(this.latest), timeoutMs);
      this.waiters.push((s) => {
        clearTimeout(t);
        resolve(s);
      });
    });
  }

  /** Starts new peaks from the latest sample. */
  resetPeaks(): void {
    this.rssPeak = this.latest?.rssBytes ?? 0;
    this.pssPeak = this.latest?.pssBytes ?? 0;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

if (!isMainThread && parentPort && workerData?.pid) {
  const { pid, intervalMs } = workerData as { pid: number; intervalMs: number };
  const port = parentPort;
  const loop = () => {
    port.postMessage(sampleTarget(pid));
    setTimeout(loop, intervalMs);
  };
  loop();
}
