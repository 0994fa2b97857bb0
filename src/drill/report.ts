/**
 * A drill's report as text (the summary printed at the end) and as one self-contained HTML
 * page (tables and an inline SVG timeline; no external assets, no scripts).
 * @module
 */

import { CLASS_MEANING, type ResolverClass } from './population.js';
import {
  type DrillReport,
  type LossReport,
  type PhaseReport,
  SLOW_MS,
  sharesCpu,
  type TimelinePoint,
} from './run.js';
import type { SettleReport } from './settle.js';
import { type LegitStats, percent } from './stats.js';

function legitCell(s: LegitStats | undefined): string {
  if (!s || s.queries === 0) return '-';
  const split =
    s.udpP99Ms !== undefined && s.tcp > 0
      ? ` (UDP only ${s.udpP99Ms.toFixed(0)}, via TCP ${(s.tcpP99Ms ?? 0).toFixed(0)} ms, ${percent(s.tcp)} via TCP)`
      : '';
  return `${percent(s.success, 2)} (1st ${percent(s.firstTry, 0)}) p50 ${s.p50Ms.toFixed(1)} p99 ${s.p99Ms.toFixed(0)} ms${split} n=${s.queries}`;
}

function mib(b: number): string {
  return `${(b / 2 ** 20).toFixed(0)} MiB`;
}

