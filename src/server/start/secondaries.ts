/**
 * `start`'s secondary zones (docs/TRANSFERS.md "Secondary role"): the refresher (SOA timers,
 * transfers in) in the primary process, the list of secondary zones (masters, keys) and of
 * expired ones sent to every DNS worker (`switchboard:secondary-zones`), the NOTIFYs the
 * workers accepted (`switchboard:notify-in`) handed to the refresher, and the metrics.
 * @module
 */
import { Counter, Gauge } from 'prom-client';
import type { ControlPlane } from '../../control/types.js';
import type { PrimaryMetrics } from '../../telemetry/primary-metrics.js';
import type { NotifyInMessage, SecondaryZonesMessage } from '../../xfr/secondary/notify-in.js';
import type { Logger } from '../shared/log.js';
import { SecondaryRefresher, testLowerBounds } from '../shared/secondary-refresher.js';
import type { StartConfig } from './config.js';

export interface Secondaries {
  /** The message every worker holds now (sent to a worker that says hello). */
  current(): SecondaryZonesMessage;
  /** The first read of the list (done or failed, then logged): `current()` holds it after. */
  readonly first: Promise<void>;
  /** A NOTIFY a worker accepted. */
  notified(m: NotifyInMessage): void;
  readonly refresher: SecondaryRefresher;
  close(): void;
}

export function startSecondaries(
  control: ControlPlane,
  config: Pick<StartConfig, 'outbound'>,
  log: Logger,
  metrics: PrimaryMetrics,
  broadcast: (m: SecondaryZonesMessage) => void,
): Secondaries {
  let message: SecondaryZonesMessage = { type: 'switchboard:secondary-zones', zones: [], expired: [] };
  let keys = new Map<string, { name: string; algorithm: string; secret: string } | null>();
  const publish = (): void => {
    const r = refresher;
    message = {
      type: 'switchboard:secondary-zones',
      zones: r
        .notifySettings()
        .map((z) => ({ zone: z.zone, masters: z.masters, key: keys.get(z.zone) ?? null })),
      expired: r.expired(),
    };
    broadcast(message);
  };
  const refresher: SecondaryRefresher = new SecondaryRefresher({
    control,
    policy: config.outbound,
    log,
    onExpiredChange: () => publish(),
    lowerBounds: testLowerBounds(process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS),
  });
  // The workers' list follows the control plane's (keys' secrets as the NOTIFY check needs them).
  const reread = async (): Promise<void> => {
    await refresher.reload();
    const list = await control.secondaryZones();
    keys = new Map(list.map((z) => [z.name, z.key]));
    publish();
  };
  let closed = false;
  const guard = (): void => {
    if (!closed) void reread().catch((err) => log.error(`secondary zones: ${(err as Error).message}`));
  };
  const offSettings = control.onShieldChange(guard);
  const offZones = control.onZoneChange((ev) => {
    if (ev.deleted) guard();
  });
  const first = refresher.start().then(
    () =>
      closed ? undefined : reread().catch((err) => log.error(`secondary zones: ${(err as Error).message}`)),
    (err) => log.error(`secondary zones: ${(err as Error).message}`),
  );

  const registers = [metrics.registry];
  const transfers = new Counter({
    name: 'switchboard_secondary_transfers_total',
    help: 'Refreshes of secondary zones by outcome: transferred (AXFR in), current (SOA checked, no transfer), failed (every master failed).',
    labelNames: ['outcome'],
    registers,
    collect() {
      const s = refresher.stats;
      this.reset();
      this.inc({ outcome: 'transferred' }, s.transfersOk);
      this.inc({ outcome: 'current' }, s.checksOk);
      this.inc({ outcome: 'failed' }, s.transfersFailed);
    },
  });
  void transfers;
  new Gauge({
    name: 'switchboard_secondary_zones_expired',
    help: 'Secondary zones expired now (no successful refresh within their SOA expire): answered SERVFAIL.',
    registers,
    collect() {
      this.set(refresher.stats.zonesExpired);
    },
  });
  new Gauge({
    name: 'switchboard_secondary_transfers_active',
    help: 'Secondary zone refreshes running now.',
    registers,
    collect() {
      this.set(refresher.stats.active);
    },
  });

  return {
    current: () => message,
    first,
    notified(m) {
      refresher.notify(m.zone, m.address, m.serial);
    },
    refresher,
    close() {
      closed = true;
      offSettings();
      offZones();
      refresher.close();
    },
  };
}
