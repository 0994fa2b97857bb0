/**
 * Loading a folder of zone files, one zone per `*.zone` file, and reloading it: a file that
 * loads replaces its zone, a file that fails keeps its previous version serving, a file that
 * disappeared drops its zone and a new file adds one. The result feeds a new Catalog that is
 * swapped in as a whole.
 * @module
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Zone } from '../../zone/index.js';
import { formatZoneProblem } from '../shared/zone-problem.js';

export { formatZoneProblem };

/** What a zone file loader returns (the shape of `loadZoneFile` in src/zone/load.ts). */
export interface ZoneLoadOutcome {
  /** The zone, when it loaded. */
  zone?: Zone | null;
  warnings?: readonly unknown[];
  /** Faults that stop the zone from being served (syntax or semantic check failures). */
  errors?: readonly unknown[];
}

/**
 * Loads one zone file; may throw (a parse error) instead of returning errors. The loader
 * decides the origin: the file's `$ORIGIN`, else the file name minus `.zone`.
 */
export type ZoneFileLoader = (path: string) => Promise<ZoneLoadOutcome> | ZoneLoadOutcome;

/** A zone file that loaded (now or at an earlier load). */
export interface LoadedZone {
  /** The file name inside the zone folder. */
  file: string;
  zone: Zone;
}

/** The outcome of one file. */
export interface ZoneFileReport {
  file: string;
  /** `loaded`: the file's zone is new or replaced; `kept`: it failed and the previous version
   *  still serves; `failed`: it failed and has no previous version, so nothing serves it. */
  status: 'loaded' | 'kept' | 'failed';
  origin?: string;
  serial?: number;
  /** Error lines, each `FILE:LINE: message` where the loader gave a line. */
  errors: string[];
  /** Warning lines, same form. */
  warnings: string[];
}

/** The outcome of loading a whole folder. */
export interface ZoneDirReport {
  files: ZoneFileReport[];
  /** Files whose zone was dropped because the file disappeared. */
  removed: string[];
  /** Set when the folder itself could not be read (then nothing changed). */
  dirError?: string;
}

/** Zones by file name, in file name order. */
export type ZoneSet = Map<string, LoadedZone>;

/** True for a file name served as a zone: `*.zone`, not hidden (editors' temp files are). */
export function isZoneFileName(file: string): boolean {
  return file.endsWith('.zone') && file.length > '.zone'.length && !file.startsWith('.');
}

/**
 * Loads every zone file of `dir`. With `previous` (a reload), a file that fails keeps its
 * previous zone and a file no longer present is dropped. Two files with the same origin:
 * the first in name order wins, the other fails. Never throws for a bad zone file; an
 * unreadable folder returns `previous` unchanged with `dirError` set.
 */
export async function loadZoneDir(
  dir: string,
  loader: ZoneFileLoader,
  previous: ZoneSet = new Map(),
): Promise<{ zones: ZoneSet; report: ZoneDirReport }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter(isZoneFileName).sort();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return {
      zones: previous,
      report: { files: [], removed: [], dirError: `cannot read zone folder: ${why}` },
    };
  }
  const zones: ZoneSet = new Map();
  const files: ZoneFileReport[] = [];
  const origins = new Map<string, string>(); // origin key → file that holds it
  for (const file of names) {
    const path = join(dir, file);
    try {
      if (!(await stat(path)).isFile()) continue;
    } catch {
      continue; // vanished between readdir and stat
    }
    const report: ZoneFileReport = { file, status: 'failed', errors: [], warnings: [] };
    files.push(report);
    let zone: Zone | undefined;
    try {
      const outcome = await loader(path);
      report.warnings = (outcome.warnings ?? []).map((w) => formatZoneProblem(path, w));
      report.errors = (outcome.errors ?? []).map((e) => formatZoneProblem(path, e));
      if (report.errors.length === 0 && outcome.zone) zone = outcome.zone;
      else if (report.errors.length === 0) report.errors.push(`${path}: no zone loaded`);
    } catch (err) {
      report.errors.push(formatZoneProblem(path, err));
    }
    if (zone) {
      const holder = origins.get(zone.origin.key);
      if (holder !== undefined) {
        report.errors.push(`${path}: zone ${zone.origin} is already served from ${holder}`);
        zone = undefined;
      }
    }
    if (zone) {
      report.status = 'loaded';
    } else {
      const old = previous.get(file);
      // A failed reload keeps serving what the file held before, unless another file now
      // serves that origin.
      if (old && !origins.has(old.zone.origin.key)) {
        zone = old.zone;
        report.status = 'kept';
      }
    }
    if (zone) {
      origins.set(zone.origin.key, file);
      zones.set(file, { file, zone });
      report.origin = zone.origin.toString();
      report.serial = zone.serial;
    }
  }
  const present = new Set(names);
  const removed = [...previous.keys()].filter((f) => !present.has(f));
  return { zones, report: { files, removed } };
}