/** The text summary. */
export function textReport(r: DrillReport): string {
  const out: string[] = [];
  out.push(
    `drill ${r.scenario} against ${r.target}${r.label ? ` (${r.label})` : ''}, seed ${r.seed}, ${r.seconds} s, stopped by ${r.stoppedBy}`,
  );
  out.push(
    `I/O: legitimate ${r.io.legit}; attack ${r.io.attack}, ${r.io.senders} sender process(es), ${r.io.attackSources} source addresses`,
  );
  out.push(
    `CPUs: drill ${r.io.drillCpus}${r.io.targetCpus ? `, target ${r.io.targetCpus}` : ''}${sharesCpu(r) ? ' — WARNING: they share CPUs; pin them apart (taskset) for a fair measurement' : ''}`,
  );
  const c = r.capacity;
  if (c)
    out.push(
      `capacity: ${c.qps} queries/s${c.measured ? ' (measured: >= 99% answered' : ' (given'}${c.senderLimited ? '; the senders could not go faster: at least this' : ''}${c.measured ? ')' : ')'}`,
    );
  if (c?.measured && c.qps === 0)
    out.push('  the target answered fewer than 99% at every rate tried (is it running?)');
  for (const s of c?.steps ?? [])
    out.push(
      `  ${s.warmup ? 'warm-up, not counted: ' : ''}offered ${s.offered}/s: sent ${s.sent}, answered ${s.answered} (${percent(s.ratio, 2)})`,
    );
  if (r.settle) out.push(settleLine(r.settle));
  for (const ph of r.phases) {
    const a = ph.attack;
    const sent = Object.values(a.sent).reduce((x, y) => x + y, 0);
    const ans = Object.values(a.answered).reduce((x, y) => x + y, 0);
    out.push(`phase ${ph.name} (${ph.seconds} s)${a.rate ? `, attack ${a.rate}/s offered` : ''}`);
    out.push(`  legit all        ${legitCell(ph.legit.all)}`);
    out.push(`  victim names     ${legitCell(ph.legit.byZoneGroup.victim)}`);
    out.push(`  victim typos     ${legitCell(ph.legit.byZoneGroup.victimTypos)}`);
    out.push(`  other zones      ${legitCell(ph.legit.byZoneGroup.others)}`);
    for (const [cls, s] of Object.entries(ph.legit.byClass)) {
      // Beside it, the class without the attacked zone's typos (the names the targets speak of).
      const n = ph.legit.byClassNames?.[cls];
      const names =
        n && n.queries > 0
          ? `; no typos of the attacked zone ${percent(n.success, 2)} p99 ${n.p99Ms.toFixed(0)} ms`
          : '';
      out.push(`  class ${cls.padEnd(10)} ${legitCell(s)}${names}`);
    }
    const zones = ph.legit.byZone
      .map((z, k) => (z.queries > 0 ? `z${k} ${percent(z.success, 2)}` : ''))
      .filter(Boolean)
      .join(', ');
    if (zones) out.push(`  per zone         ${zones}`);
    if (sent > 0) {
      const kinds = Object.keys(a.sent)
        .filter((k) => a.sent[k as keyof typeof a.sent] > 0)
        .map((k) => `${k} ${a.sent[k as keyof typeof a.sent]}/${a.answered[k as keyof typeof a.answered]}`)
        .join(', ');
      out.push(
        `  attack sent ${sent} answered ${ans} (${percent(ans / sent)}): ${kinds}; behind ${a.behind}`,
      );
      if (a.rate)
        out.push(
          `  attack sent ${Math.round(sent / ph.seconds)}/s of ${a.rate}/s offered (${percent(sent / ph.seconds / a.rate)}${c?.qps ? `; ${(sent / ph.seconds / c.qps).toFixed(2)}x the capacity` : ''})`,
        );
      out.push(`  answers by rcode: ${JSON.stringify(a.rcodes)}`);
    }
    if (a.tcp && a.tcp.tried > 0) out.push(`  tcp flood: ${JSON.stringify(a.tcp)}`);
    if (ph.onset) {
      // The attack's first seconds per slice: where first tries are lost before the defences engage.
      out.push(
        `  first ${ph.onset.length * 100} ms${ph.startedAtMs ? ` (from ${new Date(ph.startedAtMs).toISOString().slice(11, 23)}Z)` : ''}: ms, attack/s (senders' reports), legit queries, answered, answered < 800 ms; late or lost per class [of them: the attacked zone's typos, via TCP, UDP]`,
      );
      for (const s of ph.onset) {
        const lost = Object.entries(s.byClass)
          .filter(([, v]) => v[2] < v[0])
          .map(([cls, v]) => `${cls} ${v[0] - v[2]}/${v[0]}`)
          .join(' ');
        const kinds = lost && s.late ? ` [typos ${s.late.typo}, TCP ${s.late.tcp}, UDP ${s.late.udp}]` : '';
        out.push(
          `    +${String(s.fromMs).padStart(4)} ${String(s.attackPerSecond).padStart(7)} ${String(s.queries).padStart(4)} ${percent(s.queries ? s.answered / s.queries : 1).padStart(7)} ${percent(s.queries ? s.inTime / s.queries : 1).padStart(7)}${lost ? `  ${lost}${kinds}` : ''}`,
        );
      }
    }
    if (ph.slow) {
      // Where a p99 over SLOW_MS comes from: the queries over it, per second of the phase.
      const t = ph.slow.reduce(
        (a, s) => ({
          q: a.q + s.queries,
          queued: a.queued + s.udpQueued,
          retried: a.retried + s.udpRetried,
          tcp: a.tcp + s.tcp,
        }),
        { q: 0, queued: 0, retried: 0, tcp: 0 },
      );
      const share = (n: number) => percent(t.q ? n / t.q : 0, 2);
      out.push(
        `  over ${SLOW_MS} ms (typos of the attacked zone aside): ${t.queued + t.retried + t.tcp} of ${t.q} (${share(t.queued + t.retried + t.tcp)}): UDP first try late ${t.queued} (${share(t.queued)}), UDP first try lost ${t.retried} (${share(t.retried)}), via TCP ${t.tcp} (${share(t.tcp)}); per second [late, lost, TCP]: ${ph.slow.map((s) => `${s.fromS}s ${s.udpQueued}/${s.udpRetried}/${s.tcp}`).join(' ')}`,
      );
      // late25: a second's late first tries beside the drill's own late tick are (partly) the
      // drill's wait, not the target's queue.
      out.push(
        `  per second with late first tries or the drill's own clock late (> 50 ms) [worst late first try ms, the drill's worst tick lateness ms, its longest GC pause ms]: ${
          ph.slow
            .filter((s) => (s.udpQueuedMaxMs ?? 0) > 50 || (s.drillLagMs ?? 0) > 50)
            .map((s) => `${s.fromS}s ${s.udpQueuedMaxMs ?? 0}/${s.drillLagMs ?? 0}/${s.drillGcMs ?? 0}`)
            .join(' ') || 'none'
        }`,
      );
    }
    if (ph.target)
      out.push(
        `  target: ${ph.target.cpuCores} cores${ph.target.cpusBusyCores !== undefined ? ` (its CPUs busy ${ph.target.cpusBusyCores} cores, every process counted)` : ''}, RSS peak ${mib(ph.target.rssPeakBytes)}, PSS peak ${mib(ph.target.pssPeakBytes)}${ph.target.alive ? '' : ' (NOT RUNNING)'}`,
      );
    out.push(`  drill: ${ph.drill.cpuCores} cores (resolvers and senders)`);
    if (ph.losses) out.push(...lossLines(ph.losses).map((l) => `  ${l}`));
  }
  return `${out.join('\n')}\n`;
}

