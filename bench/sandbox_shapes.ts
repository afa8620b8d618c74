/**
 * The benchmark shapes of `shapes.ts` as a flow module, for the sandboxed runs of
 * `sandbox_bench.ts`: a flow isolate loads this file and picks a flow by its export name.
 *
 * @module
 */

import { chain, fanOut, layered } from "./shapes.ts";

const N = 10_000;

/** A chain of 10,000 no-op tasks. */
export const chainFlow = chain(N);
/** 1 → 9,998 → 1. */
export const fanFlow = fanOut(N - 2);
/** 100 layers of 100, 3 dependencies each. */
export const layersFlow = layered(100, 100);
