-- Run by notify.sql in a psql of its own, whose output is filtered to hide server pids.
LISTEN steward_wakeup;
LISTEN steward_cancel;
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'one'), ('test_job', 'two');
-- a task inserted runnable (the default) wakes the daemon, with its job id
INSERT INTO pg_dist_background_task (job_id, command) VALUES (1, 'SELECT 1');
-- a blocked one does not
INSERT INTO pg_dist_background_task (job_id, status, command) VALUES (1, 'blocked', 'SELECT 2');
-- one notification per job, in ascending job id
INSERT INTO pg_dist_background_task (job_id, command) VALUES (2, 'SELECT 3'), (1, 'SELECT 4'), (2, 'SELECT 5');
-- delivered at commit, once per job and transaction
BEGIN;
INSERT INTO pg_dist_background_task (job_id, command) VALUES (1, 'SELECT 6');
INSERT INTO pg_dist_background_task (job_id, command) VALUES (1, 'SELECT 7');
SELECT 'not yet' AS inside;
COMMIT;
-- not at all on rollback
BEGIN;
INSERT INTO pg_dist_background_task (job_id, command) VALUES (2, 'SELECT 8');
ROLLBACK;
-- blocked -> runnable wakes
UPDATE pg_dist_background_task SET status = 'runnable' WHERE task_id = 2;
-- runnable -> running does not
UPDATE pg_dist_background_task SET status = 'running', pid = 2147483647 WHERE task_id = 1;
-- running -> runnable (a retry after back-off) wakes
UPDATE pg_dist_background_task SET status = 'runnable', pid = NULL, retry_count = 1,
       not_before = now() + interval '5 s' WHERE task_id = 1;
-- an earlier not_before of a runnable task wakes; other columns do not
UPDATE pg_dist_background_task SET not_before = NULL WHERE task_id = 1;
UPDATE pg_dist_background_task SET message = 'noted' WHERE task_id = 1;
UPDATE pg_dist_background_task SET status = 'done' WHERE job_id = 1 AND status = 'runnable';
-- a cancel notifies steward_cancel with the job id, once
-- (the pid is no backend: keep the signal's warnings, on stderr, out of the output)
UPDATE pg_dist_background_task SET status = 'running', pid = 2147483647 WHERE task_id = 3;
SET client_min_messages = error;
SELECT citus_job_cancel(2);
RESET client_min_messages;
SELECT task_id, status FROM pg_dist_background_task WHERE job_id = 2 ORDER BY task_id;
-- the daemon recording the end of a cancel (cancelling -> cancelled) does not notify
UPDATE pg_dist_background_task SET status = 'cancelled', pid = NULL WHERE task_id = 3;
-- cancelling an already cancelled job does not either
SELECT citus_job_cancel(2);
-- another session's commit reaches this listener (psql shows it after the next command)
\! psql -X -q -d "$STEWARD_SCENARIO_DB" -c "INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'three'); INSERT INTO pg_dist_background_task (job_id, command) VALUES (3, 'SELECT 9')"
SELECT 'next command' AS after;
