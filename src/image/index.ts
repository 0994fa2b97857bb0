/**
 * Compiled zone images: the format (format.ts, docs/IMAGE.md), the compiler and the reader.
 * @module
 */
export * from './compile.js';
export * from './format.js';
export * from './reader.js';
export * from './zone-view.js';
