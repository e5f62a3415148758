-- Job-state derivation (citus-reference §2.2, DESIGN deviation 6).
--
-- A job's state is a pure function of its tasks' states, checked in this order:
--   1. any task cancelling                          -> cancelling
--   2. else any task cancelled                      -> cancelled
--   3. else no task blocked/runnable/running/error/unscheduled
--      (all done, or the job has no tasks at all)   -> finished
--   4. else any task error/unscheduled: with some blocked/runnable/running -> failing,
--      otherwise                                    -> failed
--   5. else                                         -> running
-- `scheduled` is only the insert default and is never derived.

-- Terminal states, shared by the functions of later migrations.
CREATE FUNCTION steward.is_terminal(state steward.citus_job_status) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT $1 IN ('finished', 'cancelled', 'failed') $$;

CREATE FUNCTION steward.is_terminal(status steward.citus_task_status) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT $1 IN ('done', 'error', 'unscheduled', 'cancelled') $$;

-- The state the job's tasks imply now (NULL when the job does not exist).
CREATE FUNCTION steward.derived_job_state(job_id bigint) RETURNS steward.citus_job_status
  LANGUAGE sql STABLE STRICT
  AS $$
  SELECT CASE
           WHEN c.cancelling > 0 THEN 'cancelling'
           WHEN c.cancelled > 0 THEN 'cancelled'
           WHEN c.active = 0 AND c.failed = 0 THEN 'finished'
           WHEN c.failed > 0 AND c.active > 0 THEN 'failing'
           WHEN c.failed > 0 THEN 'failed'
           ELSE 'running'
         END::steward.citus_job_status
    FROM steward.pg_dist_background_job j,
         LATERAL (SELECT count(*) FILTER (WHERE t.status = 'cancelling') AS cancelling,
                         count(*) FILTER (WHERE t.status = 'cancelled') AS cancelled,
                         count(*) FILTER (WHERE t.status IN ('blocked', 'runnable', 'running')) AS active,
                         count(*) FILTER (WHERE t.status IN ('error', 'unscheduled')) AS failed
                    FROM steward.pg_dist_background_task t
                   WHERE t.job_id = j.job_id) c
   WHERE j.job_id = $1
  $$;

-- Recomputes a job's state and writes it when it changed ("UpdateBackgroundJob"):
-- started_at is set the first time the job is derived `running`, finished_at the first
-- time it is derived terminal; neither is ever cleared. Returns the job's state.
-- Called by citus_job_cancel, by citus_job_wait for a job without tasks, and available to
-- the coordinator daemon. Writes the catalog, so it is not executable by PUBLIC.
CREATE FUNCTION steward.update_job_state(job_id bigint) RETURNS steward.citus_job_status
  LANGUAGE plpgsql STRICT
  SET search_path = pg_catalog, steward
  AS $$
DECLARE
  job steward.pg_dist_background_job;
  derived steward.citus_job_status;
BEGIN
  SELECT * INTO job FROM steward.pg_dist_background_job j
   WHERE j.job_id = update_job_state.job_id
     FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % does not exist', update_job_state.job_id
      USING ERRCODE = 'undefined_object';
  END IF;
  derived := steward.derived_job_state(job.job_id);
  IF derived IS DISTINCT FROM job.state
     OR (derived = 'running' AND job.started_at IS NULL)
     OR (steward.is_terminal(derived) AND job.finished_at IS NULL) THEN
    UPDATE steward.pg_dist_background_job j
       SET state = derived,
           started_at = CASE WHEN derived = 'running' AND j.started_at IS NULL
                             THEN now() ELSE j.started_at END,
           finished_at = CASE WHEN steward.is_terminal(derived) AND j.finished_at IS NULL
                              THEN now() ELSE j.finished_at END
     WHERE j.job_id = job.job_id;
  END IF;
  RETURN derived;
END
$$;

REVOKE EXECUTE ON FUNCTION steward.update_job_state(bigint) FROM PUBLIC;
