-- citus_job_cancel (citus-reference §3.3, DESIGN deviations 2 and 5).
--
-- Permissions. Citus checks every unfinished task's owner against the caller exactly like
-- pg_cancel_backend: against the current user (so SET ROLE counts), with the owner's
-- privileges (has_privs_of_role) or membership in pg_signal_backend. Writing the catalog
-- needs privileges PUBLIC lacks, so the writes run in a SECURITY DEFINER function, inside
-- which current_user is the definer and the caller's identity is lost. Hence two parts:
--
--   steward.citus_job_cancel(jobid)   invoker rights, EXECUTE to PUBLIC: passes its
--                                      current_user (the real caller) on;
--   steward.job_cancel_as(jobid, caller)  SECURITY DEFINER, EXECUTE to PUBLIC: does the
--                                      whole cancel, checking the task owners against
--                                      `caller`.
--
-- Anyone can call job_cancel_as directly and name any caller, so it first verifies that the
-- session could itself become `caller`: caller is the session user, or the session user may
-- SET ROLE to it (superusers may become anyone). A forged caller therefore grants nothing
-- that `SET ROLE caller; SELECT citus_job_cancel(...)` would not. One consequence: inside
-- another role's SECURITY DEFINER function (current_user = that role), citus_job_cancel is
-- refused unless the session user could also become that role.

CREATE FUNCTION steward.job_cancel_as(jobid bigint, caller regrole) RETURNS void
  LANGUAGE plpgsql STRICT SECURITY DEFINER
  SET search_path = pg_catalog, steward
  AS $$
DECLARE
  can_become boolean;
  task record;
  pids integer[] := '{}';
  cancel_pid integer;
  signalled boolean;
BEGIN
  IF caller::oid <> (SELECT oid FROM pg_roles WHERE rolname = session_user) THEN
    IF current_setting('server_version_num')::int >= 160000 THEN
      can_become := pg_has_role(session_user, caller::oid, 'SET');
    ELSE
      can_become := pg_has_role(session_user, caller::oid, 'MEMBER');
    END IF;
    IF NOT can_become THEN
      RAISE EXCEPTION 'session user % cannot act as role %', session_user, caller
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Call citus_job_cancel, which acts as the current user.';
    END IF;
  END IF;

  -- Serialises against the coordinator daemon, which takes the same lock before it
  -- inspects or changes a running task.
  LOCK TABLE steward.pg_dist_background_task IN EXCLUSIVE MODE;

  PERFORM FROM steward.pg_dist_background_job j WHERE j.job_id = jobid FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % does not exist', jobid USING ERRCODE = 'undefined_object';
  END IF;

  FOR task IN
    SELECT t.task_id, t.owner, t.status, t.pid
      FROM steward.pg_dist_background_task t
     WHERE t.job_id = jobid
       AND NOT steward.is_terminal(t.status)
     ORDER BY t.task_id
  LOOP
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = task.owner)
       AND NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = caller) THEN
      RAISE EXCEPTION 'must be a superuser to cancel superuser tasks'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT pg_has_role(caller::oid, task.owner::oid, 'USAGE')
       AND NOT pg_has_role(caller::oid, 'pg_signal_backend', 'USAGE') THEN
      RAISE EXCEPTION 'must be a member of the role whose task is being canceled or member of pg_signal_backend'
        USING ERRCODE = 'insufficient_privilege';
    END IF;

    -- Deviation 2: a task `running` without a pid yet becomes `cancelled`, which the
    -- daemon treats as a cancel just like `cancelling`.
    IF task.status = 'running' AND task.pid IS NOT NULL THEN
      UPDATE steward.pg_dist_background_task t SET status = 'cancelling' WHERE t.task_id = task.task_id;
      pids := pids || task.pid;
    ELSE
      UPDATE steward.pg_dist_background_task t SET status = 'cancelled' WHERE t.task_id = task.task_id;
    END IF;
  END LOOP;

  -- Signals go out now, before the caller commits (as in Citus); the daemon, waiting on the
  -- table lock, then sees `cancelling`.
  FOREACH cancel_pid IN ARRAY pids LOOP
    BEGIN
      signalled := pg_cancel_backend(cancel_pid);
      IF NOT signalled THEN
        RAISE WARNING 'could not send signal to process %: %', cancel_pid,
                      'no such PostgreSQL backend process';
      END IF;
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'could not send signal to process %: %', cancel_pid, SQLERRM;
    END;
  END LOOP;

  PERFORM steward.update_job_state(jobid);
END
$$;

CREATE FUNCTION steward.citus_job_cancel(jobid bigint) RETURNS void
  LANGUAGE sql STRICT
  SET search_path = pg_catalog, steward
  AS $$
  SELECT steward.job_cancel_as(jobid, (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)::regrole)
  $$;

COMMENT ON FUNCTION steward.citus_job_cancel(bigint) IS
  'cancel a scheduled or running job and all of its tasks that didn''t finish yet';
COMMENT ON FUNCTION steward.job_cancel_as(bigint, regrole) IS
  'citus_job_cancel checking permissions against caller, who must be a role the session user can become';

GRANT EXECUTE ON FUNCTION steward.citus_job_cancel(bigint),
                          steward.job_cancel_as(bigint, regrole) TO PUBLIC;
