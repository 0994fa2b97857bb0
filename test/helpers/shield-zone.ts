/**
 * The small zone the shield's e2e tests serve, and their one skip rule: the shield's checks run
 * in the native UDP path, so without the addon they skip (or fail under SWITCHBOARD_REQUIRE_PEERS).
 * @module
 */
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { skipOrFail } from './require-peers.js';

/** example.: SOA, NS, ns1 and www (A). */
export const SHIELD_ZONE = `$ORIGIN example.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 A 127.0.0.1
www A 192.0.2.1
`;

/** SHIELD_ZONE and `big` TXT: six 200-octet strings, an answer too big for 512-octet UDP (TC=1, then TCP). */
export const SHIELD_ZONE_WITH_BIG_TXT = `${SHIELD_ZONE}big TXT ${Array.from({ length: 6 }, (_, i) => `"${String(i).repeat(200)}"`).join(' ')}
`;

/** Why the shield's e2e tests cannot run here (the native addon missing), or false. Call once per test file. */
export function nativeShieldSkip(): false | string {
  const native = nativeUdpStatus();
  return skipOrFail(native.ok ? false : `the native UDP addon is not available: ${native.reason}`);
}
