/**
 * The primary of `switchboard serve --images on`: reads and compiles the zone folder once, in
 * its compile threads (compile-pool.ts), stores the images in packs, and runs the DNS workers
 * of `start` (start/worker-main.ts), which receive image references over the same
 * snapshot/update protocol and never parse a zone. SIGHUP recompiles the files that changed
 * and sends every worker the changed references at once (a swap is one Catalog assignment in
 * each worker: no worker stops answering, so the one-at-a-time reload is not needed).
 * @module
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discardPackedImage, trimNativeHeap } from '../../image/pack.js';
import { traceOrigin, traceStart } from '../../telemetry/start-trace.js';
import { WorkerPool } from '../../transport/cluster.js';
import { CompilePool, type StagedFull } from '../shared/compile-pool.js';
import { isStartWorkerMessage, type StartWorkerMessage } from '../shared/dns-protocol.js';
import { encodeDnsWorkerConfig, START_CONFIG_ENV, servingSettingsOf } from '../shared/dns-worker-config.js';
import { type ImageChange, ImageShipper } from '../shared/image-shipper.js';
import { collectGarbage, formatLoads, PackWriter } from '../shared/images.js';
import { logKernelSettings } from '../shared/kernel.js';
import { chooseUdpIo, formatUdpIoLine } from '../shared/listeners.js';
import { createLogger, describeError } from '../shared/log.js';
import { startCookieRotation } from '../shared/shield.js';
import { handleStopSignals } from '../shared/stop-signals.js';
import { rereadSecondaries, type ServeConfig } from './config.js';
import { bigZoneFile, IMAGE_CACHE_ENV } from './early-load.js';
import { cacheFileOf, ImageCacheWriter, readImageCache } from './image-cache.js';
import { CompiledZoneDir } from './image-dir.js';
import { type ServeMetrics, startServeMetrics } from './metrics.js';
import type { PrimaryIo } from './primary.js';
import { formatReloadLine, formatStartLine, logZoneReport } from './report.js';
import { firstSecondaryZonesMessage, type ServeSecondaries, startServeSecondaries } from './secondaries.js';

/** `BIG_FILE` of early-load.ts (tests import it from here). */
export { BIG_FILE } from './early-load.js';

/** An image at least this big is collected before the workers map it (see below). */
const BIG_IMAGE = 32 * 1024 * 1024;
/** The first load's settled changes are published in slices of at least this many zones. */
const PUBLISH_EVERY = 5000;

