-- Moves as background tasks run by the daemon: citus_job_status shows a running move's
-- phase, citus_job_cancel stops it and leaves nothing behind, and a move task runs to
-- the end.
\set SHOW_CONTEXT never
\i input/cluster_helpers.sql

SELECT citus_add_node('127.0.0.1', :worker_1_port) AS node_1,
       citus_add_node('127.0.0.1', :worker_2_port) AS node_2;
CREATE TABLE items (id integer PRIMARY KEY, name text);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5000) g;
SELECT create_distributed_table('items', 'id', shard_count => 2);
CREATE TABLE baseline AS SELECT table_summary('items') AS items;

-- the daemon, stopped at the end (and in any case after two minutes)
\! printf 'dsn = "host=%s port=%s user=%s dbname=%s"\npoll_interval_ms = 200\n' "${PGHOST:-127.0.0.1}" "$PGPORT" "${PGUSER:-postgres}" "$STEWARD_SCENARIO_DB" >"/tmp/$STEWARD_SCENARIO_DB.toml"
\! (timeout 120 "$STEWARD_BIN_DIR/steward" run --config "/tmp/$STEWARD_SCENARIO_DB.toml" >"/tmp/$STEWARD_SCENARIO_DB.log" 2>&1 & echo $! >"/tmp/$STEWARD_SCENARIO_DB.pid")

-- a move task that waits in "Catching Up" while this session holds the pause lock
SELECT pg_advisory_lock(1398230096, 1);
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('rebalance', 'one move') RETURNING job_id AS job \gset
INSERT INTO pg_dist_background_task (job_id, command, nodes_involved)
  VALUES (:job, $$SET LOCAL steward.move_pause_at = 'Catching Up'; SELECT citus_move_shard_placement(102008, 1, 2, 'force_logical')$$, '{1,2}');
SELECT wait_until($$SELECT EXISTS (SELECT 1 FROM steward.shard_move_progress p
                                    JOIN pg_dist_background_task t ON t.pid = p.sessionid
                                   WHERE p.status = 'Catching Up')$$) AS task_waits_in_catching_up;
SELECT state, t->>'state' AS task_state, t->>'phase' AS phase, t->'hosts' AS hosts
  FROM citus_job_status(:job), jsonb_array_elements(details->'tasks') t;
SELECT citus_job_cancel(:job);
SELECT pg_advisory_unlock(1398230096, 1);
SELECT citus_job_wait(:job);
-- the job is cancelled at once; the executor's backend is still cleaning up: wait for it
SELECT wait_until(format($$SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity
                                              WHERE application_name = 'steward executor job=%s task=%s')$$,
                         :job, (SELECT task_id FROM pg_dist_background_task WHERE job_id = :job))) AS executor_done;
SELECT state FROM citus_job_status(:job);
SELECT status FROM pg_dist_background_task WHERE job_id = :job;
SELECT s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) ORDER BY 1;
SELECT * FROM pg_dist_cleanup;
SELECT * FROM worker_objects();

-- the same move as a task, to the end
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('rebalance', 'one move') RETURNING job_id AS job \gset
INSERT INTO pg_dist_background_task (job_id, command, nodes_involved)
  VALUES (:job, $$SELECT citus_move_shard_placement(102008, 1, 2, 'force_logical')$$, '{1,2}');
SELECT citus_job_wait(:job, desired_status => 'finished');
SELECT status, message FROM pg_dist_background_task WHERE job_id = :job;
SELECT s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) ORDER BY 1;
SELECT table_summary('items') = (SELECT items FROM baseline) AS items_same;
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();

-- the daemon stopped (SIGTERM) while a move task waits in "Final Catchup": the task
-- goes back to runnable, and the next daemon runs the move to the end
SELECT pg_advisory_lock(1398230096, 1);
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('rebalance', 'one move') RETURNING job_id AS job \gset
INSERT INTO pg_dist_background_task (job_id, command, nodes_involved)
  VALUES (:job, $$SET LOCAL steward.move_pause_at = 'Final Catchup'; SELECT citus_move_shard_placement(102008, 2, 1, 'force_logical')$$, '{1,2}');
SELECT wait_until($$SELECT EXISTS (SELECT 1 FROM steward.shard_move_progress p
                                    JOIN pg_dist_background_task t ON t.pid = p.sessionid
                                   WHERE p.status = 'Final Catchup')$$) AS task_waits_in_final_catchup;
\! pid=$(cat "/tmp/$STEWARD_SCENARIO_DB.pid"); kill -TERM "$pid"; for i in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                      AND application_name LIKE 'steward executor%') AS executor_gone;
SELECT status, retry_count FROM pg_dist_background_task WHERE job_id = :job;
SELECT s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) ORDER BY 1;
SELECT pg_advisory_unlock(1398230096, 1);
\! (timeout 120 "$STEWARD_BIN_DIR/steward" run --config "/tmp/$STEWARD_SCENARIO_DB.toml" >>"/tmp/$STEWARD_SCENARIO_DB.log" 2>&1 & echo $! >"/tmp/$STEWARD_SCENARIO_DB.pid")
SELECT citus_job_wait(:job, desired_status => 'finished');
SELECT s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) ORDER BY 1;
SELECT table_summary('items') = (SELECT items FROM baseline) AS items_same;
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();
SELECT * FROM pg_dist_cleanup;

\! pid=$(cat "/tmp/$STEWARD_SCENARIO_DB.pid"); kill -TERM "$pid"; for i in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done; rm -f "/tmp/$STEWARD_SCENARIO_DB".*
