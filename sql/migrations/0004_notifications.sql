-- Notifications for the coordinator daemon (DESIGN deviation 7: pickup within milliseconds).
--
--   channel steward_wakeup, payload job_id (text): a task of that job became `runnable`
--     (inserted as runnable, or updated to runnable from another status, or a runnable
--     task's not_before changed);
--   channel steward_cancel, payload job_id (text): a task of that job was cancelled, i.e. it
--     went to `cancelling` or `cancelled` from a status other than those two
--     (citus_job_cancel or a direct UPDATE); the daemon's own cancelling -> cancelled
--     step, which only records a finished cancel, does not notify.
--
-- Statement-level triggers with transition tables: one notification per job and statement,
-- in ascending job_id. NOTIFY is delivered at commit and PostgreSQL folds identical
-- (channel, payload) pairs of one transaction into one.

CREATE FUNCTION steward.notify_task_inserted() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, steward
  AS $$
BEGIN
  PERFORM pg_notify('steward_wakeup', j.job_id::text)
     FROM (SELECT DISTINCT n.job_id FROM new_tasks n WHERE n.status = 'runnable') j
    ORDER BY j.job_id;
  RETURN NULL;
END
$$;

CREATE FUNCTION steward.notify_task_updated() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, steward
  AS $$
BEGIN
  PERFORM pg_notify('steward_wakeup', j.job_id::text)
     FROM (SELECT DISTINCT n.job_id
             FROM new_tasks n LEFT JOIN old_tasks o ON o.task_id = n.task_id
            WHERE n.status = 'runnable'
              AND (o.status IS DISTINCT FROM 'runnable'
                   OR o.not_before IS DISTINCT FROM n.not_before)) j
    ORDER BY j.job_id;
  PERFORM pg_notify('steward_cancel', j.job_id::text)
     FROM (SELECT DISTINCT n.job_id
             FROM new_tasks n LEFT JOIN old_tasks o ON o.task_id = n.task_id
            WHERE n.status IN ('cancelling', 'cancelled')
              AND o.status IS DISTINCT FROM n.status
              AND o.status IS DISTINCT FROM 'cancelling') j
    ORDER BY j.job_id;
  RETURN NULL;
END
$$;

REVOKE EXECUTE ON FUNCTION steward.notify_task_inserted(), steward.notify_task_updated() FROM PUBLIC;

CREATE TRIGGER notify_task_inserted
  AFTER INSERT ON steward.pg_dist_background_task
  REFERENCING NEW TABLE AS new_tasks
  FOR EACH STATEMENT EXECUTE FUNCTION steward.notify_task_inserted();

CREATE TRIGGER notify_task_updated
  AFTER UPDATE ON steward.pg_dist_background_task
  REFERENCING OLD TABLE AS old_tasks NEW TABLE AS new_tasks
  FOR EACH STATEMENT EXECUTE FUNCTION steward.notify_task_updated();
