/**
 * The configuration of a DNS worker process (`start`'s, which `serve --images on` runs too):
 * JSON in its environment.
 * @module
 */
import type { ListenAddress } from '../../transport/listen-address.js';
import type { UdpIo } from './listeners.js';
import type { NativeAnswersMode } from './native-answers-option.js';
import { ConfigError } from './options.js';
import type { ShieldFlags } from './shield.js';
import type { TransferFlags } from './transfers.js';

/** The environment variable carrying the DNS config to `start` worker processes. */
export const START_CONFIG_ENV = 'SWITCHBOARD_START_CONFIG';

/**
 * The answer and transport settings every DNS-serving process takes (`serve`'s config and a
 * `start` worker's): one definition, so the two configs cannot drift apart.
 */
export interface DnsServingSettings {
  listen: ListenAddress[];
  /** RFC 5001 NSID, as text (sent as its UTF-8 octets); `{worker}` = the worker's slot. */
  nsid?: string;
  /** EDNS payload size advertised and used as the UDP response cap. */
  ednsSize?: number;
  /** RFC 4892 identity (CH TXT `id.server.`); `{worker}` = the worker's slot; undefined: refused. */
  identity?: string;
  /** Text of CH TXT `version.server.` (`Switchboard 0.1.0`); undefined: refused. */
  version?: string;
  tcpIdleTimeoutMs: number;
  tcpMaxConnections: number;
  tcpMaxConnectionsPerClient: number;
  udpRecvBufferSize: number;
  udpSendBufferSize: number;
  /** `--native-answers [on|off]` (or SWITCHBOARD_NATIVE_ANSWERS): on the native UDP path, answer
   * from compiled zone images in C (native/image.c). `'auto'` (the default with `--images on`):
   * on when the workers serve images over the native path. */
  nativeAnswers?: NativeAnswersMode;
  /** `--shield`, `--rrl`, `--cookie-secret`, `--shield-allow` (docs/SHIELD.md), checked by the
   * primary, with the cookie secret every worker shares; absent: off. */
  shield?: ShieldFlags;
  /** `--transfer-key` (repeatable) and `--allow-axfr-from` (serve; repeatable): docs/TRANSFERS.md. */
  transfers?: TransferFlags;
}

/** What a DNS worker of `switchboard start` needs; JSON-serialisable. */
export interface DnsWorkerConfig extends DnsServingSettings {
  /** The UDP path the primary decided on (`chooseUdpIo`); absent: node. */
  udpIo?: UdpIo;
  /** `--images on`: the primary's image pack folder; zones arrive as image references. */
  packDir?: string;
  /** `start`: DNS UPDATEs are relayed to the primary's control plane (else NOTIMP). */
  updates?: boolean;
  /** `edge`: DNS UPDATEs are answered REFUSED (docs/EDGE.md). */
  refuseUpdates?: boolean;
}

/**
 * The serving settings of a wider config (`serve`'s, `edge`'s), field by field: what a worker
 * is given, and nothing else of the config (paths, the primary's own options).
 */
export function servingSettingsOf(c: DnsServingSettings): DnsServingSettings {
  return {
    listen: c.listen,
    nsid: c.nsid,
    ednsSize: c.ednsSize,
    identity: c.identity,
    version: c.version,
    tcpIdleTimeoutMs: c.tcpIdleTimeoutMs,
    tcpMaxConnections: c.tcpMaxConnections,
    tcpMaxConnectionsPerClient: c.tcpMaxConnectionsPerClient,
    udpRecvBufferSize: c.udpRecvBufferSize,
    udpSendBufferSize: c.udpSendBufferSize,
    nativeAnswers: c.nativeAnswers,
    shield: c.shield,
    transfers: c.transfers,
  };
}

/** Serialises the DNS config for a worker's environment. */
export function encodeDnsWorkerConfig(config: DnsWorkerConfig): string {
  return JSON.stringify(config);
}

/**
 * Reads the DNS config a `start` primary passed in the environment.
 * @throws ConfigError when absent or not valid JSON
 */
export function decodeDnsWorkerConfig(text: string | undefined): DnsWorkerConfig {
  if (!text)
    throw new ConfigError(
      `${START_CONFIG_ENV} is not set (this entry point is started by 'switchboard start')`,
    );
  try {
    return JSON.parse(text) as DnsWorkerConfig;
  } catch (err) {
    throw new ConfigError(`${START_CONFIG_ENV} is not valid JSON`, { cause: err });
  }
}
