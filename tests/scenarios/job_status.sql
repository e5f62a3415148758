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
