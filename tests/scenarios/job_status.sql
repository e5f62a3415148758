-- citus_job_list / citus_job_status: rows in job_id order, details JSON with the counts of
-- the states present and the errored or retried tasks.
\set SHOW_CONTEXT never
INSERT INTO pg_dist_background_job (job_type, description) VALUES
  ('test_job', 'all done'), ('rebalance', 'with failures'), ('test_job', 'no tasks');
INSERT INTO pg_dist_background_task (job_id, status, command) VALUES
  (1, 'done', 'SELECT 1'), (1, 'done', 'SELECT 2');
INSERT INTO pg_dist_background_task (job_id, status, command, retry_count, message) VALUES
  (2, 'done', 'SELECT 3', 1, ''),
  (2, 'error', 'SELECT 4', 32, 'ERROR:  division by zero'),
  (2, 'runnable', 'SELECT 5', 2, 'ERROR:  relation "t" does not exist'),
  (2, 'runnable', 'SELECT 6', NULL, ''),
  (2, 'unscheduled', 'SELECT 7', NULL, ''),
  (2, 'running', 'SELECT 8', NULL, '');
UPDATE pg_dist_background_task SET pid = 2147483647 WHERE task_id = 8;
SELECT steward.update_job_state(1), steward.update_job_state(2);

SELECT job_id, state, job_type, description, started_at IS NOT NULL AS started,
       finished_at IS NOT NULL AS finished
  FROM citus_job_list();

SELECT job_id, state, job_type, description, details FROM citus_job_status(1);
SELECT details FROM citus_job_status(1, raw => true);
-- a running task is only listed while it has shard-move progress; a retried task
-- (runnable with retry_count > 0) and an errored one are
SELECT state, jsonb_pretty(details) FROM citus_job_status(2);
SELECT details = (SELECT details FROM citus_job_status(2, true)) AS raw_same_without_moves
  FROM citus_job_status(2, false);
-- a job without tasks: task_state_counts is JSON null
SELECT job_id, state, details FROM citus_job_status(3);
-- no such job: no row; NULL arguments: no row (STRICT)
SELECT count(*) FROM citus_job_status(42);
SELECT count(*) FROM citus_job_status(NULL::bigint);
SELECT count(*) FROM citus_job_status(1, NULL);

-- readable by everyone, unfiltered
CREATE ROLE job_status_user;
SET ROLE job_status_user;
SELECT job_id, state FROM citus_job_list();
SELECT details->'task_state_counts' FROM citus_job_status(2);
RESET ROLE;
DROP ROLE job_status_user;

-- running shard moves: with progress for task 8's pid (stubbed here; the cluster
-- migrations feed this function from get_rebalance_progress()), task 8 is listed first,
-- sizes and lag pretty-printed unless raw
CREATE OR REPLACE FUNCTION steward.rebalance_progress_by_session()
  RETURNS TABLE (sessionid integer, source_shard_size bigint, target_shard_size bigint,
                 status text, sourcename text, sourceport integer, targetname text,
                 targetport integer, source_lsn pg_lsn, target_lsn pg_lsn)
  LANGUAGE sql STABLE
  AS $$ SELECT 2147483647, 3145728::bigint, 1048576::bigint, 'Copying Data', 'worker-1', 5432,
               'worker-2', 5433, '0/3000000'::pg_lsn, '0/2F00000'::pg_lsn $$;
SELECT jsonb_pretty(details->'tasks'->0) FROM citus_job_status(2);
SELECT details->'tasks'->0->'size' AS size, details->'tasks'->0->'LSN' AS lsn FROM citus_job_status(2, raw => true);
SELECT jsonb_array_length(details->'tasks') FROM citus_job_status(2);