/** Runs the workers until SIGTERM or SIGINT; resolves with the exit code (as `runPrimary`). */
export async function runImagePrimary(config: ServeConfig, io?: Partial<PrimaryIo>): Promise<number> {
  traceOrigin('primary');
  traceStart('primary', 'runImagePrimary');
  const log = io?.log ?? createLogger('primary');
  const print = io?.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  // Signals are caught from the first line (a signal that comes before would take its default
  // action: kill serve, and leave the packs behind). They stay until the final handlers are on
  // (removing the last listener restores the default action).
  let earlyStop: string | undefined;
  let onEarlyStop: (() => void) | undefined;
  let hupWhileCompiling = false;
  const early = (signal: string) => {
    if (earlyStop) return;
    earlyStop = signal;
    log.info(`${signal} while compiling: stopping`);
    onEarlyStop?.();
  };
  const earlyTerm = () => early('SIGTERM');
  const earlyInt = () => early('SIGINT');
  // SIGHUP: remembered, the reload runs once every worker serves.
  const earlyHup = () => {
    hupWhileCompiling = true;
  };
  const dropEarly = () => {
    process.off('SIGTERM', earlyTerm);
    process.off('SIGINT', earlyInt);
    process.off('SIGHUP', earlyHup);
  };
  process.on('SIGTERM', earlyTerm);
  process.on('SIGINT', earlyInt);
  process.on('SIGHUP', earlyHup);
  const count = config.workers;
  let udp: ReturnType<typeof chooseUdpIo>;
  try {
    udp = chooseUdpIo(config.io ?? 'auto', config.listen, true, true);
  } catch (err) {
    log.error(describeError(err));
    dropEarly();
    return 1;
  }
  log.info(formatUdpIoLine(udp));
  logKernelSettings(log, config.udpRecvBufferSize);
  config.udpIo = udp.io;
  // `--metrics ADDR:PORT`: the workers' reports served on a listener of its own.
  let served: ServeMetrics | undefined;
  try {
    served = await startServeMetrics(config, log);
  } catch (err) {
    log.error(describeError(err));
    dropEarly();
    return 1;
  }

  const writer = new PackWriter();
  const packDir = writer.dir;
  const compiler = new CompilePool();
  let pool: WorkerPool | undefined;
  const shipper = new ImageShipper(writer, {
    broadcast: (msg) => {
      for (const slot of shipper.slots()) if (!pool?.send(slot, msg)) shipper.gone(slot);
    },
    // The workers' snapshot: one file in the pack folder, read by each worker in one call.
    snapshotFileZones: 1,
    log,
  });
  // The images go into the packs as their batches come back, while the threads compile on.
  const dir = new CompiledZoneDir(config.zoneDir, compiler, writer);
  // `--secondary`: the last good copies of the zones followed from primaries, a folder of their
  // own compiled as the zone folder is (serve/secondaries.ts).
  const secDir =
    config.secondaryDir !== undefined
      ? new CompiledZoneDir(config.secondaryDir, compiler, writer)
      : undefined;
  if (config.secondaryDir !== undefined) mkdirSync(config.secondaryDir, { recursive: true });
  let secondaries: ServeSecondaries | undefined;
  const closeImages = async () => {
    shipper.close();
    await compiler.close();
    writer.close();
  };

  const ready = new Set<number>();
  /** The first compile is published: a worker's hello is answered with its snapshot at once. */
  let published = false;
  /** Workers that said hello during the first compile: sent their snapshot once it is published. */
  const helloDuringCompile = new Set<number>();
  let started = false;
  let stopping = false;
  let resolveExit: ((code: number) => void) | undefined;
  let reloads: Promise<void> = Promise.resolve();
  /** SIGHUP after the compile, before every worker serves (during the compile: hupWhileCompiling). */
  let hupBeforeStart = false;
  let reload: () => void = () => {};
  /** A worker failed before serving: exit code 1 once the compile is stopped. */
  let failedEarly = false;
  /** The first load's bookkeeping and report, done once every worker serves (below). */
  let finishFirst: () => void = () => {};

  /**
   * Every image in the packs was compiled by this process's threads in this run (none taken
   * from the image cache: those were made by another run): the snapshots say so, and the
   * workers open the images without a CRC-32 of their octets (~0.1 s per worker for a
   * 1,000,000-record zone's image). Set once the first load is done.
   */
  let ownImages = false;
  const sendSnapshot = (slot: number) => {
    // The secondary zones' list before the snapshot (the worker binds once it is applied): the
    // secondaries start once every worker serves, and the list they send came after.
    if (secondaries === undefined && config.secondaries?.length)
      pool?.send(slot, firstSecondaryZonesMessage(config.secondaries));
    for (const m of shipper.snapshot(slot)) {
      if (ownImages && m.kind === 'snapshot') m.trusted = true;
      pool?.send(slot, m);
    }
  };

  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // A reload under way stops at once: its compile jobs fail, its wait for acks ends.
    shipper.close();
    await compiler.close();
    await reloads.catch(() => {});
    secondaries?.close();
    cookies?.close();
    await pool?.stop();
    await closeImages();
    await served?.close();
    resolveExit?.(code);
  };

  const onWorkerMessage = (slot: number, msg: StartWorkerMessage) => {
    switch (msg.type) {
      case 'switchboard:hello':
        // The cookie secrets in force (a restarted worker's config holds the first ones).
        if (cookies) pool?.send(slot, cookies.current());
        if (secondaries) pool?.send(slot, secondaries.current());
        if (published) sendSnapshot(slot);
        else helloDuringCompile.add(slot);
        break;
      case 'switchboard:notify-in':
        secondaries?.notified(msg);
        break;
      case 'switchboard:start-ready':
        ready.add(slot);
        traceStart('primary', `worker ${slot} ready`);
        shipper.started(slot);
        if (msg.loads) log.info(`worker ${slot}: ${formatLoads(msg.loads)}`);
        if (started) log.info(`worker ${slot} restarted, serving ${msg.zones} zones`);
        else if (ready.size === count) {
          started = true;
          finishFirst();
          print(formatStartLine(dir.zones(), config.listen, count));
          // The compile's garbage goes now, off the path to the first answer.
          collectGarbage();
          if (hupBeforeStart || hupWhileCompiling) reload();
        }
        break;
      case 'switchboard:applied':
        for (const e of msg.errors) log.error(`worker ${slot}: ${e}`);
        shipper.acked(slot, msg.seq);
        break;
      case 'switchboard:fatal':
        log.error(`worker ${slot} cannot serve: ${msg.message}`);
        if (!started) workerFailedEarly();
        break;
      case 'switchboard:metrics':
        served?.metrics.dns.update(slot, msg.incarnation, msg);
        break;
    }
  };

  // The shield's cookie secret, rotated here and handed to every worker at once (docs/SHIELD.md).
  const cookies = startCookieRotation(
    config.shield,
    (m) => {
      for (const slot of pool?.liveSlots() ?? []) pool?.send(slot, m);
    },
    log,
  );
  // The workers are forked now, while the zones compile: they boot, load their modules and
  // wait for the snapshot, so only reading it (one file) and binding are left after the compile.
  pool = new WorkerPool({
    count,
    exec: fileURLToPath(new URL('../start/worker-main.js', import.meta.url)),
    env: {
      [START_CONFIG_ENV]: encodeDnsWorkerConfig({
        ...servingSettingsOf(config),
        udpIo: udp.io,
        packDir,
      }),
    },
    onMessage: (slot, msg) => {
      if (isStartWorkerMessage(msg)) onWorkerMessage(slot, msg);
    },
    onExit: (slot, code, signal, restartInMs) => {
      ready.delete(slot);
      helloDuringCompile.delete(slot);
      shipper.gone(slot);
      served?.metrics.dns.workerExited(slot);
      if (restartInMs !== null) served?.metrics.countWorkerRestart();
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (restartInMs !== null && !started) {
        log.error(`worker ${slot} exited before serving (${how})`);
        workerFailedEarly();
      } else if (restartInMs !== null)
        log.warn(`worker ${slot} exited (${how}); restarting in ${restartInMs} ms`);
    },
  });

  // A stop signal before the workers run (the cold compile): stop compiling, stop the
  // workers, remove the packs and exit 0, rather than die by the signal's default action and
  // leave them behind.
  let stoppedEarly: Promise<void> | undefined;
  const stopEarly = () => {
    stoppedEarly ??= (async () => {
      await compiler.close();
      cookies?.close();
      await pool?.stop();
      await closeImages();
      await served?.close();
    })();
  };
  onEarlyStop = stopEarly;
  function workerFailedEarly(): void {
    if (published) {
      void stop(1);
      return;
    }
    failedEarly = true;
    stopEarly();
  }
  // The workers are forked at once; with a big zone file in the folder (not with the image
  // cache: a warm start compiles nothing) the first one once the file's load is done and its
  // checks beside the compile too, the others once the images are published (cold18: their
  // start, ~0.2 s of CPU each, is not beside the compile, which is on the path to the first
  // answer; docs/PERFORMANCE.md "cold18"). SWITCHBOARD_FORK_AT=start forks the first at once,
  // =compile when the compile starts; SWITCHBOARD_FORK_REST=together forks them all then
  // (boot1m, cold3: the earlier orders).
  let forked = false;
  // Staged (the default; SWITCHBOARD_STAGED=off turns it off): a big zone (STAGED_RECORDS,
  // compile-thread.ts) is served first from its image without templates, made once its checks
  // pass; its full image, made next by the same thread from the same sort, is swapped in as a
  // reload's would be (docs/IMAGE.md "Answer first, templates after"). Not with the image cache
  // (its big images come back as octets, not into the packs).
  const staged = process.env.SWITCHBOARD_STAGED !== 'off' && !process.env[IMAGE_CACHE_ENV];
  /**
   * With a big zone file: one worker forked (when the checks are done, below), the others
   * once the images are published — their start (~0.2 s of CPU each) is not beside the
   * compile, which is on the path to the first answer (cold18). SWITCHBOARD_FORK_REST=together:
   * all at once, as before.
   */
  let restLater = false;
  const fork = () => {
    if (forked || earlyStop !== undefined || stoppedEarly !== undefined) return;
    forked = true;
    pool?.start(restLater ? 1 : undefined);
    traceStart('primary', restLater ? 'first worker forked' : 'workers forked');
  };
  const forkRest = () => {
    if (earlyStop !== undefined || stoppedEarly !== undefined) return;
    if (pool?.startRest()) traceStart('primary', 'other workers forked');
  };
  if (earlyStop) stopEarly();
  else if (!process.env[IMAGE_CACHE_ENV] && bigZoneFile(config.zoneDir).big) {
    // Staged (below), the first answer waits for the first worker's start rather than the
    // compile (the image without templates is ready ~0.6 s sooner): it is forked at once.
    const forkAt = process.env.SWITCHBOARD_FORK_AT ?? (staged ? 'start' : undefined);
    restLater = process.env.SWITCHBOARD_FORK_REST !== 'together';
    if (forkAt === 'start') fork();
    else
      compiler.onStage = (stage, checksDone) => {
        if (stage !== 'compiling') return;
        // While the zone's checks run beside the compile, a worker's start would make three
        // threads want two cores, the compile among them: the first worker is forked once the
        // checks are done (their thread sets the word), with the compile still ahead of it.
        if (checksDone === undefined || forkAt === 'compile') fork();
        else forkWhenSet(checksDone, fork);
      };
    compiler.prestart(1);
  } else fork();
  traceStart('primary', 'load starts');
  const compiling = performance.now();
  // SWITCHBOARD_IMAGE_CACHE=DIR: the images of the last start, taken for the files that did
  // not change (image-cache.ts); this start's images are cached for the next one.
  const cacheDir = process.env[IMAGE_CACHE_ENV];
  const caching = Boolean(cacheDir) && !stoppedEarly;
  if (caching) {
    compiler.prestart(); // the threads load their modules while the cache is read
    useImageCache(dir, cacheFileOf(resolve(cacheDir as string), config.zoneDir), log);
  }
  const cacheWriter = () => dir.cacheWriter;
  // Staged: the full image's swap waits for the first publish and runs between reloads.
  if (staged)
    compiler.onFull = (full) => {
      reloads = reloads.then(() => firstPublished).then(() => swapInFull(full));
    };
  let markPublished: () => void = () => {};
  const firstPublished = new Promise<void>((res) => {
    markPublished = res;
  });
  /** The first load's generation: a staged zone's full image replaces only its image of it. */
  let firstVersion = -1;
  const swapInFull = async (full: StagedFull) => {
    const name = full.origin.toLowerCase();
    if (stopping) return;
    if (full.packed === undefined) {
      log.warn(`zone ${full.origin}: its full image was not made (${full.error}): served without templates`);
      return;
    }
    const have = shipper.get(name);
    // A reload changed or removed the zone since: that image stands, this one goes.
    if (have === undefined || have.version !== firstVersion) {
      try {
        discardPackedImage(full.dir, full.packed);
      } catch {
        // left for the folder's writer, which removes it
      }
      return;
    }
    // The thread's heap (the columns, ~100 MiB for 1,000,000 records) goes before the workers
    // map the full image, as after a one-stage cold compile: the peaks do not add up.
    await compiler.shrink();
    trimNativeHeap();
    if (stopping) return;
    let seq: number;
    try {
      const ref = writer.adopt(full.packed);
      // Made by this run's thread (as the first snapshot's images): opened without a CRC-32.
      seq = shipper.publish([{ name, version: dir.takeVersion(), serial: have.serial, ref, trusted: true }]);
    } catch (err) {
      log.warn(
        `zone ${full.origin}: its full image not stored (${describeError(err)}): served without templates`,
      );
      return;
    }
    traceStart('primary', 'full image published');
    await shipper.applied(seq);
    traceStart('primary', 'full image applied');
    log.info(
      `zone ${full.origin}: its full image served (templates made in ${full.cpuMs ?? 0} ms of the compile thread's CPU)`,
    );
  };
  let first: Awaited<ReturnType<CompiledZoneDir['load']>>;
  // The first load's changes are published as they are settled, while the threads compile
  // (nothing is sent: the workers get the whole set as their snapshot once it is done), so
  // only the last ones are left after the compile. A failed load ends serve (below).
  let publishedUpTo = 0;
  const publishSettled = (changes: readonly ImageChange[]) => {
    if (changes.length - publishedUpTo < PUBLISH_EVERY) return;
    try {
      shipper.publish(changes.slice(publishedUpTo), false);
      publishedUpTo = changes.length;
    } catch {
      // published with the rest after the load, where a failure is reported
    }
  };
  try {
    first = await dir.load({ settled: publishSettled, staged: compiler.onFull !== undefined });
    firstVersion = first.changes[0]?.version ?? -1;
    traceStart('primary', 'load done');
    fork();
  } catch (err) {
    cacheWriter()?.abort();
    // The images cannot be stored (a full disk): nothing to serve.
    if (!stoppedEarly) log.error(describeError(err));
    dropEarly();
    const code = stoppedEarly && !failedEarly ? 0 : 1;
    stopEarly();
    await stoppedEarly;
    return code;
  }
  if (stoppedEarly || first.report.dirError) cacheWriter()?.abort();
  if (stoppedEarly) {
    dropEarly();
    await stoppedEarly;
    return failedEarly ? 1 : 0;
  }
  if (first.report.dirError) {
    log.error(`--zone-dir ${config.zoneDir}: ${first.report.dirError}`);
    dropEarly();
    stopEarly();
    await stoppedEarly;
    return 1;
  }
  try {
    shipper.publish(first.changes.slice(publishedUpTo), false);
    if (secDir !== undefined) {
      const secFirst = await secDir.load();
      if (secFirst.report.dirError)
        throw new Error(`--secondary-dir ${config.secondaryDir}: ${secFirst.report.dirError}`);
      shipper.publish(secFirst.changes, false);
      secFirst.commit();
    }
  } catch (err) {
    cacheWriter()?.abort();
    log.error(describeError(err));
    dropEarly();
    stopEarly();
    await stoppedEarly;
    return 1;
  }
  let largest = 0;
  for (const c of first.changes) largest = Math.max(largest, c.ref?.length ?? c.image?.length ?? 0);
  first.changes.length = 0; // the compiled images are in the packs now: let their buffers go
  // The threads' heaps go before the workers load the images (a SIGHUP starts them again).
  const shrunk = compiler.shrink();
  // A big zone: its compile thread's heap (the columns, ~100 MiB for 1,000,000 records) is
  // freed once the thread has exited, and the image it transferred (~140 MiB), written into a
  // pack, by a collection. Both are waited for (tens of milliseconds: the primary's heap is
  // small with few zones) before the workers map the pack, so the primary's peak and the
  // workers' do not add up (docs/IMAGE.md "Big zones"). With many small zones the collection
  // waits until every worker serves, as before (their heap is big; a collection costs more).
  if (largest >= BIG_IMAGE) {
    await shrunk;
    // A stop signal while waiting: as one during the compile.
    if (stoppedEarly) {
      cacheWriter()?.abort();
      dropEarly();
      await stoppedEarly;
      return failedEarly ? 1 : 0;
    }
    collectGarbage();
    // The exited thread's malloc arena still holds what it freed (its columns and scratch,
    // ~110 MiB for 1,000,000 records): given back before the workers map the image.
    trimNativeHeap();
    // An image taken from the image cache was read from its mapping (the whole file's SHA-1
    // touched every page): the collection let the mapping go, but the addon's unmap runs as a
    // finalizer, on a later turn of the loop. Waited for, so the primary does not hold the
    // cache's pages (~140 MiB of a 1,000,000-record zone) while the workers map the pack
    // (bigzone4: a warm start's peak).
    if (dir.fromCache > 0) await new Promise((res) => setImmediate(res));
    if (stoppedEarly) {
      cacheWriter()?.abort();
      dropEarly();
      await stoppedEarly;
      return failedEarly ? 1 : 0;
    }
  }
  ownImages = dir.fromCache === 0;
  published = true;
  markPublished();
  traceStart('primary', 'images published');
  // The workers waiting get their snapshot first: the rest is off the path to the first answer.
  for (const slot of helloDuringCompile) sendSnapshot(slot);
  helloDuringCompile.clear();
  traceStart('primary', 'snapshots sent');
  if (restLater) forkRest();
  const compiledMs = Math.round(performance.now() - compiling);
  const loaded = first;
  // What the load remembers (a Map entry per file: ~10 % of this loop's work over a cold
  // start of 100,000 zones), its report and the image cache file are done once every worker
  // serves, not while the workers apply their snapshot on the same cores; before the start
  // line (which lists the served zones) and before any reload (which compares with them).
  finishFirst = () => {
    loaded.commit();
    logZoneReport(log, loaded.report, 'load');
    if (caching) {
      const why = cacheWriter()?.commit();
      if (why) log.warn(`image cache not written: ${why}`);
      log.info(
        `image cache: ${dir.fromCache} zone images taken from it${cacheWriter() ? ', the cache rewritten' : ''}`,
      );
    }
    log.info(`compiled ${shipper.size} zone images in ${compiledMs} ms (${compiler.size} compile threads)`);
    if (shipper.size === 0 && !config.secondaries)
      log.warn('no zone loaded: every query is answered REFUSED');
    if (secDir !== undefined && config.secondaries && config.secondaryDir !== undefined) {
      const sd = secDir;
      secondaries = startServeSecondaries({
        zones: config.secondaries,
        dir: config.secondaryDir,
        served: (name) => sd.zones().find((z) => z.origin.toLowerCase() === name)?.serial,
        // One at a time with SIGHUP's reloads: the shipper's publishes are ordered.
        reload: () => {
          const run = reloads.then(async () => {
            if (stopping) return;
            const next = await sd.load();
            if (next.report.dirError) throw new Error(next.report.dirError);
            if (next.report.files.some((f) => f.status !== 'loaded'))
              logZoneReport(log, next.report, 'reload');
            const seq = shipper.publish(next.changes);
            next.commit();
            await shipper.applied(seq);
          });
          reloads = run.catch(() => {});
          return run;
        },
        broadcast: (m) => {
          for (const slot of pool?.liveSlots() ?? []) pool?.send(slot, m);
        },
        log,
      });
    }
  };

  return new Promise<number>((resolve) => {
    resolveExit = resolve;
    // SIGHUP: reloads run one after another; each recompiles what changed and waits until
    // every worker applied it before the reload line is logged.
    let queued = false;
    reload = () => {
      if (queued) return;
      queued = true;
      reloads = reloads.then(async () => {
        queued = false;
        if (stopping) return;
        log.info(`SIGHUP: reloading zones for ${shipper.slots().length} workers`);
        try {
          const next = await dir.load();
          if (stopping) return; // its compile was cut short: nothing to report or publish
          logZoneReport(log, next.report, 'reload');
          if (next.report.dirError) {
            log.error(formatReloadLine(next.report, dir.zones()));
            return;
          }
          const workers = shipper.slots().length;
          // Throws (reload failed, nothing remembered: the next SIGHUP compiles again) when
          // the images cannot be stored.
          const seq = shipper.publish(next.changes);
          next.commit();
          const many = next.changes.length >= 1000;
          next.changes.length = 0;
          if (many) collectGarbage();
          await shipper.applied(seq);
          log.info(`${formatReloadLine(next.report, dir.zones())} (${workers} workers reloaded)`);
        } catch (err) {
          log.error(`reload failed: ${describeError(err)}`);
        }
      });
    };

    const onHup = () => {
      if (stopping) return;
      // `--secondaries-file` read again: a file with an error keeps the running set.
      if (secondaries !== undefined && config.secondariesFile !== undefined)
        try {
          secondaries.update(rereadSecondaries(config));
        } catch (err) {
          log.error(`SIGHUP: ${describeError(err)}; the secondary zones followed stay as they were`);
        }
      if (started) reload();
      else hupBeforeStart = true;
    };
    process.on('SIGHUP', onHup);
    handleStopSignals(log, () => stopping, stop);
    dropEarly();
  });
}

