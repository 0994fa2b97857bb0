/**
 * The answer module's import surface: the catalog of served zones, the answer algorithm,
 * the responder (query bytes → response bytes) and its response cache.
 * @module
 */
export * from './answer.js';
export * from './catalog.js';
export * from './respond.js';
export * from './response-cache.js';
