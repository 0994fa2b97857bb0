/**
 * EDNS EXPIRE (RFC 7314) in a secondary's SOA answers — what `switchboard edge` says to a
 * client that asks (`kdig +expire`): the seconds left before the zone would expire, counted
 * from the SOA's own expire field since the edge's last successful contact with its primary
 * (`contactAt`). 0 once past it (the zone is then still answered until `--max-stale`: the
 * public expire stays what third-party secondaries need, the edge's operator sets its own).
 *
 * Only SOA queries that carry the option pay for it: a question-type read, then the query and
 * the answer decoded and the answer re-encoded with the option added; signed answers are left
 * as they are (adding an option would break their MAC).
 * @module
 */
import { RRType } from '../../wire/constants.js';
import { decodeMessage, readName } from '../../wire/decode.js';
import { encodeMessage } from '../../wire/encode.js';
import { readSoa } from '../../wire/rdata.js';

/** The EDNS option code of EXPIRE (RFC 7314 §2). */
export const EDNS_EXPIRE = 9;
const TSIG = 250;

/** True when `query` is a SOA query carrying an EXPIRE option (bounds-checked; never throws). */
export function wantsExpire(query: Uint8Array): boolean {
  if (query.length < 12 || ((query[10] << 8) | query[11]) === 0) return false;
  let end: number;
  try {
    end = readName(query, 12).end;
  } catch {
    return false;
  }
  if (end + 4 > query.length || ((query[end] << 8) | query[end + 1]) !== RRType.SOA) return false;
  try {
    return decodeMessage(query).edns?.options.some((o) => o.code === EDNS_EXPIRE) === true;
  } catch {
    return false;
  }
}

/**
 * `response` with an EXPIRE option holding the seconds left (the answer's SOA expire minus the
 * seconds since `contactAt`, at least 0), or `response` unchanged when it has no OPT, no SOA
 * answer, is signed or cannot be decoded.
 */
export function addExpire(response: Uint8Array, contactAt: number, now = Date.now()): Uint8Array {
  let msg: ReturnType<typeof decodeMessage>;
  try {
    msg = decodeMessage(response);
  } catch {
    return response;
  }
  if (msg.edns === undefined || msg.additional.some((r) => r.type === TSIG)) return response;
  const soa = msg.answers.find((r) => r.type === RRType.SOA);
  if (!soa) return response;
  let expire: number;
  try {
    expire = readSoa(soa.rdata).expire;
  } catch {
    return response;
  }
  const left = Math.max(0, expire - Math.max(0, Math.floor((now - contactAt) / 1000)));
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, left >>> 0);
  msg.edns.options = [...msg.edns.options.filter((o) => o.code !== EDNS_EXPIRE), { code: EDNS_EXPIRE, data }];
  try {
    return encodeMessage(msg);
  } catch {
    return response;
  }
}
