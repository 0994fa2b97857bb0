/**
 * `switchboard serve --secondary NAME=ADDR:PORT[,…][/KEY] --secondary-dir DIR`: zones `serve`
 * follows from primaries (docs/TRANSFERS.md "Secondary zones of serve"). `start`'s refresher
 * (shared/secondary-refresher.ts: SOA timers, NOTIFY, IXFR with AXFR fallback, TSIG, expiry) runs
 * over this keeper instead of a control plane: a transferred zone is checked (parsed whole),
 * written to DIR as `NAME.zone` (a temporary file renamed over the last one: a crash leaves the
 * old copy or the new one), and the folder compiled and shipped to the workers as a SIGHUP
 * reload is. At start the copies in DIR are served, and a copy's time is its last success (for
 * expiry); an IXFR's differences are applied to the copy by start's rule (`patchZoneText`). The DNS workers (start's) check NOTIFY against the primaries and the key and answer
 * an expired zone SERVFAIL, from the `switchboard:secondary-zones` message sent here. On SIGHUP
 * `update` takes the zones of `--secondaries-file` read again: zones added are transferred at
 * once, zones removed are no longer followed nor served (their copies deleted), zones whose
 * primaries or key changed are checked at once against the new ones.
 * @module
 */
import { readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecondaryZone } from '../../control/secondary.js';
import type { ZoneChangeResult } from '../../control/types.js';
import { OutboundPolicy } from '../../xfr/outbound.js';
import type { NotifyInMessage, SecondaryZonesMessage } from '../../xfr/secondary/notify-in.js';
import { parseZoneText } from '../../zone/parser.js';
import type { Logger } from '../shared/log.js';
import {
  masterAddresses,
  patchZoneText,
  type RefresherControl,
  SecondaryRefresher,
  testLowerBounds,
} from '../shared/secondary-refresher.js';
import type { ServeSecondary } from './config.js';

export interface ServeSecondaries {
  /** The workers' list (a worker that says hello gets it). */
  current(): SecondaryZonesMessage;
  /** A NOTIFY a worker accepted. */
  notified(m: NotifyInMessage): void;
  /** The zones followed from now on (SIGHUP: the flags' and the file's read again). */
  update(zones: ServeSecondary[]): void;
  close(): void;
}

/**
 * Starts following `zones`. `served(name)`: the serial served now from DIR (undefined: none);
 * `reload()`: compiles DIR again and ships what changed (one at a time with the other reloads).
 */
/**
 * The workers' list before the secondaries start (`startServeSecondaries` runs once every worker
 * serves): sent with each worker's snapshot, so that a worker accepts its masters' NOTIFYs from
 * its first datagram (before, a NOTIFY in the moments after the start line was refused).
 */
export function firstSecondaryZonesMessage(zones: readonly ServeSecondary[]): SecondaryZonesMessage {
  return {
    type: 'switchboard:secondary-zones',
    zones: zones.map((z) => ({ zone: z.name, masters: masterAddresses(z.primaries), key: z.key ?? null })),
    expired: [],
  };
}

