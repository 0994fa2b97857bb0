/**
 * The zone file loader the server uses: src/zone's `loadZoneFile`, with its ZoneParseError
 * turned into the list of located errors `loadZoneDir` reports. A signed zone's proof index
 * is built here, with the zone (`--images off`: no image carries it), never at a query.
 * @module
 */
import { prepareSignedZone } from '../../answer/dnssec.js';
import { loadZoneFile, ZoneParseError } from '../../zone/index.js';
import type { ZoneFileLoader } from './zone-dir.js';

/** Loads one zone file; syntax and check errors come back as `errors` (FILE:LINE located). */
export const loadZoneFileForServer: ZoneFileLoader = (path) => {
  try {
    const loaded = loadZoneFile(path);
    prepareSignedZone(loaded.zone);
    return loaded;
  } catch (err) {
    if (err instanceof ZoneParseError) return { errors: err.errors, warnings: err.warnings };
    throw err;
  }
};
