/** Environment variables gantry sets for its own processes (all GANTRY_*, known to the unknown-variable check). */

/** The worker's spec (JSON), from the primary. */
export const WORKER_SETTINGS_ENV = 'GANTRY_WORKER_SETTINGS';

/** Set by `gantry stack` for its `gantry serve`: the primary stops once that process is gone. */
export const PARENT_PID_ENV = 'GANTRY_PARENT_PID';
