/**
 * Scenarios: a list of phases, each with the resolver classes that send and an attack (a
 * multiple of the measured capacity, or a fixed rate, and a mix of kinds). `dyn-2016` is the
 * built-in one (baseline, three waves with calm between them); `capacity` only measures; a
 * JSON file gives a custom mix.
 * @module
 */
import { readFileSync } from 'node:fs';
import { type AttackMix, KINDS, type TcpFlood } from './flood-protocol.js';
import { BEFORE_ATTACK, RESOLVER_CLASSES, type ResolverClass } from './population.js';
import { DrillConfigError } from './target.js';

/** The attack of a phase. */
export interface PhaseAttack {
  /** Rate as a multiple of the target's measured capacity. */
  readonly multiple?: number;
  /** Or an absolute rate, datagrams per second. */
  readonly rate?: number;
  readonly mix: AttackMix;
  /** TCP floods from bots beside it. */
  readonly tcp?: TcpFlood;
}

/** One phase. */
export interface PhaseSpec {
  readonly name: string;
  readonly seconds: number;
  /** The resolver classes that start queries in this phase. */
  readonly classes: readonly ResolverClass[];
  readonly attack?: PhaseAttack;
}

export interface Scenario {
  readonly name: string;
  readonly phases: readonly PhaseSpec[];
}

/** The 2016 mix: most of it random-subdomain through the resolvers, the rest from bots. */
export const DYN_MIX: AttackMix = { 'rs-resolvers': 0.45, 'rs-bots': 0.25, direct: 0.2, large: 0.1 };

/** dyn-2016's TCP floods from bots: new connections per second and slow connections held. */
export const DYN_TCP: TcpFlood = { connect: 500, slow: 500 };

const BEFORE: ResolverClass[] = [...BEFORE_ATTACK];
const ALL: ResolverClass[] = [...RESOLVER_CLASSES];

/** Timings of dyn-2016, seconds. */
export interface DynTimings {
  readonly baseline: number;
  readonly wave: number;
  readonly calm: number;
  readonly multiple: number;
}

export const DEFAULT_DYN: DynTimings = { baseline: 10, wave: 20, calm: 10, multiple: 3 };

/** dyn-2016: baseline, then three waves at `multiple` x capacity with calm between and after. */
export function dyn2016(t: DynTimings = DEFAULT_DYN): Scenario {
  const attack: PhaseAttack = { multiple: t.multiple, mix: DYN_MIX, tcp: DYN_TCP };
  const phases: PhaseSpec[] = [{ name: 'baseline', seconds: t.baseline, classes: BEFORE }];
  for (let w = 1; w <= 3; w++) {
    phases.push({ name: `wave${w}`, seconds: t.wave, classes: ALL, attack });
    phases.push({ name: `calm${w}`, seconds: t.calm, classes: ALL });
  }
  return { name: 'dyn-2016', phases: phases.filter((p) => p.seconds > 0) };
}

function fail(where: string, what: string): never {
  throw new DrillConfigError(`scenario ${where}: ${what}`);
}

