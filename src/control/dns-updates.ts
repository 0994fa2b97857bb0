/**
 * Dynamic update (RFC 2136) in the control plane: who may update a zone — PowerDNS's zone
 * metadata `TSIG-ALLOW-DNSUPDATE` (keys of the zone's account) and `ALLOW-DNSUPDATE-FROM`
 * (prefixes) — and the handling of an UPDATE a DNS worker relays (its TSIG already verified
 * there against the zone's account's keys): the policy checked, then the update run as any
 * change of the zone (zones.ts `dnsUpdate`: the zone-work thread, quota, version, audit).
 *
 * The rule (docs/TRANSFERS.md "Dynamic update"): with neither setting, updates are REFUSED;
 * with `TSIG-ALLOW-DNSUPDATE`, the update must be signed with one of those keys; with
 * `ALLOW-DNSUPDATE-FROM`, it must come from one of those prefixes; with both, both hold. An
 * unsigned update is therefore taken only from a zone's listed prefixes, as PowerDNS does.
 * @module
 */
import { addressOctets as addressOctetsOf, PrefixSet, parsePrefix } from '../shield/prefix-set.js';
import { Rcode } from '../wire/constants.js';
import type { DnsUpdateRequest, DnsUpdateResult } from '../xfr/update-types.js';
import { requireWrite } from './access.js';
import type { PlaneContext } from './context.js';

export type { DnsUpdateRequest, DnsUpdateResult };

import { quoted } from './records.js';
import { parseList, tsigKeyName } from './tsig-keys.js';
import { ControlError, type Principal } from './types.js';
import type { Zones } from './zones.js';

/** Values each of the two settings holds at most. */
export const MAX_UPDATE_VALUES = 100;
/** Records in one UPDATE's prerequisite and update sections together, at most (a 64 KiB message holds fewer). */
export const MAX_UPDATE_RRS = 5000;

/** Who may update a zone (PowerDNS metadata). */
export interface ZoneUpdatePolicy {
  /** `TSIG-ALLOW-DNSUPDATE`: names of keys of the zone's account (absolute, folded). */
  tsigAllowDnsupdate: string[];
  /** `ALLOW-DNSUPDATE-FROM`: prefixes. */
  allowDnsupdateFrom: string[];
}

function invalid(message: string, field: string): ControlError {
  return new ControlError('CTL_ERR_VALIDATION', message, field);
}

function policyOf(row: { tsig_keys: string; allow_from: string } | undefined): ZoneUpdatePolicy {
  return row
    ? { tsigAllowDnsupdate: parseList(row.tsig_keys), allowDnsupdateFrom: parseList(row.allow_from) }
    : { tsigAllowDnsupdate: [], allowDnsupdateFrom: [] };
}

/** The ALLOW-DNSUPDATE-FROM values, checked (addresses or prefixes). */
export function checkAllowDnsupdateFrom(values: unknown, field = 'metadata'): string[] {
  if (!Array.isArray(values) || values.length > MAX_UPDATE_VALUES)
    throw invalid(`ALLOW-DNSUPDATE-FROM takes a list of at most ${MAX_UPDATE_VALUES} values`, field);
  const out: string[] = [];
  values.forEach((v, i) => {
    if (typeof v !== 'string') throw invalid('ALLOW-DNSUPDATE-FROM values are strings', `${field}[${i}]`);
    try {
      parsePrefix(v);
    } catch {
      throw invalid(`'${quoted(v)}' is not an IP address or a prefix`, `${field}[${i}]`);
    }
    out.push(v.trim());
  });
  return [...new Set(out)];
}

export class DnsUpdates {
  readonly #ctx: PlaneContext;
  readonly #zones: Zones;

  constructor(ctx: PlaneContext, zones: Zones) {
    this.#ctx = ctx;
    this.#zones = zones;
  }

