/** What a latency grid study measures and writes unless told otherwise. */

/** The sweep's results table in its run directory, unless a job file's `csv_path` names another. */
export const SWEEP_CSV = 'sweep.csv';

/** A grid's default objective: the mean latency, smaller better. */
export const SWEEP_OBJECTIVE = 'latency_avg_s';
