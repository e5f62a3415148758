-- citus_job_list / citus_job_status (citus-reference §3.4, §3.5).

-- Shard-move progress per backend doing a move: get_rebalance_progress() rows grouped by
-- sessionid (summed sizes, max source_lsn, min target_lsn, any one of the other columns).
-- citus_job_status joins running tasks to it on pid. Until the cluster migrations provide
-- get_rebalance_progress() this is empty; they replace this function (same signature).
CREATE FUNCTION steward.rebalance_progress_by_session()
  RETURNS TABLE (sessionid integer,
                 source_shard_size bigint,
                 target_shard_size bigint,
                 status text,
                 sourcename text,
                 sourceport integer,
                 targetname text,
                 targetport integer,
                 source_lsn pg_lsn,
                 target_lsn pg_lsn)
  LANGUAGE sql STABLE
  AS $$
  SELECT NULL::integer, NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::integer,
         NULL::text, NULL::integer, NULL::pg_lsn, NULL::pg_lsn
   WHERE false
  $$;

CREATE FUNCTION steward.citus_job_list()
  RETURNS TABLE (job_id bigint,
                 state steward.citus_job_status,
                 job_type name,
                 description text,
                 started_at timestamptz,
                 finished_at timestamptz)
  LANGUAGE sql
  AS $$
  SELECT j.job_id, j.state, j.job_type, j.description, j.started_at, j.finished_at
    FROM steward.pg_dist_background_job j
   ORDER BY j.job_id
  $$;

COMMENT ON FUNCTION steward.citus_job_list() IS 'lists all background jobs';

-- details = {"tasks": [running move entries..., errored/retried entries...],
--            "task_state_counts": {"<status>": n, ...} or null for a job without tasks}
-- A running task is listed only while its pid has move progress; errored or retried
-- (runnable with retry_count > 0) tasks are listed unless their pid has move progress.
-- Entries are in ascending task_id within each group.
CREATE FUNCTION steward.citus_job_status(job_id bigint, raw boolean DEFAULT false)
  RETURNS TABLE (job_id bigint,
                 state steward.citus_job_status,
                 job_type name,
                 description text,
                 started_at timestamptz,
                 finished_at timestamptz,
                 details jsonb)
  LANGUAGE sql STRICT
  AS $$
  WITH rp AS MATERIALIZED (
    SELECT * FROM steward.rebalance_progress_by_session()
  ),
  task_state_counts AS (
    SELECT t.status, count(*) AS count
      FROM steward.pg_dist_background_task t
     WHERE t.job_id = $1
     GROUP BY t.status
  ),
  running_task_details AS (
    SELECT jsonb_agg(jsonb_build_object(
             'state', t.status,
             'retried', coalesce(t.retry_count, 0),
             'phase', rp.status,
             'size', jsonb_build_object(
               'source', CASE WHEN $2 THEN to_jsonb(rp.source_shard_size)
                              ELSE to_jsonb(pg_size_pretty(rp.source_shard_size)) END,
               'target', CASE WHEN $2 THEN to_jsonb(rp.target_shard_size)
                              ELSE to_jsonb(pg_size_pretty(rp.target_shard_size)) END),
             'hosts', jsonb_build_object(
               'source', rp.sourcename || ':' || rp.sourceport,
               'target', rp.targetname || ':' || rp.targetport),
             'message', t.message,
             'command', t.command,
             'task_id', t.task_id,
             'LSN', jsonb_build_object(
               'source', rp.source_lsn,
               'target', rp.target_lsn,
               'lag', CASE WHEN $2 THEN to_jsonb(rp.source_lsn - rp.target_lsn)
                           ELSE to_jsonb(pg_size_pretty(rp.source_lsn - rp.target_lsn)) END))
             ORDER BY t.task_id) AS tasks
      FROM steward.pg_dist_background_task t
      JOIN rp ON t.pid = rp.sessionid
     WHERE t.job_id = $1
       AND t.status = 'running'
  ),
  errored_or_retried_task_details AS (
    SELECT jsonb_agg(jsonb_build_object(
             'state', t.status,
             'retried', coalesce(t.retry_count, 0),
             'message', t.message,
             'command', t.command,
             'task_id', t.task_id)
             ORDER BY t.task_id) AS tasks
      FROM steward.pg_dist_background_task t
     WHERE t.job_id = $1
       AND NOT EXISTS (SELECT FROM rp WHERE rp.sessionid = t.pid)
       AND (t.status = 'error' OR (t.status = 'runnable' AND t.retry_count > 0))
  )
  SELECT j.job_id, j.state, j.job_type, j.description, j.started_at, j.finished_at,
         jsonb_build_object(
           'task_state_counts', (SELECT jsonb_object_agg(c.status, c.count ORDER BY c.status)
                                   FROM task_state_counts c),
           'tasks', coalesce((SELECT r.tasks FROM running_task_details r), '[]'::jsonb)
                    || coalesce((SELECT e.tasks FROM errored_or_retried_task_details e), '[]'::jsonb))
    FROM steward.pg_dist_background_job j
   WHERE j.job_id = $1
  $$;

COMMENT ON FUNCTION steward.citus_job_status(bigint, boolean) IS
  'a background job with the states of its tasks and the progress of its running shard moves';

GRANT EXECUTE ON FUNCTION steward.citus_job_list(), steward.citus_job_status(bigint, boolean)
  TO PUBLIC;
