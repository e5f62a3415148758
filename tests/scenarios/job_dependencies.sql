-- Dependencies (DESIGN deviation 4): a self dependency, a dependency on another job's task
-- and a dependency that would close a cycle are rejected when inserted or updated.
\set SHOW_CONTEXT never
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('test_job', 'first'), ('test_job', 'second');
INSERT INTO pg_dist_background_task (job_id, status, command)
  SELECT 1, 'blocked', format('SELECT %s', i) FROM generate_series(1, 5) i;
INSERT INTO pg_dist_background_task (job_id, status, command)
  SELECT 2, 'blocked', format('SELECT %s', i) FROM generate_series(6, 7) i;
SELECT job_id, task_id FROM pg_dist_background_task ORDER BY task_id;

-- an accepted DAG in job 1: 5 -> {3, 4}, 3 -> 2, 4 -> 2, 2 -> 1 (a diamond plus a chain)
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on)
  VALUES (1, 5, 3), (1, 5, 4), (1, 3, 2), (1, 4, 2), (1, 2, 1);
-- a task may depend on tasks reachable along several paths
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (1, 5, 1);
-- job 2: 7 -> 6
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (2, 7, 6);

-- self dependency
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (1, 3, 3);
-- dependency on a task of another job, either direction
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (1, 5, 6);
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (2, 7, 1);
-- a row naming the wrong job
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (2, 5, 4);
-- cycles: direct, and through the diamond
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (1, 1, 2);
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (1, 1, 5);
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (2, 6, 7);
-- a cycle inside one multi-row statement: the second row sees the first
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (1, 4, 3), (1, 3, 4);
-- updates are checked too: turning 2 -> 1 into 2 -> 5 would close 5 -> 3 -> 2 -> 5
UPDATE pg_dist_background_task_depend SET depends_on = 5 WHERE job_id = 1 AND task_id = 2;
UPDATE pg_dist_background_task_depend SET depends_on = task_id WHERE job_id = 2;
-- while replacing an edge by itself, or by one in the same direction, is fine
UPDATE pg_dist_background_task_depend SET depends_on = 1 WHERE job_id = 1 AND task_id = 2;
UPDATE pg_dist_background_task_depend SET depends_on = 1 WHERE job_id = 1 AND task_id = 4;
-- tasks that do not exist are left to the foreign keys; duplicates to the primary key
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (1, 5, 99);
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (1, 5, 3);

SELECT job_id, task_id, depends_on FROM pg_dist_background_task_depend ORDER BY 1, 2, 3;

-- concurrent writers of one job's dependencies are serialised: while another session holds
-- an uncommitted 7 -> 6, adding 6 -> 7 here waits for it and then sees the cycle.
DELETE FROM pg_dist_background_task_depend WHERE job_id = 2;
\! psql -X -q -d "$STEWARD_SCENARIO_DB" -c "BEGIN; INSERT INTO steward.pg_dist_background_task_depend VALUES (2, 7, 6); SELECT pg_sleep(1); COMMIT;" >/dev/null 2>&1 &
DO $$
BEGIN
  -- until the other session holds its uncommitted row
  WHILE NOT EXISTS (SELECT FROM pg_locks l
                     WHERE l.pid <> pg_backend_pid()
                       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                       AND l.relation = 'steward.task_depend_guard'::regclass AND l.mode = 'RowExclusiveLock') LOOP
    PERFORM pg_sleep(0.01);
  END LOOP;
END
$$;
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (2, 6, 7);
SELECT job_id, task_id, depends_on FROM pg_dist_background_task_depend WHERE job_id = 2;

-- under REPEATABLE READ a concurrent change is a serialization failure, not a missed cycle
DELETE FROM pg_dist_background_task_depend WHERE job_id = 2;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM pg_dist_background_task_depend WHERE job_id = 2;
\! psql -X -q -d "$STEWARD_SCENARIO_DB" -c "INSERT INTO steward.pg_dist_background_task_depend VALUES (2, 7, 6)"
INSERT INTO pg_dist_background_task_depend (job_id, task_id, depends_on) VALUES (2, 6, 7);
ROLLBACK;
SELECT job_id, task_id, depends_on FROM pg_dist_background_task_depend WHERE job_id = 2;

-- dependencies go away with their job (Citus's cleanup)
TRUNCATE pg_dist_background_job CASCADE;
SELECT count(*) FROM pg_dist_background_task_depend;
SELECT count(*) FROM steward.task_depend_guard;
