/**
 * Zone metadata: the settings PowerDNS clients keep with a zone that are not its content —
 * kind, SOA-EDIT-API and the free-text account label. Validated here, stored in the zone
 * row, changed without a new version (the served zone does not change).
 * @module
 */
import { quoted } from './records.js';
import { ControlError, type ZoneKind, type ZoneMetadata, type ZoneMetadataInput } from './types.js';

/** Metadata of a zone created without any. */
export const DEFAULT_METADATA: Readonly<ZoneMetadata> = Object.freeze({
  kind: 'Native',
  // What PowerDNS stores when a zone is created without soa_edit_api.
  soaEditApi: 'DEFAULT',
  accountLabel: '',
});

/** Longest SOA-EDIT-API value kept (PowerDNS's values are a word or two). */
const MAX_SOA_EDIT_API = 64;
/** Longest account label kept. */
const MAX_ACCOUNT_LABEL = 255;

function invalid(message: string, field: string): ControlError {
  return new ControlError('CTL_ERR_VALIDATION', message, field);
}

/** The kind named by `v` (any letter case; Primary = Master, as PowerDNS reads it). */
export function parseZoneKind(v: unknown, field = 'kind'): ZoneKind {
  if (typeof v !== 'string') throw invalid('kind must be Native, Master, Slave, Producer or Consumer', field);
  const k = v.toLowerCase();
  if (k === 'native') return 'Native';
  if (k === 'master' || k === 'primary') return 'Master';
  if (k === 'slave' || k === 'secondary') return 'Slave';
  if (k === 'producer') return 'Producer';
  if (k === 'consumer') return 'Consumer';
  throw invalid(
    `unknown zone kind '${quoted(String(v))}': use Native, Master, Slave, Producer or Consumer`,
    field,
  );
}

/**
 * A SOA-EDIT-API value, kept as written. PowerDNS stores any string; this takes the shape of
 * its values (`DEFAULT`, `INCREASE`, `EPOCH`, `SOA-EDIT-INCREASE`, `INCEPTION-INCREMENT`…)
 * and the empty string, which clients use to mean "none".
 */
export function checkSoaEditApi(v: unknown, field = 'soaEditApi'): string {
  if (typeof v !== 'string' || v.length > MAX_SOA_EDIT_API || !/^[A-Za-z0-9-]*$/.test(v))
    throw invalid(
      `SOA-EDIT-API must be a word such as DEFAULT, INCREASE or EPOCH (letters, digits, '-', at most ${MAX_SOA_EDIT_API})`,
      field,
    );
  return v;
}

/** A free-text account label (PowerDNS's `account`), kept as written. */
export function checkAccountLabel(v: unknown, field = 'accountLabel'): string {
  if (typeof v !== 'string' || v.length > MAX_ACCOUNT_LABEL || /[\u0000-\u001f\u007f]/.test(v))
    throw invalid(
      `the account label must be text of at most ${MAX_ACCOUNT_LABEL} characters without control characters`,
      field,
    );
  return v;
}

/** The metadata `input` sets over `base`: members absent (or null) in `input` keep `base`'s. */
export function mergeMetadata(base: ZoneMetadata, input: ZoneMetadataInput | undefined): ZoneMetadata {
  const i = input ?? {};
  return {
    kind: i.kind === undefined || i.kind === null ? base.kind : parseZoneKind(i.kind),
    soaEditApi:
      i.soaEditApi === undefined || i.soaEditApi === null ? base.soaEditApi : checkSoaEditApi(i.soaEditApi),
    accountLabel:
      i.accountLabel === undefined || i.accountLabel === null
        ? base.accountLabel
        : checkAccountLabel(i.accountLabel),
  };
}

/** The members of `after` that differ from `before`, as `{member: {from, to}}`. */
export function diffMetadata(
  before: ZoneMetadata,
  after: ZoneMetadata,
): Partial<Record<keyof ZoneMetadata, { from: string; to: string }>> {
  const out: Partial<Record<keyof ZoneMetadata, { from: string; to: string }>> = {};
  for (const k of ['kind', 'soaEditApi', 'accountLabel'] as const)
    if (before[k] !== after[k]) out[k] = { from: before[k], to: after[k] };
  return out;
}

/** The metadata of a stored zone row (rows from before migration 2 get the defaults). */
export function metadataOfRow(r: {
  kind?: string;
  soa_edit_api?: string;
  account_label?: string;
}): ZoneMetadata {
  return {
    kind:
      r.kind === 'Master' || r.kind === 'Slave' || r.kind === 'Producer' || r.kind === 'Consumer'
        ? r.kind
        : 'Native',
    soaEditApi: r.soa_edit_api ?? DEFAULT_METADATA.soaEditApi,
    accountLabel: r.account_label ?? DEFAULT_METADATA.accountLabel,
  };
}
