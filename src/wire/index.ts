/**
 * The wire module's import surface: names, protocol constants, errors, the message model,
 * RDATA layouts, the codec and EDNS option helpers. Other modules import from here only.
 * @module
 */
export * from './constants.js';
export * from './decode.js';
export * from './edns.js';
export * from './encode.js';
export * from './errors.js';
export * from './message.js';
export * from './name.js';
export * from './rdata.js';
