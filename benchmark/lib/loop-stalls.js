'use strict';
/**
 * Event-loop stalls of a benchmark server process, for the harness's `loop` command
 * (lib/server-harness.js; the cluster scenario reads it around every burst): a timer every
 * STEP_MS, unref'd, notes how much later than due each tick ran; `take()` returns the longest
 * such delay since the previous `take()` (counting the tick in progress) and starts a new
 * window. The timer runs only once `start()` was called, so scenarios that never ask pay
 * nothing.
 *
 * Not `perf_hooks.monitorEventLoopDelay`: after its `reset()` the first interval is not
 * recorded (Node 20), so a stall right after a reset, the burst's first publish, would be
 * missed.
 * @module benchmark/lib/loop-stalls
 */

/** The timer's period: stalls are resolved to about this. */
const STEP_MS = 5;

function loopStalls() {
  /** @type {NodeJS.Timeout | null} */
  let timer = null;
  let last = 0;
  let worst = 0;
  return {
    /** Starts the timer (idempotent). */
    start() {
      if (timer) return;
      last = performance.now();
      worst = 0;
      timer = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last - STEP_MS);
        last = now;
      }, STEP_MS);
      timer.unref();
    },
    /** The longest stall (ms) since the last take, then a new window. */
    take() {
      const now = performance.now();
      const stall = Math.max(worst, now - last - STEP_MS, 0);
      worst = 0;
      return stall;
    },
  };
}

module.exports = { loopStalls, STEP_MS };
