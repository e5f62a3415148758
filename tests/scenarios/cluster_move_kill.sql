-- Moves killed while their rows are on the way (no pause: the kill lands during the
-- copy or, on a fast machine, a little later), then run again: one placement per
-- shard, the rows unchanged, nothing left on the workers.
\set SHOW_CONTEXT never
\i input/cluster_helpers.sql

SELECT citus_add_node('127.0.0.1', :worker_1_port) AS node_1,
       citus_add_node('127.0.0.1', :worker_2_port) AS node_2;
CREATE TABLE big (id bigint PRIMARY KEY, payload text);
SELECT create_distributed_table('big', 'id', shard_count => 2);
SELECT on_node(1, $$INSERT INTO big_102008 SELECT g, md5(g::text) FROM generate_series(1, 400000) g WHERE hashint8(g) < 0$$);
CREATE TABLE baseline AS SELECT table_summary('big') AS big;

CREATE FUNCTION start_move(shard bigint, source integer, target integer, mode text) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  pid integer;
BEGIN
  PERFORM dblink_connect('mover', self_conninfo());
  SELECT p INTO pid FROM dblink('mover', 'SELECT pg_backend_pid()') AS t(p integer);
  PERFORM dblink_send_query('mover', format('SELECT citus_move_shard_placement(%s, %s, %s, %L)',
                                            shard, source, target, mode));
  RETURN pid;
END
$$;

-- block_writes, killed while the target pulls the rows
SELECT start_move(102008, 1, 2, 'block_writes') AS mover \gset
SELECT wait_until(format($$SELECT EXISTS (SELECT 1 FROM steward.shard_move_progress
                                          WHERE sessionid = %s AND status = 'Copying Data')$$, :mover)) AS copying;
SELECT pg_terminate_backend(:mover), wait_for_exit(:mover);
SELECT dblink_disconnect('mover');
SELECT citus_move_shard_placement(102008, 1, 2, 'block_writes');
CALL citus_cleanup_orphaned_resources();
SELECT s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) ORDER BY 1;
SELECT table_summary('big') = (SELECT big FROM baseline) AS big_same;
SELECT * FROM worker_objects();

-- force_logical, killed while PostgreSQL's initial copy runs
SELECT start_move(102008, 2, 1, 'force_logical') AS mover \gset
SELECT wait_until($$SELECT on_node(1, 'SELECT count(*) FROM pg_subscription_rel')::int > 0$$) AS copying;
SELECT pg_terminate_backend(:mover), wait_for_exit(:mover);
SELECT dblink_disconnect('mover');
SELECT citus_move_shard_placement(102008, 2, 1, 'force_logical');
CALL citus_cleanup_orphaned_resources();
SELECT s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) ORDER BY 1;
SELECT table_summary('big') = (SELECT big FROM baseline) AS big_same;
SELECT * FROM worker_objects();
SELECT * FROM pg_dist_cleanup;
