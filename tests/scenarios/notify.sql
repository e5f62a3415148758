-- Notifications for the coordinator daemon: channel steward_wakeup (payload: job id) when a
-- task becomes runnable, channel steward_cancel (payload: job id) when a job's tasks are
-- cancelled. psql prints each notification with the sender's pid, so the listening session
-- runs in a psql of its own whose output has the pids masked.
\! psql -X -a -q -d "$STEWARD_SCENARIO_DB" -f input/notify_listener.sql 2>&1 | sed -E 's/(server process with PID) [0-9]+/\1 N/'
-- what the listener left behind
SELECT job_id, task_id, status, retry_count FROM pg_dist_background_task ORDER BY task_id;
SELECT job_id, state FROM pg_dist_background_job ORDER BY job_id;
-- the triggers behind it
SELECT tgname, tgrelid::regclass, tgenabled FROM pg_trigger
 WHERE tgrelid = 'steward.pg_dist_background_task'::regclass AND NOT tgisinternal ORDER BY tgname;
