/**
 * Test kit of the oversync server suite: database backends, an in-process test server and
 * helpers for whole G2 flows.
 *
 * @module
 */

export * from './backends.js';
export * from './contracts.js';
export * from './driver-conformance.js';
export * from './harness.js';
export * from './ids.js';
export * from './sse.js';