export function startServeSecondaries(opts: {
  zones: ServeSecondary[];
  dir: string;
  served: (name: string) => number | undefined;
  reload: () => Promise<void>;
  broadcast: (m: SecondaryZonesMessage) => void;
  log: Logger;
}): ServeSecondaries {
  const { dir, log } = opts;
  let zones = opts.zones;
  const wire = (list: readonly ServeSecondary[]) => firstSecondaryZonesMessage(list).zones;
  const fileOf = (name: string) => join(dir, `${name}zone`);
  const keeper: RefresherControl = {
    async secondaryZones(): Promise<SecondaryZone[]> {
      return zones.map((z) => {
        let lastSuccess: string | null = null;
        const serial = opts.served(z.name);
        if (serial !== undefined)
          try {
            lastSuccess = statSync(fileOf(z.name)).mtime.toISOString();
          } catch {
            lastSuccess = null;
          }
        return {
          name: z.name,
          id: z.name,
          accountId: z.name,
          serial: serial ?? 0,
          masters: z.primaries,
          key: z.key ?? null,
          lastSuccess,
          maxRecords: Number.MAX_SAFE_INTEGER,
        };
      });
    },
    async transferIn(_id: string, name: string, text: string, comment: string): Promise<ZoneChangeResult> {
      // Removed from the file (SIGHUP) while this transfer ran: not written, not served.
      if (!zones.some((z) => z.name === name)) throw new Error('no longer followed');
      // Checked whole before it replaces the last good copy (a bad zone changes nothing).
      const records = parseZoneText(text, { origin: name });
      const soa = records.find((r) => r.type === 6);
      if (soa === undefined) throw new Error('no SOA');
      const file = fileOf(name);
      const tmp = `${file}.${process.pid}.tmp`;
      let before = '';
      try {
        before = readFileSync(file, 'utf8');
      } catch {
        before = '';
      }
      const changed = before !== text;
      if (changed) {
        writeFileSync(tmp, text);
        renameSync(tmp, file);
        await opts.reload();
      }
      log.info(`secondary zone ${name}: ${comment}`);
      const serial = opts.served(name) ?? 0;
      return { changed, serial, name } as unknown as ZoneChangeResult;
    },
    // An IXFR's differences applied to the copy by start's rule (`patchZoneText`), then kept
    // as a transfer's text is; refused (the refresher then transfers by AXFR) when there is no
    // copy, the copy is over IXFR_MAX_TEXT, or the difference does not apply.
    async transferInSteps(id, name, steps, comment) {
      const held = await keeper.servedZone(name);
      if (held === null) throw new Error('no copy held');
      return keeper.transferIn(id, name, await patchZoneText(held.text, name, steps), comment);
    },
    async servedZone(name: string) {
      try {
        const text = readFileSync(fileOf(name), 'utf8');
        return { name, serial: opts.served(name) ?? 0, version: 0, text };
      } catch {
        return null;
      }
    },
    // A good check: the copy's time says when it was last confirmed (expiry after a restart).
    async recordSecondaryCheck(zone, check) {
      if (check.ok !== true) return;
      const now = new Date();
      try {
        utimesSync(fileOf(zone), now, now);
      } catch {
        // no copy yet
      }
    },
    onSecondaryRefresh: () => () => {},
    onShieldChange: () => () => {},
    onZoneChange: () => () => {},
  };
  let message: SecondaryZonesMessage = {
    type: 'switchboard:secondary-zones',
    zones: wire(zones),
    expired: [],
  };
  const refresher = new SecondaryRefresher({
    control: keeper,
    // The operator names the primaries: every address may be one.
    policy: new OutboundPolicy(['0.0.0.0/0', '::/0']),
    log,
    onExpiredChange: (expired) => {
      message = { ...message, expired: [...expired] };
      opts.broadcast(message);
    },
    lowerBounds: testLowerBounds(process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS),
  });
  void refresher.start().catch((err) => log.error(`secondary zones: ${(err as Error).message}`));
  opts.broadcast(message);
  return {
    current: () => message,
    notified(m) {
      refresher.notify(m.zone, m.address, m.serial);
    },
    update(next) {
      const before = new Map(zones.map((z) => [z.name, z]));
      const after = new Set(next.map((z) => z.name));
      const added = next.filter((z) => !before.has(z.name)).map((z) => z.name);
      const removed = zones.filter((z) => !after.has(z.name)).map((z) => z.name);
      const changed = next
        .filter((z) => {
          const b = before.get(z.name);
          return (
            b !== undefined && JSON.stringify([b.primaries, b.key]) !== JSON.stringify([z.primaries, z.key])
          );
        })
        .map((z) => z.name);
      zones = next;
      message = { ...message, zones: wire(zones), expired: message.expired.filter((n) => after.has(n)) };
      opts.broadcast(message);
      // The refresher reads the list again: new zones due now, changed primaries or key due now.
      void refresher.reload();
      if (removed.length > 0) {
        // No longer followed: no longer served (the folder is what the workers serve).
        for (const name of removed)
          try {
            unlinkSync(fileOf(name));
          } catch {
            // never transferred: no copy
          }
        opts
          .reload()
          .catch((err) =>
            log.error(`secondary zones: removed zones still served: ${(err as Error).message}`),
          );
      }
      const list = (what: string, names: string[]) =>
        names.length > 0 ? `, ${what} ${names.join(' ')}` : '';
      log.info(
        `secondary zones: ${zones.length} followed${list('added', added)}${list('removed', removed)}${list('changed', changed)}`,
      );
    },
    close() {
      refresher.close();
    },
  };
}