/**
 * The next load of `dir` takes its images from the cache at `path` (when it is usable) and
 * writes a new one. A function of its own: the cache read (its entries, views of the mapped
 * file) must not stay in a register of the suspended async serve function, which kept the
 * cache's pages (~140 MiB of a 1,000,000-record zone) in the primary while the workers
 * mapped the packs (bigzone4: a warm start's peak).
 */
function useImageCache(dir: CompiledZoneDir, path: string, log: ReturnType<typeof createLogger>): void {
  const read = readImageCache(path);
  if ('why' in read) log.info(`image cache ${path}: not used (${read.why})`);
  dir.useCache('entries' in read ? read.entries : undefined, () => {
    try {
      return new ImageCacheWriter(path);
    } catch (err) {
      log.warn(`image cache ${path}: cannot be written: ${describeError(err)}`);
      throw err;
    }
  });
}

/**
 * Calls `then` once the shared word (an Int32 at offset 0 of `word`) is non-zero, without
 * blocking this thread (`Atomics.waitAsync`); at once if it is set already.
 */
function forkWhenSet(word: SharedArrayBuffer, then: () => void): void {
  const w = new Int32Array(word, 0, 1);
  // es2024's Atomics.waitAsync (V8 has it since Node 16), not in this project's lib yet.
  const atomics = Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string };
  };
  const waited = atomics.waitAsync(w, 0, 0);
  if (waited.async) void (waited.value as Promise<string>).then(then);
  else then();
}
