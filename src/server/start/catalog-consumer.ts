/**
 * `start`'s driver of the Consumer zones (docs/TRANSFERS.md "Catalog zones (consumer)"): each
 * Consumer zone is transferred by the secondary refresher like a Slave zone; each new version of
 * it heard on the change feed (any replica's), and each Consumer zone once at start, is handed
 * to `syncConsumer` (control/catalog-consumer.ts), which creates, deletes and re-creates its
 * member zones. One sync at a time; changes heard meanwhile are gathered and synced after.
 * @module
 */
import type { ControlPlane } from '../../control/types.js';
import { describeError, type Logger } from '../shared/log.js';

/** Changes gathered this long before a sync. */
const BATCH_MS = 100;
/** After a failed sync: again this much later. */
const RETRY_MS = 5_000;

export interface CatalogConsumerDriver {
  /** Resolves once the first syncs are done (or failed, logged). */
  readonly ready: Promise<void>;
  close(): void;
}

export function startCatalogConsumers(control: ControlPlane, log: Logger): CatalogConsumerDriver {
  const list = control.consumerZones?.bind(control);
  const sync = control.syncConsumer?.bind(control);
  if (!list || !sync) return { ready: Promise.resolve(), close() {} };
  let consumers = new Set<string>();
  let pending = new Set<string>();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const schedule = (ms = BATCH_MS): void => {
    if (closed || timer !== undefined) return;
    timer = setTimeout(flush, ms);
    timer.unref();
  };

  const flush = (): void => {
    timer = undefined;
    running = running.then(async () => {
      const names = [...pending];
      pending = new Set();
      for (const name of names) {
        if (closed) return;
        try {
          const r = await sync(name);
          if (r === null) continue;
          if (r.error !== undefined) log.error(`catalog consumer ${name}: ${r.error}`);
          else if (r.added + r.removed + r.reset + r.moved + r.refusedTotal > 0)
            log.info(
              `catalog consumer ${name}: serial ${r.serial}, ${r.members} members (${r.added} added, ${r.removed} removed, ${r.reset} re-created, ${r.moved} moved by coo), ${r.refusedTotal} refused`,
            );
          for (const x of r.refused.slice(0, 5))
            log.info(`catalog consumer ${name}: ${x.zone} refused: ${x.reason}`);
        } catch (err) {
          if (closed) return;
          log.error(
            `catalog consumer ${name}: members not brought in step (again in ${RETRY_MS / 1000} s): ${describeError(err)}`,
          );
          pending.add(name);
          schedule(RETRY_MS);
        }
      }
    });
  };

  const relist = async (): Promise<void> => {
    const now = new Set(await list());
    // A Consumer zone new here: its members are looked at once.
    for (const n of now) if (!consumers.has(n)) pending.add(n);
    consumers = now;
    if (pending.size > 0) schedule();
  };
  const relistLogged = (): void => {
    if (!closed) void relist().catch((err) => log.error(`catalog consumers: ${describeError(err)}`));
  };

  const offZones = control.onZoneChange((ev) => {
    if (!consumers.has(ev.zone)) return;
    if (ev.deleted) consumers.delete(ev.zone);
    else {
      pending.add(ev.zone);
      schedule();
    }
  });
  const offSettings = control.onShieldChange(relistLogged);
  const ready = relist().then(
    () => running,
    (err) => log.error(`catalog consumers: ${describeError(err)}`),
  );
  return {
    ready,
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      offZones();
      offSettings();
    },
  };
}
