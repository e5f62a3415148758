-- Background-job catalog, byte-compatible with Citus's (citus-reference §1):
-- same names, column order, enum label order, defaults, constraints and index names.

CREATE SCHEMA IF NOT EXISTS steward;

CREATE TYPE steward.citus_job_status AS ENUM
  ('scheduled', 'running', 'finished', 'cancelling', 'cancelled', 'failing', 'failed');

CREATE TYPE steward.citus_task_status AS ENUM
  ('blocked', 'runnable', 'running', 'done', 'cancelling', 'error', 'unscheduled', 'cancelled');

CREATE TABLE steward.pg_dist_background_job (
  job_id bigserial NOT NULL,
  state steward.citus_job_status NOT NULL DEFAULT 'scheduled',
  job_type name NOT NULL,
  description text NOT NULL,
  started_at timestamptz,
  finished_at timestamptz,
  CONSTRAINT pg_dist_background_job_pkey PRIMARY KEY (job_id)
);

CREATE TABLE steward.pg_dist_background_task (
  job_id bigint NOT NULL,
  task_id bigserial NOT NULL,
  owner regrole NOT NULL DEFAULT CURRENT_USER::regrole,
  pid integer,
  status steward.citus_task_status NOT NULL DEFAULT 'runnable',
  command text NOT NULL,
  retry_count integer,
  not_before timestamptz,
  message text NOT NULL DEFAULT '',
  nodes_involved integer[] DEFAULT NULL,
  CONSTRAINT pg_dist_background_task_pkey PRIMARY KEY (task_id),
  CONSTRAINT pg_dist_background_task_job_id_fkey
    FOREIGN KEY (job_id) REFERENCES steward.pg_dist_background_job (job_id),
  CONSTRAINT pg_dist_background_task_job_id_task_id UNIQUE (job_id, task_id)
);

CREATE INDEX pg_dist_background_task_status_task_id_index
  ON steward.pg_dist_background_task USING btree (status, task_id);

CREATE TABLE steward.pg_dist_background_task_depend (
  job_id bigint NOT NULL,
  task_id bigint NOT NULL,
  depends_on bigint NOT NULL,
  PRIMARY KEY (job_id, task_id, depends_on),
  CONSTRAINT pg_dist_background_task_depend_job_id_fkey
    FOREIGN KEY (job_id) REFERENCES steward.pg_dist_background_job (job_id) ON DELETE CASCADE,
  FOREIGN KEY (job_id, task_id)
    REFERENCES steward.pg_dist_background_task (job_id, task_id) ON DELETE CASCADE,
  FOREIGN KEY (job_id, depends_on)
    REFERENCES steward.pg_dist_background_task (job_id, task_id) ON DELETE CASCADE
);

CREATE INDEX pg_dist_background_task_depend_task_id
  ON steward.pg_dist_background_task_depend USING btree (job_id, task_id);
CREATE INDEX pg_dist_background_task_depend_depends_on
  ON steward.pg_dist_background_task_depend USING btree (job_id, depends_on);

GRANT USAGE ON SCHEMA steward TO PUBLIC;
GRANT SELECT ON steward.pg_dist_background_job, steward.pg_dist_background_task,
                steward.pg_dist_background_task_depend TO PUBLIC;
GRANT SELECT ON SEQUENCE steward.pg_dist_background_job_job_id_seq,
                         steward.pg_dist_background_task_task_id_seq TO PUBLIC;
