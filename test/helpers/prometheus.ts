/**
 * A parser of the Prometheus text exposition format (version 0.0.4) for tests: every sample
 * line `name{label="value",...} value [timestamp]` with its labels unescaped, and the `# TYPE`
 * of every metric family. Throws on a line it cannot read, so a malformed exposition fails.
 * @module
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition. */
export interface Exposition {
  samples: Sample[];
  /** Metric family → its `# TYPE`. */
  types: Map<string, string>;
  /** Metric family → its `# HELP` text. */
  help: Map<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string, line: string): number {
  // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes `Nan`).
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new Error(`bad sample value in: ${line}`);
  return v;
}

/** Parses `# HELP`, `# TYPE` and sample lines; other comments and blank lines are skipped. */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (m?.[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]))
          throw new Error(`bad TYPE line: ${line}`);
        types.set(m[2], m[3]);
      } else if (m?.[1] === 'HELP') help.set(m[2], m[3]);
      continue;
    }
    const name = NAME.exec(line)?.[0];
    if (!name) throw new Error(`bad sample line: ${line}`);
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const rest = line.slice(i);
        const label = LABEL_NAME.exec(rest)?.[0];
        if (!label || line[i + label.length] !== '=' || line[i + label.length + 1] !== '"')
          throw new Error(`bad label in: ${line}`);
        i += label.length + 2;
        let value = '';
        for (;;) {
          const ch = line[i++];
          if (ch === undefined) throw new Error(`unterminated label value in: ${line}`);
          if (ch === '"') break;
          if (ch === '\\') {
            const esc = line[i++];
            value += esc === 'n' ? '\n' : esc;
          } else value += ch;
        }
        labels[label] = value;
        if (line[i] === ',') i++;
        else if (line[i] !== '}') throw new Error(`bad label list in: ${line}`);
      }
      i++;
    }
    if (line[i] !== ' ') throw new Error(`no value in: ${line}`);
    const [value, timestamp, ...extra] = line
      .slice(i + 1)
      .trim()
      .split(/\s+/);
    if (extra.length > 0 || (timestamp !== undefined && !/^-?\d+$/.test(timestamp)))
      throw new Error(`bad sample line: ${line}`);
    samples.push({ name, labels, value: parseValue(value, line) });
  }
  return { samples, types, help };
}

/**
 * The value of the sample `name` whose labels include `labels` (summed when several match),
 * or undefined when none does.
 */
export function sampleValue(
  exp: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  let sum: number | undefined;
  for (const s of exp.samples) {
    if (s.name !== name) continue;
    if (!Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
    sum = (sum ?? 0) + s.value;
  }
  return sum;
}