/** Reads and checks a custom scenario: {"name"?, "phases": [{name, seconds, classes?, attack?}]} */
export function parseScenario(json: unknown, where = 'file'): Scenario {
  if (typeof json !== 'object' || json === null) fail(where, 'must be a JSON object');
  const o = json as Record<string, unknown>;
  if (!Array.isArray(o.phases) || o.phases.length === 0 || o.phases.length > 100)
    fail(where, "'phases' must be a list of 1 to 100 phases");
  const phases = o.phases.map((p: unknown, i: number): PhaseSpec => {
    const at = `phases[${i}]`;
    if (typeof p !== 'object' || p === null) fail(where, `${at} must be an object`);
    const q = p as Record<string, unknown>;
    const name = q.name === undefined ? `phase${i + 1}` : q.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > 40)
      fail(where, `${at}.name must be a string of 1-40 characters`);
    if (typeof q.seconds !== 'number' || !(q.seconds > 0) || q.seconds > 3600)
      fail(where, `${at}.seconds must be a number from 0 (excluded) to 3600`);
    let classes: ResolverClass[] = ALL;
    if (q.classes !== undefined) {
      if (!Array.isArray(q.classes)) fail(where, `${at}.classes must be a list`);
      for (const c of q.classes)
        if (!RESOLVER_CLASSES.includes(c as ResolverClass))
          fail(where, `${at}.classes: '${String(c)}' is not one of ${RESOLVER_CLASSES.join(', ')}`);
      classes = q.classes as ResolverClass[];
    }
    let attack: PhaseAttack | undefined;
    if (q.attack !== undefined) {
      if (typeof q.attack !== 'object' || q.attack === null) fail(where, `${at}.attack must be an object`);
      const a = q.attack as Record<string, unknown>;
      const hasMultiple = a.multiple !== undefined;
      const hasRate = a.rate !== undefined;
      if (hasMultiple === hasRate) fail(where, `${at}.attack needs exactly one of 'multiple' or 'rate'`);
      if (hasMultiple && (typeof a.multiple !== 'number' || !(a.multiple >= 0) || a.multiple > 100))
        fail(where, `${at}.attack.multiple must be a number from 0 to 100`);
      if (hasRate && (typeof a.rate !== 'number' || !(a.rate >= 0) || a.rate > 50_000_000))
        fail(where, `${at}.attack.rate must be a number from 0 to 50000000`);
      const mix = (a.mix ?? DYN_MIX) as Record<string, unknown>;
      if (typeof mix !== 'object' || mix === null) fail(where, `${at}.attack.mix must be an object`);
      for (const [k, v] of Object.entries(mix)) {
        if (!KINDS.includes(k as (typeof KINDS)[number]))
          fail(where, `${at}.attack.mix: '${k}' is not one of ${KINDS.join(', ')}`);
        if (typeof v !== 'number' || !(v >= 0)) fail(where, `${at}.attack.mix.${k} must be a number >= 0`);
      }
      if (Object.values(mix).every((v) => v === 0)) fail(where, `${at}.attack.mix has no weight`);
      let tcp: TcpFlood | undefined;
      if (a.tcp !== undefined) {
        const t = a.tcp as Record<string, unknown>;
        if (typeof t !== 'object' || t === null) fail(where, `${at}.attack.tcp must be an object`);
        for (const [k, v] of Object.entries(t)) {
          if (k !== 'connect' && k !== 'slow')
            fail(where, `${at}.attack.tcp: '${k}' is not 'connect' or 'slow'`);
          if (typeof v !== 'number' || !(v >= 0) || v > 50_000)
            fail(where, `${at}.attack.tcp.${k} must be a number from 0 to 50000`);
        }
        tcp = t as TcpFlood;
      }
      attack = {
        multiple: hasMultiple ? (a.multiple as number) : undefined,
        rate: hasRate ? (a.rate as number) : undefined,
        mix: mix as AttackMix,
        tcp,
      };
    }
    return { name, seconds: q.seconds, classes, attack };
  });
  const name = typeof o.name === 'string' ? o.name : 'custom';
  return { name, phases };
}

/** Reads a scenario file (JSON). */
export function readScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DrillConfigError(`--scenario ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DrillConfigError(`--scenario ${path}: not JSON (${(err as Error).message})`);
  }
  return parseScenario(json, path);
}

/** True when some phase's rate is a multiple of the capacity. */
export function needsCapacity(s: Scenario): boolean {
  return s.phases.some((p) => p.attack?.multiple !== undefined && p.attack.multiple > 0);
}

/** Whether a phase is a wave (an attack at a rate above 0). */
function isWave(p: PhaseSpec): boolean {
  return (p.attack?.multiple ?? 0) > 0 || (p.attack?.rate ?? 0) > 0;
}

/**
 * Per phase, the wave it is in or follows (0 = the first attack phase; -1 before any): the
 * `lone` class's group of that wave is the one that sends then.
 */
export function waveOfPhases(s: Scenario): number[] {
  let w = -1;
  return s.phases.map((p) => (isWave(p) ? ++w : w));
}
