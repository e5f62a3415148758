-- force_logical with a writer inserting into the source shard while the move copies
-- and catches up: the target ends with every row whose insert committed, and the
-- writer's first insert after the switch fails on the old placement.
\set SHOW_CONTEXT never
\i input/cluster_helpers.sql

SELECT citus_add_node('127.0.0.1', :worker_1_port) AS node_1,
       citus_add_node('127.0.0.1', :worker_2_port) AS node_2;
CREATE TABLE events (id bigint PRIMARY KEY, payload text);
INSERT INTO events SELECT g, repeat('x', 200) FROM generate_series(1, 40000) g;
SELECT create_distributed_table('events', 'id', shard_count => 2);
SELECT s.shardid, s.shardminvalue, s.shardmaxvalue, p.groupid
  FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) ORDER BY 1;
SELECT row_count AS rows_before FROM placement_rows('events') WHERE shardid = 102008 \gset
-- the writer's own record of what it committed, on the source node
SELECT on_node(1, 'CREATE TABLE writer_log (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
SELECT on_node(1, 'CREATE TABLE writer_end (message text)');

-- the move waits before its copy starts
SELECT pg_advisory_lock(1398230096, 1);
SELECT start_paused_move('mover', 102008, 1, 2, 'force_logical', 'Copying Data') IS NOT NULL AS move_paused;
SELECT dblink_connect('writer', steward.node_conninfo(1));
SELECT dblink_send_query('writer', $w$
DO $d$
DECLARE
  ok boolean := true;
  i bigint := 1000000;
  n integer := 0;
BEGIN
  WHILE ok AND n < 20000 LOOP
    i := i + 1;
    CONTINUE WHEN hashint8(i) > -1;   -- rows of shard 102008 only
    BEGIN
      INSERT INTO events_102008 VALUES (i, 'written during the move');
      INSERT INTO writer_log (id) VALUES (i);
    EXCEPTION WHEN OTHERS THEN
      INSERT INTO writer_end VALUES (SQLERRM);
      ok := false;
    END;
    COMMIT;
    n := n + 1;
    PERFORM pg_sleep(0.002);
  END LOOP;
END
$d$$w$);
SELECT wait_until($$SELECT on_node(1, 'SELECT count(*) FROM writer_log')::int >= 20$$) AS writer_running;
-- other sessions see the move's progress
SELECT sessionid = (SELECT sessionid FROM steward.shard_move_progress LIMIT 1) AS mover_session, table_name, shardid,
       sourceport, targetport, progress, source_shard_size > 0 AS source_has_size, operation_type,
       source_lsn IS NOT NULL AS has_source_lsn, status
  FROM get_rebalance_progress();
SELECT clock_timestamp() AS released \gset
SELECT pg_advisory_unlock(1398230096, 1);
SELECT * FROM dblink_get_result('mover') AS r(result text);
SELECT * FROM dblink_get_result('writer') AS r(result text);
SELECT dblink_disconnect('mover'), dblink_disconnect('writer');

SELECT on_node(1, 'SELECT message FROM writer_end') AS writer_stopped_by;
SELECT on_node(1, format('SELECT count(*) > 0 FROM writer_log WHERE at > %L', :'released')) AS wrote_while_moving;
SELECT on_node(1, 'SELECT array_agg(id ORDER BY id) FROM writer_log') AS committed_ids \gset
-- every committed insert is on the target; nothing else was added
SELECT on_node(2, format('SELECT count(*) FROM unnest(%L::bigint[]) c(id) WHERE NOT EXISTS (SELECT 1 FROM events_102008 e WHERE e.id = c.id)',
                         :'committed_ids')) AS committed_rows_missing_on_target;
SELECT row_count = :rows_before + cardinality(:'committed_ids'::bigint[]) AS target_has_all_rows, misplaced, node
  FROM placement_rows('events') WHERE shardid = 102008;
SELECT on_node(1, 'SELECT count(*) || '' '' || sum(hashtext(t::text)) FROM events_102008 t')
     = on_node(2, 'SELECT count(*) || '' '' || sum(hashtext(t::text)) FROM events_102008 t') AS source_and_target_equal;
SELECT count(*) AS progress_rows FROM get_rebalance_progress();
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();
