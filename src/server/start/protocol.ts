/**
 * The messages between a primary and its DNS workers: defined in shared/dns-protocol.ts, since
 * `serve --images on` runs the same DNS workers as `start`.
 * @module
 */
export * from '../shared/dns-protocol.js';