  async getZoneUpdatePolicy(p: Principal, zoneName: string): Promise<ZoneUpdatePolicy> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(zoneName).toString();
    return this.#ctx.store.read(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname);
      return policyOf(await repo.getZoneUpdate(zone.id));
    });
  }

  async setZoneUpdatePolicy(
    p: Principal,
    zoneName: string,
    input: Partial<ZoneUpdatePolicy>,
  ): Promise<ZoneUpdatePolicy> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(zoneName).toString();
    return this.#ctx.write(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname, true);
      const before = policyOf(await repo.getZoneUpdate(zone.id));
      const after = { ...before };
      if (input.tsigAllowDnsupdate !== undefined) {
        const ids = input.tsigAllowDnsupdate as unknown;
        if (!Array.isArray(ids) || ids.length > MAX_UPDATE_VALUES)
          throw invalid(
            `TSIG-ALLOW-DNSUPDATE takes a list of at most ${MAX_UPDATE_VALUES} key names`,
            'metadata',
          );
        const names: string[] = [];
        for (const [i, id] of ids.entries()) {
          const n = tsigKeyName(id, `metadata[${i}]`);
          // Only the zone's own account's keys: another account's key of that name is "not found".
          if (!(await repo.getTsigKey(zone.account_id, n)))
            throw invalid(
              `A TSIG key with the name '${quoted(String(id))}' does not exist`,
              `metadata[${i}]`,
            );
          names.push(n);
        }
        after.tsigAllowDnsupdate = [...new Set(names)];
      }
      if (input.allowDnsupdateFrom !== undefined)
        after.allowDnsupdateFrom = checkAllowDnsupdateFrom(input.allowDnsupdateFrom);
      requireWrite(p);
      if (JSON.stringify(before) === JSON.stringify(after)) return after;
      if (after.tsigAllowDnsupdate.length === 0 && after.allowDnsupdateFrom.length === 0)
        await repo.deleteZoneUpdate(zone.id);
      else
        await repo.putZoneUpdate({
          zone_id: zone.id,
          tsig_keys: JSON.stringify(after.tsigAllowDnsupdate),
          allow_from: JSON.stringify(after.allowDnsupdateFrom),
          updated_at: new Date().toISOString(),
        });
      await this.#ctx.audit(repo, p, 'zone.dnsupdate-policy', zone.name, zone.account_id, {
        from: before,
        to: after,
      });
      return after;
    });
  }

  /**
   * The account of `zone` and the TSIG keys an UPDATE of it may be signed with: its account's
   * (undefined: no such zone). For the DNS side, which verifies the signature before relaying
   * the update and bounds each account's updates in flight.
   */
  async zoneAccountKeys(
    zone: string,
  ): Promise<{ account: string; keys: { name: string; algorithm: string; secret: string }[] } | undefined> {
    this.#ctx.checkOpen();
    let zname: string;
    try {
      zname = this.#ctx.zoneName(zone).toString();
    } catch {
      return undefined;
    }
    return this.#ctx.store.read(async (repo) => {
      const row = await repo.getZoneByName(zname);
      if (!row) return undefined;
      const keys = await repo.tsigKeysOfAccounts([row.account_id]);
      return {
        account: row.account_id,
        keys: keys.map((k) => ({ name: k.name, algorithm: k.algorithm, secret: k.secret })),
      };
    });
  }

  /**
   * An UPDATE relayed by a DNS worker: the zone's policy, then the update as a change of the
   * zone on behalf of its account. Never throws: every outcome is an RCODE.
   */
  async dnsUpdate(req: DnsUpdateRequest): Promise<DnsUpdateResult> {
    try {
      this.#ctx.checkOpen();
      if (req.prereqs.length + req.updates.length > MAX_UPDATE_RRS)
        return { rcode: Rcode.REFUSED, reason: `more than ${MAX_UPDATE_RRS} records`, changed: false };
      let origin: ReturnType<PlaneContext['zoneName']>;
      try {
        origin = this.#ctx.zoneName(req.zone);
      } catch {
        return { rcode: Rcode.NOTAUTH, reason: `not a zone here: ${req.zone}`, changed: false };
      }
      const zname = origin.toString();
      const found = await this.#ctx.store.read(async (repo) => {
        const zone = await repo.getZoneByName(zname);
        if (!zone) return undefined;
        return { zone, policy: policyOf(await repo.getZoneUpdate(zone.id)) };
      });
      // RFC 2136 §3.1.1: a zone not served here.
      if (found === undefined)
        return { rcode: Rcode.NOTAUTH, reason: `not a zone here: ${zname}`, changed: false };
      const { zone, policy } = found;
      const refused = (reason: string): DnsUpdateResult => ({ rcode: Rcode.REFUSED, reason, changed: false });
      // A secondary zone's content comes from its masters: updates go to its primary (not
      // forwarded here, as BIND without update-forwarding).
      if (zone.kind === 'Slave' || zone.kind === 'Consumer')
        return refused(`${zname} is a secondary zone: send updates to its primary`);
      if (zone.kind === 'Producer') return refused(`${zname} is a catalog zone: its records are generated`);
      if (policy.tsigAllowDnsupdate.length === 0 && policy.allowDnsupdateFrom.length === 0)
        return refused(
          `dynamic updates of ${zname} are not allowed (no TSIG-ALLOW-DNSUPDATE or ALLOW-DNSUPDATE-FROM)`,
        );
      if (policy.tsigAllowDnsupdate.length > 0) {
        const key = req.key?.toLowerCase();
        const withDot = key === undefined || key.endsWith('.') ? key : `${key}.`;
        if (withDot === undefined)
          return refused(`updates of ${zname} must be signed (TSIG-ALLOW-DNSUPDATE)`);
        if (!policy.tsigAllowDnsupdate.includes(withDot))
          return refused(`the key ${withDot} may not update ${zname} (TSIG-ALLOW-DNSUPDATE)`);
      }
      if (policy.allowDnsupdateFrom.length > 0) {
        let inside = false;
        try {
          inside = new PrefixSet(policy.allowDnsupdateFrom).has(addressOctetsOf(req.address));
        } catch {
          inside = false;
        }
        if (!inside) return refused(`${req.address} may not update ${zname} (ALLOW-DNSUPDATE-FROM)`);
      }
      const p: Principal = {
        tokenId: req.key !== undefined ? `tsig:${req.key.toLowerCase()}` : 'dnsupdate',
        accountId: zone.account_id,
        scope: { admin: false, access: 'write' },
        remote: req.address,
      };
      const result = await this.#zones.dnsUpdate(p, origin, {
        zclass: req.zclass,
        prereqs: req.prereqs,
        updates: req.updates,
      });
      if (result.dnsUpdate !== undefined)
        return { rcode: result.dnsUpdate.rcode, reason: result.dnsUpdate.reason, changed: false };
      return { rcode: Rcode.NOERROR, serial: result.serial, changed: result.changed };
    } catch (err) {
      if (err instanceof ControlError) {
        // The zone's own rules (a CNAME beside other data, glue, limits) and the account's
        // quota refuse an update as they refuse an API change.
        const rcode =
          err.code === 'CTL_ERR_NOT_FOUND'
            ? Rcode.NOTAUTH
            : err.code === 'CTL_ERR_VALIDATION' ||
                err.code === 'CTL_ERR_QUOTA' ||
                err.code === 'CTL_ERR_FORBIDDEN'
              ? Rcode.REFUSED
              : Rcode.SERVFAIL;
        return { rcode, reason: err.message, changed: false };
      }
      return { rcode: Rcode.SERVFAIL, reason: (err as Error).message, changed: false };
    }
  }
}
