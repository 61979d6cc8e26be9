/**
 * The schema, as numbered migrations: migration N brings a database from user_version N-1 to
 * N. Never edit a migration that has shipped; append a new one.
 *
 * Conventions: times are integers, milliseconds since the epoch (lease staleness is
 * arithmetic on them); `*_json` columns hold JSON text; enumerations carry CHECK constraints,
 * so widening one later means the usual SQLite table rebuild inside its migration.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    state              TEXT NOT NULL
                       CHECK (state IN ('running', 'stopped', 'failed', 'completed', 'interrupted')),
    run_dir            TEXT NOT NULL UNIQUE,
    policy             TEXT NOT NULL,
    args_json          TEXT NOT NULL,
    options_json       TEXT NOT NULL,
    env_json           TEXT NOT NULL,
    model              TEXT,
    ops_json           TEXT,
    error              TEXT,
    final_json         TEXT,
    lease_pid          INTEGER,
    lease_host         TEXT,
    lease_heartbeat_at INTEGER,
    lease_token        TEXT,
    stop_requested_at  INTEGER,
    -- a lease is all four columns or none
    CHECK ((lease_token IS NULL) = (lease_pid IS NULL)
       AND (lease_token IS NULL) = (lease_host IS NULL)
       AND (lease_token IS NULL) = (lease_heartbeat_at IS NULL))
  );
  CREATE INDEX sessions_by_created_at ON sessions (created_at);

  CREATE TABLE trials (
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    spec_json     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    round         TEXT NOT NULL,
    op            TEXT,
    backend       TEXT,
    attention     TEXT,
    prefix        TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, key)
  );

  CREATE TABLE runs (
    id                  INTEGER PRIMARY KEY,
    session_id          TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq                 INTEGER NOT NULL,
    -- the policy step this run answers: how many observations preceded it (replay position)
    step                INTEGER NOT NULL,
    trial_key           TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('warmup', 'measure')),
    warmup_index        INTEGER,
    outcome             TEXT NOT NULL CHECK (outcome IN ('running', 'ok', 'nonzero_exit', 'oom',
                          'engine_failure', 'timeout', 'no_result', 'spawn_error', 'interrupted')),
    exit_code           INTEGER,
    signal              TEXT,
    requests_per_s      REAL,
    total_tokens_per_s  REAL,
    output_tokens_per_s REAL,
    duration_ms         REAL,
    started_at          INTEGER NOT NULL,
    ended_at            INTEGER,
    log_path            TEXT NOT NULL,
    config_path         TEXT NOT NULL,
    pid                 INTEGER,
    failure             TEXT,
    executed_ops_json   TEXT,
    FOREIGN KEY (session_id, trial_key) REFERENCES trials (session_id, key),
    UNIQUE (session_id, seq)
  );
  -- One observation per step; an interrupted run's step is answered again by a later run.
  CREATE UNIQUE INDEX runs_observation_by_step ON runs (session_id, step)
    WHERE outcome NOT IN ('running', 'interrupted');

  CREATE TABLE decisions (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    op         TEXT,
    backend    TEXT,
    verdict    TEXT NOT NULL CHECK (verdict IN ('kept', 'dropped', 'failed', 'inconclusive')),
    estimate   REAL,
    low        REAL,
    high       REAL,
    runs       INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, subject)
  );
  `,
  // Hardware and software found when a session started (GPUs, driver, vLLM/plugin/FlagGems
  // versions), for reports; one row per session, written once.
  `
  CREATE TABLE session_hardware (
    session_id    TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    captured_at   INTEGER NOT NULL,
    hardware_json TEXT NOT NULL
  );
  `,
  // A decision's estimate may come from the model alone (an operator only measured in groups).
  `
  ALTER TABLE decisions ADD COLUMN basis TEXT NOT NULL DEFAULT 'runs' CHECK (basis IN ('runs', 'model'));
  `,
  // 4: the session state machine (session-state.ts): 'created' until a worker takes it, 'stopping'
  // while a stop request waits for the worker; the never-written 'interrupted' folds into
  // 'stopped'. A run that never started (spawn_error) is no observation, so its step may be
  // answered again by a later run.
  `
  CREATE TABLE sessions_v2 (
    id                 TEXT PRIMARY KEY,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    state              TEXT NOT NULL
                       CHECK (state IN ('created', 'running', 'stopping', 'stopped', 'completed', 'failed')),
    run_dir            TEXT NOT NULL UNIQUE,
    policy             TEXT NOT NULL,
    args_json          TEXT NOT NULL,
    options_json       TEXT NOT NULL,
    env_json           TEXT NOT NULL,
    model              TEXT,
    ops_json           TEXT,
    error              TEXT,
    final_json         TEXT,
    lease_pid          INTEGER,
    lease_host         TEXT,
    lease_heartbeat_at INTEGER,
    lease_token        TEXT,
    stop_requested_at  INTEGER,
    CHECK ((lease_token IS NULL) = (lease_pid IS NULL)
       AND (lease_token IS NULL) = (lease_host IS NULL)
       AND (lease_token IS NULL) = (lease_heartbeat_at IS NULL))
  );
  INSERT INTO sessions_v2
    SELECT id, created_at, updated_at, CASE state WHEN 'interrupted' THEN 'stopped' ELSE state END,
           run_dir, policy, args_json, options_json, env_json, model, ops_json, error, final_json,
           lease_pid, lease_host, lease_heartbeat_at, lease_token, stop_requested_at
    FROM sessions;
  DROP TABLE sessions;
  ALTER TABLE sessions_v2 RENAME TO sessions;
  CREATE INDEX sessions_by_created_at ON sessions (created_at);

  DROP INDEX runs_observation_by_step;
  CREATE UNIQUE INDEX runs_observation_by_step ON runs (session_id, step)
    WHERE outcome NOT IN ('running', 'interrupted', 'spawn_error');
  `,
  // 5: named metrics per run (the three throughput columns move into run_metrics), and the
  // run's handle as its runner names it (a pid for the local runner, a job id for SLURM).
  `
  CREATE TABLE run_metrics (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (run_id, name)
  ) WITHOUT ROWID;
  INSERT INTO run_metrics (run_id, name, value)
    SELECT id, 'total_tokens_per_s', total_tokens_per_s FROM runs WHERE total_tokens_per_s IS NOT NULL;
  INSERT INTO run_metrics (run_id, name, value)
    SELECT id, 'output_tokens_per_s', output_tokens_per_s FROM runs WHERE output_tokens_per_s IS NOT NULL AND total_tokens_per_s IS NOT NULL;
  INSERT INTO run_metrics (run_id, name, value)
    SELECT id, 'requests_per_s', requests_per_s FROM runs WHERE requests_per_s IS NOT NULL AND total_tokens_per_s IS NOT NULL;
  ALTER TABLE runs DROP COLUMN requests_per_s;
  ALTER TABLE runs DROP COLUMN total_tokens_per_s;
  ALTER TABLE runs DROP COLUMN output_tokens_per_s;
  ALTER TABLE runs ADD COLUMN runner TEXT;
  ALTER TABLE runs ADD COLUMN handle TEXT;
  UPDATE runs SET runner = 'local', handle = CAST(pid AS TEXT) WHERE pid IS NOT NULL;
  `,
  // 6: the slot (GPU group, or job slot) each run ran on, for per-slot figures; runs stored
  // before it keep NULL (a session of release 0.1.0 ran on one slot, but its rows do not say so).
  `
  ALTER TABLE runs ADD COLUMN slot INTEGER CHECK (slot >= 0);
  `,
  // 7: a session that retries chosen failure classes of a finished one (\`resume --retry-failures\`)
  // reuses its other runs: the link to that session, and per run the run it was reused from
  // (NULL: this session executed it). Older databases have no such sessions.
  `
  CREATE TABLE session_reuse (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    parent_id  TEXT NOT NULL REFERENCES sessions (id),
    retry_json TEXT NOT NULL
  );
  ALTER TABLE runs ADD COLUMN reused_from INTEGER REFERENCES runs (id);
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
