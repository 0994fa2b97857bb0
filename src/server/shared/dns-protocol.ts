/**
 * Messages between the primary of `switchboard start` and its DNS workers over the cluster
 * IPC channel. The primary holds every served zone's master-file text; a worker that starts
 * says hello and receives the full set in batches (a snapshot), then every change as it
 * happens. One IPC channel delivers in order, so a worker sees the primary's history in order.
 * @module
 */

import type { DnsReport } from '../../telemetry/dns-layout.js';
import type { NotifyInMessage } from '../../xfr/secondary/notify-in.js';
import type { EdgesSeenMessage } from './edge-sightings.js';
import type { ImageRef, LoadCounters } from './images.js';

/** One zone's content as pushed to a worker; `text: null` means the zone is gone. */
export interface ZonePush {
  /** Absolute, case-folded zone name. */
  name: string;
  /** The control plane's version of the zone: a worker never replaces a zone by an older one. */
  version: number;
  serial: number;
  /** Master-file text (absolute names), or null when the zone was deleted or `ref` carries it. */
  text: string | null;
  /**
   * `--images on`: the zone's compiled image in the primary's packs (then `text` is null). A
   * push with neither text nor ref deletes the zone.
   */
  ref?: ImageRef;
  /**
   * The zone was deleted and created again since the worker last heard of it: its versions
   * start over, so the worker takes this one whatever version it holds.
   */
  reset?: boolean;
  /**
   * `--images on`: the same version's image now at `ref` (the primary compacted its packs):
   * the worker takes it although it holds this version already.
   */
  moved?: boolean;
  /**
   * `--images on`: the image at `ref` is a delta image (src/image/patch.ts `patchImage`): the
   * primary's compiler made it from the image of the version before, copying every name the
   * change could not affect. The worker opens it checking its header and section table only
   * (as a reopen does), not the whole image: docs/IMAGE.md "Delta images".
   */
  trusted?: boolean;
  /**
   * `start --images on`, in the primary only (never sent to a worker; then `text` is null):
   * the zone's changes since version `from`, from the control plane's diff, instead of its
   * whole text. The image shipper builds the new image from the image of `from`.
   */
  patch?: ZonePatch;
}

/** One RRset as a change left it: owner (as stored), type, TTL, its served lines ('' = gone). */
export interface PatchChange {
  owner: string;
  type: number;
  ttl: number;
  text: string;
  /** Its lines at version `from` ('' = none): the IXFR journal's removals (src/xfr/journal.ts). */
  was?: string;
  /**
   * An IXFR's difference rather than the whole RRset (`switchboard edge`): `text` holds the
   * records added, `was` the records removed; the RRset after is the served one's records
   * less those, plus these (compile-patch.ts `ixfrChanges`).
   */
  diff?: true;
}

/** A zone's changes since version `from` (ZonePush.patch). */
export interface ZonePatch {
  from: number;
  changes: PatchChange[];
}

/**
 * Primary → worker: zones. A snapshot is a run of `snapshot` batches ending with one whose
 * `last` is true; the worker serves it as a whole once complete. `update` batches change
 * the zones they carry and leave the others alone.
 */
export interface ZonesMessage {
  type: 'switchboard:zones';
  kind: 'snapshot' | 'update';
  /** Increases with every message the primary sends; echoed in `applied`. */
  seq: number;
  /** For snapshots: this is the final batch. */
  last: boolean;
  zones: ZonePush[];
  /**
   * `--images on`, snapshots only: the zones are in this snapshot file of the pack folder
   * (snapshot-file.ts; a name, no path), applied before `zones`.
   */
  file?: string;
  /**
   * `--images on`, snapshots only: every image of this snapshot was written into the pack
   * folder by this primary, from octets its own compile threads made in this run (none taken
   * from an image cache on disk). A worker opens such an image as a delta image (`trusted`
   * of a push: header and section table checked, no CRC-32 of its octets, no deep
   * validation); without it, an image is checked in full (docs/IMAGE.md "Packs").
   */
  trusted?: boolean;
}

/** Worker → primary: the IPC listener is installed; send the snapshot. */
export interface HelloMessage {
  type: 'switchboard:hello';
}

/** Worker → primary: the snapshot is loaded and the listeners are bound. */
export interface StartReadyMessage {
  type: 'switchboard:start-ready';
  zones: number;
  /** Milliseconds spent parsing the snapshot. */
  loadMs: number;
  /** Zone texts parsed and images opened by this worker so far. */
  loads?: LoadCounters;
}

/** Worker → primary: a zones message was applied (the primary logs failures only). */
export interface AppliedMessage {
  type: 'switchboard:applied';
  seq: number;
  /** Zones that could not be parsed (kept at their previous version), as `name: message`. */
  errors: string[];
  /** Zone texts parsed and images opened by this worker so far. */
  loads?: LoadCounters;
}

/** Worker → primary: cannot serve (the worker exits next). */
export interface StartFatalMessage {
  type: 'switchboard:fatal';
  message: string;
  code?: string;
}

/** How often a worker sends its metrics report (ms). */
export const METRICS_INTERVAL_MS = 1000;

/**
 * Worker → primary, about once a second: the worker's cumulative DNS counters and current
 * gauges (docs/METRICS.md). The primary sums the workers' latest reports.
 */
export interface WorkerMetricsMessage extends DnsReport {
  type: 'switchboard:metrics';
  /** Random per worker process: a restarted worker's counters start over under a new one. */
  incarnation: string;
}

/**
 * Worker → primary (`start` only): a DNS UPDATE (RFC 2136) as received, for the control
 * plane (src/xfr/update.ts); the worker answers the client with the primary's
 * `switchboard:dns-update-answer` of the same `id`.
 */
export interface DnsUpdateRelayMessage {
  type: 'switchboard:dns-update';
  id: number;
  /** The message's octets, base64. */
  query: string;
  address: string;
}

/** Primary → worker: the answer to a relayed UPDATE (base64; null: send none). */
export interface DnsUpdateAnswerMessage {
  type: 'switchboard:dns-update-answer';
  id: number;
  response: string | null;
}

export function isDnsUpdateAnswerMessage(msg: unknown): msg is DnsUpdateAnswerMessage {
  return (
    typeof msg === 'object' &&
    msg !== null &&
    (msg as { type?: unknown }).type === 'switchboard:dns-update-answer'
  );
}

/** Anything a `start` worker sends. */
export type StartWorkerMessage =
  | HelloMessage
  | StartReadyMessage
  | AppliedMessage
  | StartFatalMessage
  | WorkerMetricsMessage
  | NotifyInMessage
  | DnsUpdateRelayMessage
  | EdgesSeenMessage;

const WORKER_TYPES = new Set([
  'switchboard:hello',
  'switchboard:start-ready',
  'switchboard:applied',
  'switchboard:fatal',
  'switchboard:metrics',
  'switchboard:notify-in',
  'switchboard:dns-update',
  'switchboard:edges-seen',
]);

/** Narrows an IPC message to a `start` worker message. */
export function isStartWorkerMessage(msg: unknown): msg is StartWorkerMessage {
  if (typeof msg !== 'object' || msg === null) return false;
  const t = (msg as { type?: unknown }).type;
  return typeof t === 'string' && WORKER_TYPES.has(t);
}

/** True when a push removes its zone (no text and no image). */
export function isDeletion(push: ZonePush): boolean {
  return push.text === null && push.ref === undefined;
}

/** Narrows an IPC message to a zones message. */
export function isZonesMessage(msg: unknown): msg is ZonesMessage {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'switchboard:zones';
}
