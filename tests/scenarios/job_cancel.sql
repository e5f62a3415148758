-- citus_job_cancel: unfinished tasks become cancelled, running ones with a pid cancelling
-- (and their backend gets a cancel), the job state is recomputed.
--
-- Permissions are checked like pg_cancel_backend, against the current user (SET ROLE
-- counts). citus_job_cancel runs with the caller's rights and hands current_user to the
-- SECURITY DEFINER steward.job_cancel_as(jobid, caller), which refuses a caller that the
-- session user could not become with SET ROLE: naming another role there gains nothing.
\set SHOW_CONTEXT never
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'mixed');
INSERT INTO pg_dist_background_task (job_id, status, command) VALUES
  (1, 'done', 'SELECT 1'),          -- 1: terminal, untouched
  (1, 'running', 'SELECT 2'),       -- 2: running with the pid of a live backend
  (1, 'running', 'SELECT 3'),       -- 3: running without a pid yet (deviation 2)
  (1, 'runnable', 'SELECT 4'),      -- 4
  (1, 'blocked', 'SELECT 5'),       -- 5
  (1, 'error', 'SELECT 6'),         -- 6: terminal, untouched
  (1, 'cancelling', 'SELECT 7');    -- 7: left over from an earlier cancel
-- a backend we control stands in for the executor of task 2
\! psql -X -q -d "$STEWARD_SCENARIO_DB" -c "SET application_name = 'job_cancel_victim'" -c "SELECT pg_sleep(60)" >/tmp/job_cancel_victim.$STEWARD_SCENARIO_DB.out 2>&1 &
DO $$
DECLARE
  victim integer;
BEGIN
  LOOP
    SELECT pid INTO victim FROM pg_stat_get_activity(NULL) a
     WHERE a.application_name = 'job_cancel_victim' AND a.state = 'active'
       AND a.datid = (SELECT oid FROM pg_database WHERE datname = current_database());
    EXIT WHEN FOUND;
    PERFORM pg_sleep(0.01);
    PERFORM pg_stat_clear_snapshot();
  END LOOP;
  UPDATE pg_dist_background_task SET pid = victim WHERE task_id = 2;
END
$$;
SELECT citus_job_cancel(1);
SELECT task_id, status, pid IS NOT NULL AS has_pid FROM pg_dist_background_task ORDER BY task_id;
SELECT state, started_at IS NULL AS never_started, finished_at IS NULL AS unfinished FROM pg_dist_background_job;
-- the stand-in backend's statement was cancelled
DO $$
BEGIN
  WHILE EXISTS (SELECT FROM pg_stat_get_activity(NULL) a WHERE a.application_name = 'job_cancel_victim') LOOP
    PERFORM pg_sleep(0.01);
    PERFORM pg_stat_clear_snapshot();
  END LOOP;
END
$$;
\! cat /tmp/job_cancel_victim.$STEWARD_SCENARIO_DB.out; rm -f /tmp/job_cancel_victim.$STEWARD_SCENARIO_DB.out
-- the daemon finishes the cancel: cancelling -> cancelled
UPDATE pg_dist_background_task SET status = 'cancelled', pid = NULL WHERE task_id = 2;
SELECT steward.update_job_state(1);
SELECT state, finished_at IS NOT NULL AS finished FROM pg_dist_background_job;
-- cancelling a terminal job again changes nothing
SELECT citus_job_cancel(1);
SELECT task_id, status FROM pg_dist_background_task ORDER BY task_id;

-- a pid that is no backend: the signal fails with a WARNING, the cancel still happens
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'stale pid');
INSERT INTO pg_dist_background_task (job_id, status, pid, command) VALUES (2, 'running', 2147483647, 'SELECT 1');
SELECT citus_job_cancel(2);
SELECT task_id, status FROM pg_dist_background_task WHERE job_id = 2;
SELECT state FROM pg_dist_background_job WHERE job_id = 2;

-- a job without tasks is finished by the cancel; a job that does not exist is an error
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'empty');
SELECT citus_job_cancel(3);
SELECT state, finished_at IS NOT NULL AS finished FROM pg_dist_background_job WHERE job_id = 3;
SELECT citus_job_cancel(42);
SELECT citus_job_cancel(NULL);
-- a job whose tasks are all done is just recomputed
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'done');
INSERT INTO pg_dist_background_task (job_id, status, command) VALUES (4, 'done', 'SELECT 1');
SELECT citus_job_cancel(4);
SELECT state FROM pg_dist_background_job WHERE job_id = 4;

-- permissions
CREATE ROLE job_cancel_owner;
CREATE ROLE job_cancel_other;
CREATE ROLE job_cancel_owner_member IN ROLE job_cancel_owner;
CREATE ROLE job_cancel_signaller IN ROLE pg_signal_backend;
INSERT INTO pg_dist_background_job (job_type, description)
  SELECT 'test_job', 'owned by job_cancel_owner' FROM generate_series(1, 4);
INSERT INTO pg_dist_background_task (job_id, owner, status, command)
  SELECT job_id, 'job_cancel_owner', 'runnable', 'SELECT 1' FROM pg_dist_background_job WHERE job_id BETWEEN 5 AND 8;
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'owned by a superuser');
INSERT INTO pg_dist_background_task (job_id, status, command) VALUES (9, 'runnable', 'SELECT 1');
-- a job mixing both owners: the check covers every unfinished task, all or nothing
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'mixed owners');
INSERT INTO pg_dist_background_task (job_id, owner, status, command)
  VALUES (10, 'job_cancel_owner', 'runnable', 'SELECT 1'), (10, 'postgres', 'blocked', 'SELECT 2');

SET SESSION AUTHORIZATION job_cancel_other;
SELECT citus_job_cancel(5);
SELECT citus_job_cancel(9);
-- naming another role as the caller does not help
SELECT steward.job_cancel_as(5, 'job_cancel_owner');
SELECT steward.job_cancel_as(5, 'postgres');
-- nor does writing the catalog directly
UPDATE pg_dist_background_task SET status = 'cancelled' WHERE job_id = 5;
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION job_cancel_owner;
SELECT citus_job_cancel(9);
SELECT citus_job_cancel(10);
SELECT citus_job_cancel(5);
-- naming oneself is the same as citus_job_cancel
SELECT steward.job_cancel_as(6, 'job_cancel_owner');
RESET SESSION AUTHORIZATION;

-- a member of the owner role
SET SESSION AUTHORIZATION job_cancel_owner_member;
SELECT citus_job_cancel(7);
RESET SESSION AUTHORIZATION;

-- a member of pg_signal_backend, but still not of superuser tasks
SET SESSION AUTHORIZATION job_cancel_signaller;
SELECT citus_job_cancel(8);
SELECT citus_job_cancel(9);
RESET SESSION AUTHORIZATION;

-- the check follows the current user, as pg_cancel_backend does: a superuser session
-- that SET ROLE to another role has that role's rights only ...
SET ROLE job_cancel_other;
SELECT citus_job_cancel(10);
RESET ROLE;
-- ... and may name any role, since it could become any role
SELECT steward.job_cancel_as(10, 'job_cancel_other');
SELECT citus_job_cancel(10);

SELECT job_id, task_id, owner, status FROM pg_dist_background_task WHERE job_id >= 5 ORDER BY task_id;
SELECT job_id, description, state FROM pg_dist_background_job WHERE job_id >= 5 ORDER BY job_id;

DROP ROLE job_cancel_owner_member, job_cancel_signaller, job_cancel_other;
TRUNCATE pg_dist_background_job CASCADE;
DROP ROLE job_cancel_owner;
