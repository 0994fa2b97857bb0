/**
 * The parse of a pushed zone's text (`--images off`: every DNS worker parses the zones it is
 * sent). A module of its own so that a worker serving images (`--images on`) never loads the
 * zone parser and its loader: worker-main.ts imports this only when it parses.
 * @module
 */
import { prepareSignedZone } from '../../answer/dnssec.js';
import { loadZoneText, type Zone } from '../../zone/index.js';
import type { ZonePush } from './protocol.js';
import type { ZonePushLoader } from './zones.js';

/**
 * Parses one pushed zone. Not strict: the control plane validated every record when it was
 * written, and a check the control plane does not make (an NS without glue, say) must not
 * stop an acknowledged change from being served.
 * @throws ZoneParseError
 */
export function parseZonePush(push: ZonePush & { text: string }): Zone {
  const zone = loadZoneText(push.text, { origin: push.name, file: push.name, strict: false }).zone;
  // A signed zone's proof index, with the zone (a text push has no image to carry it).
  prepareSignedZone(zone);
  return zone;
}

/** The loader of a worker that parses: the pushed text (`parseZonePush`). */
export const parseTextPush: ZonePushLoader = (push) => {
  if (push.text === null) throw new Error('no zone text in this push');
  return parseZonePush({ ...push, text: push.text });
};
