-- The catalog follows Citus's: column defaults, enum label order, constraint and index
-- names; a job starts `scheduled` and is only changed by derivation.
\set SHOW_CONTEXT never
SELECT enum_range(NULL::citus_job_status);
SELECT enum_range(NULL::citus_task_status);
-- enum order is declaration order (ORDER BY state relies on it)
SELECT s FROM unnest(enum_range(NULL::citus_task_status)) s ORDER BY s DESC LIMIT 3;

-- columns, types, nullability and defaults
SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS "default"
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'steward'::regnamespace
   AND c.relname IN ('pg_dist_background_job', 'pg_dist_background_task', 'pg_dist_background_task_depend')
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum;

-- constraints and indexes by name
SELECT conrelid::regclass AS "table", conname, contype, pg_get_constraintdef(oid) AS definition
  FROM pg_constraint
 WHERE connamespace = 'steward'::regnamespace
   AND conrelid::regclass::text LIKE '%pg_dist_background%'
 ORDER BY 1, 2;
SELECT tablename, indexname, indexdef
  FROM pg_indexes
 WHERE schemaname = 'steward' AND tablename LIKE 'pg_dist_background%'
 ORDER BY 1, 2;

-- the public API, callable by everyone
SELECT p.oid::regprocedure AS function, pg_get_function_result(p.oid) AS result,
       p.proisstrict AS strict, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
  FROM pg_proc p
 WHERE p.pronamespace = 'steward'::regnamespace AND (p.proname LIKE 'citus\_job\_%' OR p.proname LIKE 'citus\_task\_%')
 ORDER BY p.proname;
SELECT pg_get_function_arguments('citus_job_wait'::regproc) AS job_wait_args,
       pg_get_function_arguments('citus_job_status'::regproc) AS job_status_args;

-- inserting with Citus's defaults
INSERT INTO pg_dist_background_job (job_type, description)
  VALUES ('test_job', 'a job made of defaults') RETURNING job_id, state, job_type, description, started_at, finished_at;
INSERT INTO pg_dist_background_task (job_id, command)
  VALUES (1, $job$ SELECT 1; $job$)
  RETURNING job_id, task_id, owner, pid, status, command, retry_count, not_before, message, nodes_involved;
INSERT INTO pg_dist_background_task (job_id, status, command, nodes_involved)
  VALUES (1, 'blocked', 'SELECT 2', '{1,2}') RETURNING task_id, status, nodes_involved;
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (1, 2, 1);
-- the owner defaults to the inserting role
SELECT task_id, owner = current_user::regrole AS owner_is_current_user FROM pg_dist_background_task ORDER BY task_id;

-- a new job stays `scheduled` until its tasks are touched; derivation then takes over
SELECT job_id, state FROM pg_dist_background_job;
SELECT steward.derived_job_state(1);
UPDATE pg_dist_background_task SET status = 'running' WHERE task_id = 1;
SELECT steward.update_job_state(1);
SELECT state, started_at IS NOT NULL AS started, finished_at IS NOT NULL AS finished FROM pg_dist_background_job;
UPDATE pg_dist_background_task SET status = 'done' WHERE task_id = 1;
UPDATE pg_dist_background_task SET status = 'runnable' WHERE task_id = 2;
SELECT steward.update_job_state(1);
UPDATE pg_dist_background_task SET status = 'error' WHERE task_id = 2;
SELECT steward.update_job_state(1);
SELECT state, started_at IS NOT NULL AS started, finished_at IS NOT NULL AS finished FROM pg_dist_background_job;

-- the derivation order of citus-reference §2.2, on one job per combination
CREATE TEMP TABLE combos (name text, statuses citus_task_status[]);
INSERT INTO combos VALUES
  ('no tasks', '{}'),
  ('all done', '{done,done}'),
  ('cancelling wins', '{cancelling,cancelled,error,running}'),
  ('cancelled wins', '{cancelled,done,error,runnable}'),
  ('failing', '{error,blocked}'),
  ('failed', '{unscheduled,done,error}'),
  ('running', '{done,runnable}'),
  ('only blocked', '{blocked}');
DO $$
DECLARE
  c record;
  j bigint;
  s citus_task_status;
BEGIN
  FOR c IN SELECT * FROM combos LOOP
    INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', c.name)
      RETURNING job_id INTO j;
    FOREACH s IN ARRAY c.statuses LOOP
      INSERT INTO pg_dist_background_task (job_id, status, command) VALUES (j, s, 'SELECT 1');
    END LOOP;
    PERFORM steward.update_job_state(j);
  END LOOP;
END
$$;
SELECT description, state, started_at IS NOT NULL AS started, finished_at IS NOT NULL AS finished
  FROM pg_dist_background_job WHERE job_id > 1 ORDER BY job_id;

-- update_job_state is not for everyone; the catalog is readable by everyone
CREATE ROLE job_defaults_user;
SET ROLE job_defaults_user;
SELECT steward.update_job_state(1);
SELECT count(*) FROM pg_dist_background_job;
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'not allowed');
RESET ROLE;
SELECT steward.update_job_state(12345);
DROP ROLE job_defaults_user;