/** The phase's "where the lost queries went", as lines of text. */
export function lossLines(l: LossReport): string[] {
  const c = l.resolvers;
  const k = l.kernel;
  const failed = l.failedBy.noAnswer + l.failedBy.wrongAnswer + l.failedBy.truncated;
  const out = [
    `legit tries: UDP ${c.udpTries} sent, ${c.udpAnswers} answered, ${l.unansweredTries} unanswered; TCP ${c.tcpTries} sent, ${c.tcpAnswers} answered; ${c.cacheHits} lookups answered from the resolvers' caches`,
    `legit failed queries: ${failed} (no answer ${l.failedBy.noAnswer}, only wrong answers ${l.failedBy.wrongAnswer}, only truncated ${l.failedBy.truncated}, of them ${l.failedTruncatedLarge ?? 0} for the large TXT); answers wrong ${c.wrongAnswers}${Object.keys(c.wrongRcodes).length ? ` ${JSON.stringify(c.wrongRcodes)}` : ''}, truncated ${c.truncatedAnswers} (${c.truncatedLarge ?? 0} of them the large TXT, by size; the rest the server's choice), BADCOOKIE ${c.badcookieAnswers}, late or duplicate ${c.lateAnswers}`,
  ];
  if (c.tcpConnectMs)
    out.push(
      `legit TCP tries' connections: ${c.tcpConnected} established (handshake < 10 ms ${c.tcpConnectMs[0]}, < 100 ms ${c.tcpConnectMs[1]}, < 400 ms ${c.tcpConnectMs[2]}, later ${c.tcpConnectMs[3]}), ${c.tcpNoConnect} never established within the try, ${c.tcpRefused} refused or reset before, ${c.tcpClosedUnanswered} closed by the server unanswered, ${c.tcpUnanswered} established but unanswered within the try`,
    );
  if (k.readable)
    out.push(
      `lost in the kernel: target sockets dropped ${k.targetSocketDrops} (queue full ~${k.targetQueueFull}, socket filter ~${k.targetFilter}); legit share of datagrams sent ${percent(l.legitShare, 2)} -> ~${l.legitInTargetQueue} legit tries lost in the target's queue, ~${l.legitInTargetFilter} to its filter; drill's resolver sockets dropped ${k.drillResolverDrops} answers, senders' sockets ${k.drillSenderDrops}; host RcvbufErrors ${k.hostRcvbufErrors}, InErrors ${k.hostInErrors}; host TCP listen overflows ${k.hostListenOverflows ?? 0} (accept queue full), listen drops ${k.hostListenDrops ?? 0} (socket filter included), SYN cookies sent ${k.hostSyncookiesSent ?? 0}`,
      `unanswered legit tries the queues do not explain: ~${l.legitAfterRead} (refused by the target's socket filter, or dropped after the read: shield, RRL, overload shedding)`,
    );
  else out.push('lost in the kernel: /proc/net/udp not readable');
  const aq = l.acceptQueue;
  if (aq)
    out.push(
      `target's TCP accept queue (read every 100 ms): mean ${aq.mean}, max ${aq.max}${aq.backlog > 0 ? ` of a backlog of ${aq.backlog}, full in ${percent(aq.fullShare, 1)}` : ''} (${aq.samples} readings)`,
    );
  out.push(
    `drill clock: ${c.ticksLate50ms} of ${c.ticks} ticks late > 50 ms (worst ${c.maxTickLagMs} ms), ${c.timeoutsLate50ms} try timeouts handled > 50 ms late`,
  );
  if (l.targetCounters) {
    const moved = Object.entries(l.targetCounters)
      .map(([n, v]) => `${n.replace(/^switchboard_dns_/, '')} ${v}`)
      .join(', ');
    out.push(`target's counters: ${moved || 'none moved'}`);
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function statsRow(label: string, s: LegitStats | undefined): string {
  if (!s || s.queries === 0) return `<tr><td>${esc(label)}</td><td colspan="6">-</td></tr>`;
  const bad = s.success < 0.99 ? ' class="bad"' : '';
  return `<tr><td>${esc(label)}</td><td${bad}>${percent(s.success, 2)}</td><td>${percent(s.firstTry, 1)}</td><td>${s.p50Ms.toFixed(1)}</td><td>${s.p99Ms.toFixed(0)}</td><td>${percent(s.tcp, 1)}</td><td>${s.queries}</td></tr>`;
}

function phaseHtml(ph: PhaseReport): string {
  const a = ph.attack;
  const rows = [
    statsRow('all', ph.legit.all),
    statsRow('victim zone, existing names', ph.legit.byZoneGroup.victim),
    statsRow('victim zone, typos', ph.legit.byZoneGroup.victimTypos),
    statsRow('other zones', ph.legit.byZoneGroup.others),
    ...Object.entries(ph.legit.byClass).map(([cls, s]) =>
      statsRow(`class ${cls}: ${CLASS_MEANING[cls as ResolverClass] ?? ''}`, s),
    ),
    ...ph.legit.byZone.map((z, k) => statsRow(`zone z${k}.drill`, z)),
  ].join('');
  const kinds = Object.keys(a.sent)
    .map(
      (k) =>
        `<tr><td>${esc(k)}</td><td>${a.sent[k as keyof typeof a.sent]}</td><td>${a.answered[k as keyof typeof a.answered]}</td></tr>`,
    )
    .join('');
  const target = ph.target
    ? `<p>Target: ${ph.target.cpuCores} cores, RSS peak ${mib(ph.target.rssPeakBytes)}, PSS peak ${mib(ph.target.pssPeakBytes)}${ph.target.alive ? '' : ' — <b>not running</b>'}</p>`
    : '';
  return `<h3>${esc(ph.name)} (${ph.seconds} s${a.rate ? `, attack ${a.rate}/s offered` : ''})</h3>
<table><tr><th>legitimate</th><th>success</th><th>first try</th><th>p50 ms</th><th>p99 ms</th><th>TCP</th><th>queries</th></tr>${rows}</table>
${a.rate ? `<table><tr><th>attack kind</th><th>sent</th><th>answered</th></tr>${kinds}</table><p>Answers by RCODE: ${esc(JSON.stringify(a.rcodes))}; senders behind by ${a.behind}</p>` : ''}${a.tcp && a.tcp.tried > 0 ? `<p>TCP floods: ${esc(JSON.stringify(a.tcp))}</p>` : ''}${target}<p>Drill: ${ph.drill.cpuCores} cores (resolvers and senders).</p>${
    ph.losses
      ? `<p><b>Where the lost queries went</b></p><ul>${lossLines(ph.losses)
          .map((l) => `<li>${esc(l)}</li>`)
          .join('')}</ul>`
      : ''
  }`;
}

/** The SVG timeline: legitimate success (left axis, %) and attack sent/answered per second (right axis). */
export function timelineSvg(points: readonly TimelinePoint[]): string {
  const W = 900;
  const H = 260;
  const L = 50;
  const R = 70;
  const T = 15;
  const B = 35;
  if (points.length === 0)
    return '<svg xmlns="http://www.w3.org/2000/svg" width="900" height="40"><text x="10" y="25">no timeline</text></svg>';
  const tMax = Math.max(1, ...points.map((p) => p.t));
  const aMax = Math.max(1, ...points.map((p) => p.attackSent));
  const x = (t: number) => L + ((W - L - R) * t) / tMax;
  const yPct = (v: number) => T + (H - T - B) * (1 - v);
  const yA = (v: number) => T + (H - T - B) * (1 - v / aMax);
  const line = (pts: Array<[number, number]>, color: string, dash = '') =>
    `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`;
  const succ = points
    .filter((p) => p.legitQueries > 0)
    .map((p): [number, number] => [x(p.t), yPct(p.legitAnswered / p.legitQueries)]);
  const sent = points.map((p): [number, number] => [x(p.t), yA(p.attackSent)]);
  const answered = points.map((p): [number, number] => [x(p.t), yA(p.attackAnswered)]);
  // Phase bands.
  const bands: string[] = [];
  let start = 0;
  for (let i = 1; i <= points.length; i++) {
    if (i < points.length && points[i].phase === points[start].phase) continue;
    const x0 = x(start === 0 ? 0 : points[start - 1].t);
    const x1 = x(points[i - 1].t);
    const fill = /wave|attack/.test(points[start].phase) ? '#fde2e2' : '#f2f2f2';
    bands.push(
      `<rect x="${x0.toFixed(1)}" y="${T}" width="${Math.max(0, x1 - x0).toFixed(1)}" height="${H - T - B}" fill="${fill}"/><text x="${(x0 + 3).toFixed(1)}" y="${H - B + 14}" font-size="10">${esc(points[start].phase)}</text>`,
    );
    start = i;
  }
  const ticks = [0, 0.5, 0.9, 1]
    .map(
      (v) =>
        `<text x="${L - 5}" y="${(yPct(v) + 3).toFixed(1)}" font-size="10" text-anchor="end">${v * 100}%</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
${bands.join('')}
<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>
${ticks}<text x="${W - R + 5}" y="${T + 8}" font-size="10">${aMax}/s</text><text x="${W - R + 5}" y="${H - B}" font-size="10">0/s</text>
<text x="${W / 2}" y="${H - 4}" font-size="11" text-anchor="middle">seconds (0-${tMax.toFixed(0)})</text>
${line(sent, '#d62728', '4 3')}${line(answered, '#ff7f0e')}${line(succ, '#1f77b4')}
<text x="${L + 5}" y="${T + 12}" font-size="11" fill="#1f77b4">legitimate success (by start second)</text>
<text x="${L + 240}" y="${T + 12}" font-size="11" fill="#d62728">attack sent/s</text>
<text x="${L + 340}" y="${T + 12}" font-size="11" fill="#ff7f0e">attack answered/s</text>
</svg>`;
}

/** The settle before the first phase, in one line. */
export function settleLine(s: SettleReport): string {
  const cpu = s.targetCpuSeconds === undefined ? '' : `; the target used ${s.targetCpuSeconds} CPU s`;
  const quiet = s.quiet === undefined ? '' : s.quiet ? ', then quiet' : ', NOT quiet when the time ran out';
  return `settle before the first phase (not counted): ${s.ms} ms, ${s.queries} warm-up queries (${s.answered} answered)${quiet}${cpu}`;
}

/** The HTML page. */
export function htmlReport(r: DrillReport): string {
  const c = r.capacity;
  const cap = c
    ? `<p>Capacity: <b>${c.qps} queries/s</b> ${c.measured ? '(measured before the run: the highest offered rate with ≥ 99% answered)' : '(given)'}${c.senderLimited ? ' — the senders could not go faster, so at least this' : ''}</p>`
    : '';
  const pop = Object.entries(r.population.resolvers)
    .map(([k, v]) => `${esc(k)} ${v}`)
    .join(', ');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>drill ${esc(r.scenario)} — ${esc(r.target)}</title>
<style>body{font-family:sans-serif;margin:1.5em;max-width:1000px}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:right}td:first-child,th:first-child{text-align:left}.bad{color:#b00;font-weight:bold}</style>
</head><body>
<h1>switchboard drill: ${esc(r.scenario)}</h1>
<p>Target ${esc(r.target)}${r.label ? ` (${esc(r.label)})` : ''}; started ${esc(r.startedAt)}; ${r.seconds} s; seed ${r.seed}; stopped by ${esc(r.stoppedBy)}.</p>
<p>I/O: legitimate ${esc(r.io.legit)}; attack ${esc(r.io.attack)}, ${r.io.senders} sender process(es), ${r.io.attackSources} source addresses.
Population: resolvers ${pop}; ${r.population.bots} bots${r.population.rotate24s ? ` (their UDP flood rotating over ${r.population.rotate24s} /24s)` : ''}; ${r.population.zones} zones × ${r.population.names} names; victim ${esc(r.population.victim)}.
Packets sent: ${r.packets.legit} legitimate, ${r.packets.attack} attack.
CPUs: drill ${esc(r.io.drillCpus)}${r.io.targetCpus ? `, target ${esc(r.io.targetCpus)}` : ''}${sharesCpu(r) ? ' — <b>they share CPUs</b>' : ''}.</p>
${cap}${r.settle ? `<p>${esc(settleLine(r.settle))}</p>` : ''}
<h2>Timeline</h2>
${timelineSvg(r.timeline)}
<h2>Phases</h2>
<p>A legitimate query succeeds when the right answer arrives within 4 tries / 3.2 s (TCP after TC=1 for resolvers that use it); latency percentiles count failures at 3200 ms.</p>
${r.phases.map(phaseHtml).join('\n')}
</body></html>
`;
}
