-- citus_job_wait / citus_task_wait (citus-reference §3.1, §3.2).
--
-- Both poll every 50 ms (Citus: 1 s and 100 ms), so a wait returns within about 50 ms of
-- the commit it waits for. Each poll is a new statement of a VOLATILE plpgsql function, so
-- under READ COMMITTED it reads through a fresh snapshot and sees other sessions' commits,
-- also inside an explicit transaction block. Under REPEATABLE READ or SERIALIZABLE the
-- snapshot never changes, so instead of waiting forever a wait that would have to sleep
-- raises an error (one whose answer is already visible returns as usual).
-- The wait is interruptible (query cancel, statement_timeout) and never changes the job,
-- except that a job without tasks is finished (below).

-- DESIGN deviation 6: a job committed with no tasks is `finished`. Nobody else recomputes
-- such a job (the daemon only acts on tasks), so citus_job_wait does it through this
-- function. FOR UPDATE on the job row conflicts with the FOR KEY SHARE lock that the
-- foreign key of a task insert takes on it, so a transaction still adding tasks to the job
-- is waited for and its tasks are then seen. Returns whether the job has no tasks.
CREATE FUNCTION steward.finish_job_without_tasks(job_id bigint) RETURNS boolean
  LANGUAGE plpgsql STRICT SECURITY DEFINER
  SET search_path = pg_catalog, steward
  AS $$
BEGIN
  PERFORM FROM steward.pg_dist_background_job j
    WHERE j.job_id = finish_job_without_tasks.job_id
      FOR UPDATE;
  IF NOT FOUND
     OR EXISTS (SELECT FROM steward.pg_dist_background_task t
                 WHERE t.job_id = finish_job_without_tasks.job_id) THEN
    RETURN false;
  END IF;
  PERFORM steward.update_job_state(finish_job_without_tasks.job_id);
  RETURN true;
END
$$;

GRANT EXECUTE ON FUNCTION steward.finish_job_without_tasks(bigint) TO PUBLIC;

-- Raised when a wait would have to sleep in a transaction whose snapshot cannot change.
CREATE FUNCTION steward.check_wait_can_see_commits(what text) RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, steward
  AS $$
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'cannot wait for % in a % transaction', what,
                    upper(current_setting('transaction_isolation'))
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'The transaction''s snapshot would never show the change being waited for.',
            HINT = 'Wait outside a transaction block or in a READ COMMITTED transaction.';
  END IF;
END
$$;

CREATE FUNCTION steward.citus_job_wait(jobid bigint,
                                       desired_status steward.citus_job_status DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, steward
  AS $$
DECLARE
  job_state steward.citus_job_status;
BEGIN
  LOOP
    SELECT j.state INTO job_state FROM steward.pg_dist_background_job j WHERE j.job_id = jobid;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no job found for job with jobid: %', coalesce(jobid, 0)
        USING ERRCODE = 'no_data_found';
    END IF;

    IF NOT steward.is_terminal(job_state)
       AND NOT EXISTS (SELECT FROM steward.pg_dist_background_task t WHERE t.job_id = jobid) THEN
      IF current_setting('transaction_read_only')::boolean THEN
        job_state := steward.derived_job_state(jobid);  -- cannot record it: just use it
      ELSIF steward.finish_job_without_tasks(jobid) THEN
        SELECT j.state INTO job_state FROM steward.pg_dist_background_job j WHERE j.job_id = jobid;
      END IF;
    END IF;

    IF desired_status IS NOT NULL AND job_state = desired_status THEN
      RETURN;
    END IF;
    IF steward.is_terminal(job_state) THEN
      IF desired_status IS NOT NULL THEN
        RAISE EXCEPTION 'Job reached terminal state "%" instead of desired state "%"',
                        job_state, desired_status
          USING ERRCODE = 'object_not_in_prerequisite_state';
      END IF;
      RETURN;
    END IF;

    PERFORM steward.check_wait_can_see_commits(format('job %s', jobid));
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;

COMMENT ON FUNCTION steward.citus_job_wait(bigint, steward.citus_job_status) IS
  'blocks until a job reaches the desired status or any terminal status';

CREATE FUNCTION steward.citus_task_wait(taskid bigint,
                                        desired_status steward.citus_task_status DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, steward
  AS $$
DECLARE
  task_status steward.citus_task_status;
BEGIN
  LOOP
    SELECT t.status INTO task_status FROM steward.pg_dist_background_task t WHERE t.task_id = taskid;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no task found with taskid: %', coalesce(taskid, 0)
        USING ERRCODE = 'no_data_found';
    END IF;

    IF desired_status IS NOT NULL AND task_status = desired_status THEN
      RETURN;
    END IF;
    IF steward.is_terminal(task_status) THEN
      IF desired_status IS NOT NULL THEN
        RAISE EXCEPTION 'Task reached terminal state "%" instead of desired state "%"',
                        task_status, desired_status
          USING ERRCODE = 'object_not_in_prerequisite_state';
      END IF;
      RETURN;
    END IF;

    PERFORM steward.check_wait_can_see_commits(format('task %s', taskid));
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;

COMMENT ON FUNCTION steward.citus_task_wait(bigint, steward.citus_task_status) IS
  'blocks until a task reaches the desired status or any terminal status';

GRANT EXECUTE ON FUNCTION steward.citus_job_wait(bigint, steward.citus_job_status),
                          steward.citus_task_wait(bigint, steward.citus_task_status) TO PUBLIC;
