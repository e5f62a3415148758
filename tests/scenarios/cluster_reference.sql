-- A move refuses to run while a node lacks reference tables (citus-reference §8, #7426).
\set SHOW_CONTEXT never
\i input/cluster_helpers.sql

SELECT citus_add_node('127.0.0.1', :worker_1_port) AS node_1,
       citus_add_node('127.0.0.1', :worker_2_port) AS node_2;
CREATE TABLE countries (code text PRIMARY KEY, name text);
INSERT INTO countries VALUES ('ch', 'Switzerland'), ('de', 'Germany');
SELECT create_reference_table('countries');
CREATE TABLE items (id integer PRIMARY KEY);
INSERT INTO items SELECT generate_series(1, 100);
SELECT create_distributed_table('items', 'id', shard_count => 2);
-- a node added later has no reference table placements yet
SELECT citus_add_node('127.0.0.1', :worker_3_port) AS node_3;
SELECT citus_move_shard_placement(102009, 1, 2, 'block_writes');
SELECT citus_move_shard_placement(102009, 1, 3, 'block_writes');
-- reference tables themselves do not move
SELECT citus_move_shard_placement(102008, 1, 3, 'block_writes');
SELECT s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) ORDER BY 1, 2;
SELECT * FROM pg_dist_cleanup;
SELECT * FROM worker_objects();

-- replicate_reference_tables gives the new node its placements, with the rows
CREATE TABLE currencies (code text PRIMARY KEY);
INSERT INTO currencies VALUES ('chf'), ('eur');
SELECT create_reference_table('currencies');
SELECT replicate_reference_tables();
SELECT shardid, node, row_count, checksum = first_value(checksum) OVER (PARTITION BY shardid ORDER BY node) AS same_rows
  FROM placement_rows('countries')
UNION ALL
SELECT shardid, node, row_count, checksum = first_value(checksum) OVER (PARTITION BY shardid ORDER BY node)
  FROM placement_rows('currencies')
 ORDER BY 1, 2;
SELECT on_node(3, $$SELECT string_agg(conname, ' ') FROM pg_constraint WHERE conrelid = 'countries_102008'::regclass$$) AS constraints;
-- nothing left to do
SELECT replicate_reference_tables();
SELECT count(*) AS placements FROM pg_dist_placement;
-- now the move runs
SELECT citus_move_shard_placement(102009, 1, 3, 'block_writes');
CALL citus_cleanup_orphaned_resources();
SELECT s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) ORDER BY 1, 2;
SELECT * FROM pg_dist_cleanup;
SELECT * FROM worker_objects();
