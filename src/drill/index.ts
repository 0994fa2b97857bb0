/**
 * `switchboard drill`: a traffic and attack generator that speaks DNS only, aims at loopback
 * only and stops by itself (docs/DRILL.md). The import surface of the module.
 * @module
 */

export { prioritizeResolvers, sendCeiling } from './flood.js';
export { parseMetricsUrl } from './metrics.js';
export { defaultLonePerWave, LONE_MAX, LONE_PER_WAVE, ROTATE_MAX } from './population.js';
export { htmlReport, lossLines, textReport } from './report.js';
export { type DrillOptions, type DrillReport, runDrill } from './run.js';
export {
  DEFAULT_DYN,
  dyn2016,
  parseScenario,
  readScenarioFile,
  type Scenario,
  waveOfPhases,
} from './scenario.js';
export { checkHardStops, DrillConfigError, isLoopbackAddress, parseTarget } from './target.js';
export { checkShape, writeZoneFiles, zoneText } from './zones.js';
