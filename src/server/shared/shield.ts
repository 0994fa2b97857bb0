/**
 * The shield in a DNS-serving process (docs/SHIELD.md): the operator's flags checked once in
 * the primary (a random cookie secret made there when none is given, so every worker shares
 * it), and in each worker the native path's shield configured after its socket opens, its
 * zone attack events turned into log lines.
 * @module
 */
import type { Catalog } from '../../answer/catalog.js';
import { shieldSettings } from '../../shield/config.js';
import { addressOctets, parsePrefix } from '../../shield/prefix-set.js';
import type { ShieldCounters } from '../../telemetry/dns-counters.js';
import { configureNativeShield, nativeZoneKey } from '../../transport/native-shield.js';
import { nativeUdpStatus } from '../../transport/native-udp.js';
import { ConfigError } from './options.js';

/** The shield's flags as they travel to workers (JSON). */
export interface ShieldFlags {
  mode: 'off' | 'on' | 'dry-run';
  rrl?: string;
  /** 32 hex digits each; the first makes cookies. */
  cookieSecrets: string[];
  allow: string[];
}

/**
 * Checks the flags (`--shield`, `--rrl`, `--cookie-secret`, `--shield-allow`) and fills in a
 * random cookie secret when none is given. Undefined when the shield is off and nothing else
 * was asked. @throws ConfigError naming the flag at fault
 */
export function resolveShieldFlags(input: {
  shield?: string;
  rrl?: string;
  cookieSecret?: string[];
  shieldAllow?: string[];
}): ShieldFlags | undefined {
  let settings: ReturnType<typeof shieldSettings>;
  try {
    settings = shieldSettings(input);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  if (settings.mode === 'off') {
    if (
      input.rrl !== undefined ||
      (input.cookieSecret ?? []).length > 0 ||
      (input.shieldAllow ?? []).length > 0
    )
      throw new ConfigError('--rrl, --cookie-secret and --shield-allow need --shield on or --shield dry-run');
    return undefined;
  }
  const secrets = settings.cookieSecrets.map((s) => Buffer.from(s).toString('hex'));
  if (secrets.length === 0)
    secrets.push(Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex'));
  return { mode: settings.mode, rrl: input.rrl, cookieSecrets: secrets, allow: input.shieldAllow ?? [] };
}

/** The native shield of this process, when on (for `shieldSawTcp`). */
let active: { noteTcp(address: Uint8Array): void } | undefined;
/** Its counters as last read (once a second), attacked zones by name. */
let latest: ShieldCounters | undefined;

/** The shield's counters for the worker's DNS report; undefined when it is off. */
export function shieldCounters(): ShieldCounters | undefined {
  return latest;
}

/**
 * Tells the shield that `address` completed a TCP handshake and sent a query over it: the
 * address is real, not spoofed (the `tcp` tier). Cheap when the shield is off.
 */
export function shieldSawTcp(address: string): void {
  if (active === undefined) return;
  try {
    active.noteTcp(addressOctets(address));
  } catch {
    // not an address we can key: nothing to remember
  }
}

export interface RunningShield {
  close(): void;
}

/**
 * Configures this worker's native shield, if the flags turn it on. Logs what runs. The zone
 * attack events are read every second and logged with the zone's name.
 */
export function startShield(
  config: { shield?: ShieldFlags; udpIo?: string; nativeAnswers?: boolean },
  log: { info(m: string): void; warn(m: string): void },
  catalog: () => Catalog,
): RunningShield | undefined {
  const flags = config.shield;
  if (flags === undefined || flags.mode === 'off') return undefined;
  if (config.udpIo !== 'native') {
    log.warn('--shield ignored: it runs on the native UDP path only so far (--io native)');
    return undefined;
  }
  const status = nativeUdpStatus();
  if (!status.ok) {
    log.warn(`--shield ignored: ${status.reason}`);
    return undefined;
  }
  const s = shieldSettings({ shield: flags.mode, rrl: flags.rrl, cookieSecret: flags.cookieSecrets });
  configureNativeShield(status.addon, {
    mode: s.mode,
    secrets: s.cookieSecrets,
    allow: flags.allow.map((p) => parsePrefix(p)),
    rrl: s.rrl,
  });
  log.info(
    `shield ${flags.mode} on the native UDP path: admission before answering` +
      (config.nativeAnswers
        ? ' (zone signals from the zone images)'
        : ' (no zone signal: --native-answers is off)') +
      (s.rrl ? `, response-rate limiting ${flags.rrl}` : ', no response-rate limiting') +
      `, cookies checked (${s.cookieSecrets.length} secret${s.cookieSecrets.length === 1 ? '' : 's'})` +
      (flags.allow.length ? `, ${flags.allow.length} allowed prefixes` : '') +
      '; before the socket queue: a BPF filter on the socket drops IPv4 /24s that flood directly (IPv6 sources are shed in the native path)',
  );
  // Zone keys → names: an index of the catalog made when a key is first asked for, and again
  // only when the catalog was swapped (one walk per catalog, not per lookup).
  let indexed: Catalog | undefined;
  let names = new Map<number, string>();
  const nameOf = (key: number): string => {
    const now = catalog();
    if (now !== indexed) {
      indexed = now;
      names = new Map();
      for (const z of now.zones)
        names.set(nativeZoneKey(Buffer.from(z.origin.key, 'latin1')), z.origin.toString());
    }
    return names.get(key) ?? `zone #${key}`;
  };
  let blocked = 0;
  const poll = (): void => {
    const st = status.addon.shieldStats();
    if (st === null) return;
    if (st.blocked !== blocked) {
      log.info(
        `shield: the kernel prefilter drops ${st.blocked} IPv4 /24${st.blocked === 1 ? '' : 's'} (was ${blocked}; ${st.blocksMade} blocks since start)`,
      );
      blocked = st.blocked;
    }
    for (const [key, entered] of st.events) {
      log.info(
        entered
          ? `shield: ${nameOf(key)} is under a random-subdomain attack: its missing names are answered within a budget`
          : `shield: ${nameOf(key)} is no longer under attack`,
      );
    }
    latest = {
      ...st,
      attacked: st.attacked.slice(0, 32).map(nameOf),
      top: st.top.slice(0, 10).map(([key, q, nx]) => [nameOf(key), q, nx] as const),
    };
  };
  active = { noteTcp: (a) => status.addon.shieldNoteTcp(a) };
  const timer = setInterval(poll, 1000);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      active = undefined;
      latest = undefined;
      status.addon.shieldConfigure(0, new Float64Array(28), new Uint8Array(0), new Uint8Array(0));
    },
  };
}
