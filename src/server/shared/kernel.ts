/**
 * The kernel settings a DNS server under attack depends on, read once at start and logged in
 * one line, with a warning for each that works against us (docs/SHIELD.md "Kernel settings"):
 * SYN cookies (a SYN flood fills the listen backlog without them), the listen backlog caps,
 * and the most a socket's receive buffer may hold (a short queue overflows sooner in a burst).
 * @module
 */
import { readFileSync } from 'node:fs';

/** Reads /proc/sys/`path` as a number; undefined when it cannot be read (not Linux, a jail). */
function sysctl(path: string): number | undefined {
  try {
    const v = Number(readFileSync(`/proc/sys/${path}`, 'utf8').trim().split(/\s+/)[0]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A receive-buffer cap below this is warned about. */
const RMEM_FLOOR = 1 << 20;

export interface KernelSettings {
  tcpSyncookies?: number;
  somaxconn?: number;
  tcpMaxSynBacklog?: number;
  rmemMax?: number;
}

export function readKernelSettings(): KernelSettings {
  return {
    tcpSyncookies: sysctl('net/ipv4/tcp_syncookies'),
    somaxconn: sysctl('net/core/somaxconn'),
    tcpMaxSynBacklog: sysctl('net/ipv4/tcp_max_syn_backlog'),
    rmemMax: sysctl('net/core/rmem_max'),
  };
}

/** The info line and the warnings for `k`, given the UDP receive buffer asked for. */
export function kernelReport(k: KernelSettings, udpRecvBuffer: number): { info: string; warnings: string[] } {
  const show = (v: number | undefined) => (v === undefined ? 'unknown' : String(v));
  const info =
    `kernel: tcp_syncookies=${show(k.tcpSyncookies)} somaxconn=${show(k.somaxconn)} ` +
    `tcp_max_syn_backlog=${show(k.tcpMaxSynBacklog)} rmem_max=${show(k.rmemMax)}`;
  const warnings: string[] = [];
  if (k.tcpSyncookies === 0)
    warnings.push('kernel: net.ipv4.tcp_syncookies=0: a SYN flood can fill the TCP backlog (set it to 1)');
  if (k.somaxconn !== undefined && k.somaxconn < 511)
    warnings.push(`kernel: net.core.somaxconn=${k.somaxconn} caps the TCP backlog below 511`);
  // The buffer asked for is capped at rmem_max; a cap under 1 MiB (Linux's default is ~208 KiB)
  // overflows in a burst of a few thousand datagrams.
  if (k.rmemMax !== undefined && k.rmemMax < Math.min(udpRecvBuffer, RMEM_FLOOR))
    warnings.push(
      `kernel: net.core.rmem_max=${k.rmemMax} caps the UDP receive buffer (${udpRecvBuffer} asked for): bursts overflow sooner (sysctl -w net.core.rmem_max=${udpRecvBuffer})`,
    );
  return { info, warnings };
}

/** Logs the kernel settings once (a primary, at start). */
export function logKernelSettings(
  log: { info(m: string): void; warn(m: string): void },
  udpRecvBuffer: number,
): void {
  const r = kernelReport(readKernelSettings(), udpRecvBuffer);
  log.info(r.info);
  for (const w of r.warnings) log.warn(w);
}
