/**
 * The zone module: master-file parsing and printing, semantic checks, loading, and the
 * in-memory Zone model. The only import surface of src/zone for other modules.
 * @module
 */
export * from './check.js';
export * from './column-zone.js';
export * from './generate.js';
export * from './lexer.js';
export * from './load.js';
export { EarlyParse } from './parse-thread.js';
export * from './parser.js';
export * from './printer.js';
export * from './zone.js';
