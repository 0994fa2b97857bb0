/**
 * Messages between the primary and its workers over the cluster IPC channel.
 * @module
 */
import type { WorkerMetricsMessage } from '../shared/dns-protocol.js';
import type { ZoneSummary } from './report.js';
import type { ZoneDirReport } from './zone-dir.js';

/** Primary → worker: re-read the zone folder (generation `gen` of reloads). */
export interface ReloadRequest {
  type: 'switchboard:reload';
  gen: number;
}

/**
 * Worker → primary, before it opens its sockets, when the cookie secret rotates
 * (`--cookie-rotate`): the primary answers with the secrets in force, which the worker takes
 * before its first datagram (its config holds the first ones, stale after a rotation).
 */
export interface HelloMessage {
  type: 'switchboard:hello';
}

/** Worker → primary: listening and serving. */
export interface ReadyMessage {
  type: 'switchboard:ready';
  zones: ZoneSummary[];
  report: ZoneDirReport;
}

/** Worker → primary: a reload finished. */
export interface ReloadedMessage {
  type: 'switchboard:reloaded';
  gen: number;
  zones: ZoneSummary[];
  report: ZoneDirReport;
}

/** Worker → primary: cannot serve (the worker exits next). */
export interface FatalMessage {
  type: 'switchboard:fatal';
  message: string;
  /** A stable error code when the failure had one. */
  code?: string;
}

/** Anything a worker sends (`switchboard:metrics` with `--metrics` only, once a second). */
export type WorkerMessage =
  | HelloMessage
  | ReadyMessage
  | ReloadedMessage
  | FatalMessage
  | WorkerMetricsMessage;

/** Narrows an IPC message to a worker message. */
export function isWorkerMessage(msg: unknown): msg is WorkerMessage {
  if (typeof msg !== 'object' || msg === null) return false;
  const t = (msg as { type?: unknown }).type;
  return (
    t === 'switchboard:hello' ||
    t === 'switchboard:ready' ||
    t === 'switchboard:reloaded' ||
    t === 'switchboard:fatal' ||
    t === 'switchboard:metrics'
  );
}

/** Narrows an IPC message to a reload request. */
export function isReloadRequest(msg: unknown): msg is ReloadRequest {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'switchboard:reload';
}
