/**
 * The drill's native sender (native/drill.c), loaded lazily: one wildcard-bound UDP socket
 * that sends each datagram from its own loopback source (IP_PKTINFO) in sendmmsg batches.
 * When it is missing the drill sends through Node sockets bound to a subset of the addresses.
 * @module
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's functions (native/drill_napi.c). */
export interface DrillAddon {
  open(family: number): number;
  send(
    fd: number,
    family: number,
    dst: number,
    port: number,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint16Array,
    srcs: Uint32Array,
    count: number,
    segs?: Uint16Array,
  ): number;
  drain(fd: number, counts: Uint32Array, budget: number): number;
  /** The socket's local port, or -errno. */
  port(fd: number): number;
  close(fd: number): number;
}

/** Datagrams per send call. */
export const NATIVE_BATCH = 64;
/** Counters per kind in `drain`'s array: 16 RCODEs, TC, any. */
export const COUNTS_PER_KIND = 18;

/** Where the addon is: SWITCHBOARD_DRILL_ADDON, else native/build/Release. */
export function drillAddonPath(): string {
  return (
    process.env.SWITCHBOARD_DRILL_ADDON ??
    fileURLToPath(new URL('../../../native/build/Release/switchboard_drill.node', import.meta.url))
  );
}

/** The addon, or the reason it is not there. Never throws. */
export function loadDrillAddon(): { addon?: DrillAddon; reason?: string } {
  if (process.platform !== 'linux') return { reason: `not on ${process.platform}` };
  const path = drillAddonPath();
  if (!existsSync(path)) return { reason: `${path} not built` };
  try {
    return { addon: createRequire(import.meta.url)(path) as DrillAddon };
  } catch (err) {
    return { reason: `failed to load: ${(err as Error).message}` };
  }
}

/** An IPv4 address (host order) as the addon takes it: the in_addr's octets read little-endian. */
export function toNetworkOrder(address: number): number {
  return (
    (((address & 255) << 24) |
      (((address >>> 8) & 255) << 16) |
      (((address >>> 16) & 255) << 8) |
      (address >>> 24)) >>>
    0
  );
}
