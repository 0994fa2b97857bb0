/**
 * A seeded pseudo-random generator for tests and benchmarks, so a failing run replays: the
 * drill's own (src/drill/random.ts, mulberry32), one implementation for both.
 * @module
 */
export { seeded as seededRandom } from '../../src/drill/random.js';
