-- citus_job_wait / citus_task_wait: return at once on reached states, raise Citus's errors,
-- return for a job without tasks (deviation 6), and see other sessions' commits while
-- polling (every 50 ms).
\set SHOW_CONTEXT never
INSERT INTO pg_dist_background_job (job_type, description, state) VALUES
  ('test_job', 'finished', 'finished'),
  ('test_job', 'failed', 'failed'),
  ('test_job', 'cancelled', 'cancelled');
INSERT INTO pg_dist_background_task (job_id, status, command) VALUES
  (1, 'done', 'SELECT 1'), (2, 'error', 'SELECT 2'), (3, 'cancelled', 'SELECT 3');

-- terminal jobs: without a desired state every terminal state returns
SELECT citus_job_wait(1);
SELECT citus_job_wait(2);
SELECT citus_job_wait(3);
SELECT citus_job_wait(1, desired_status => 'finished');
SELECT citus_job_wait(2, desired_status => 'finished');
SELECT citus_job_wait(3, desired_status => 'running');
SELECT citus_job_wait(42);
SELECT citus_job_wait(NULL);
-- tasks
SELECT citus_task_wait(1);
SELECT citus_task_wait(2);
SELECT citus_task_wait(1, desired_status => 'done');
SELECT citus_task_wait(2, desired_status => 'done');
SELECT citus_task_wait(3, desired_status => 'running');
SELECT citus_task_wait(42);

-- a non-terminal job returns at once when it is in the desired state
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'scheduled');
INSERT INTO pg_dist_background_task (job_id, command) VALUES (4, 'SELECT 4');
SELECT citus_job_wait(4, desired_status => 'scheduled');
SELECT citus_task_wait(4, desired_status => 'runnable');

-- a job without tasks is finished, so waiting on it returns (Citus would wait forever)
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'no tasks');
SELECT citus_job_wait(5);
SELECT state, finished_at IS NOT NULL AS finished FROM pg_dist_background_job WHERE job_id = 5;
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'no tasks either');
SELECT citus_job_wait(6, desired_status => 'running');
-- in a read-only transaction it is treated as finished without being recorded
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'no tasks, read only');
BEGIN READ ONLY;
SELECT citus_job_wait(7);
COMMIT;
SELECT state FROM pg_dist_background_job WHERE job_id = 7;

-- waiting is interruptible and changes nothing
SET statement_timeout = '200ms';
SELECT citus_job_wait(4);
SELECT citus_task_wait(4, desired_status => 'done');
RESET statement_timeout;
SELECT state FROM pg_dist_background_job WHERE job_id = 4;

-- another session finishes the job after a while; the wait sees its commit
\! psql -X -q -d "$STEWARD_SCENARIO_DB" -c "SELECT pg_sleep(0.5)" -c "UPDATE pg_dist_background_task SET status = 'done' WHERE task_id = 4; SELECT steward.update_job_state(4)" >/dev/null 2>&1 &
SELECT clock_timestamp() AS wait_start \gset
SELECT citus_job_wait(4, desired_status => 'finished');
SELECT clock_timestamp() - :'wait_start' >= interval '0.3 s' AS waited;
SELECT state FROM pg_dist_background_job WHERE job_id = 4;

-- also inside a READ COMMITTED transaction block, and for a task
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'in a transaction');
INSERT INTO pg_dist_background_task (job_id, command) VALUES (8, 'SELECT 8');
BEGIN;
SELECT state FROM pg_dist_background_job WHERE job_id = 8;
\! psql -X -q -d "$STEWARD_SCENARIO_DB" -c "SELECT pg_sleep(0.3)" -c "UPDATE pg_dist_background_task SET status = 'running' WHERE task_id = 5" -c "SELECT pg_sleep(0.6)" -c "UPDATE pg_dist_background_task SET status = 'error' WHERE task_id = 5; SELECT steward.update_job_state(8)" >/dev/null 2>&1 &
SELECT citus_task_wait(5, desired_status => 'running');
SELECT citus_job_wait(8);
SELECT state FROM pg_dist_background_job WHERE job_id = 8;
COMMIT;

-- under REPEATABLE READ the snapshot never changes: an error instead of waiting forever,
-- while an answer already visible still returns
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'repeatable read');
INSERT INTO pg_dist_background_task (job_id, command) VALUES (9, 'SELECT 9');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT citus_job_wait(1);
SELECT citus_job_wait(9);
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT citus_task_wait(6);
ROLLBACK;

-- everybody may wait
CREATE ROLE job_wait_user;
SET ROLE job_wait_user;
SELECT citus_job_wait(1);
SELECT citus_task_wait(1);
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'not allowed');
RESET ROLE;
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'no tasks, waited on by a user');
SET ROLE job_wait_user;
SELECT citus_job_wait(10, desired_status => 'finished');
RESET ROLE;
SELECT state FROM pg_dist_background_job WHERE job_id = 10;
DROP ROLE job_wait_user;
