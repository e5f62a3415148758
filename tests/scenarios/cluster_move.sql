-- citus_move_shard_placement: each mode moves a whole shard group with its rows
-- (count and checksum unchanged on the target), the old placement refuses writes and
-- is dropped by cleanup; Citus's errors for bad input.
\set SHOW_CONTEXT never
\i input/cluster_helpers.sql

SELECT citus_add_node('127.0.0.1', :worker_1_port) AS node_1,
       citus_add_node('127.0.0.1', :worker_2_port) AS node_2,
       citus_add_node('127.0.0.1', :worker_3_port) AS node_3;
CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, qty integer CHECK (qty >= 0));
CREATE INDEX items_name ON items (name);
INSERT INTO items SELECT g, 'item ' || g, g % 100 FROM generate_series(1, 6000) g;
CREATE TABLE orders (id integer, item_id integer, PRIMARY KEY (item_id, id));
INSERT INTO orders SELECT g, g % 3000 + 1 FROM generate_series(1, 4000) g;
CREATE TABLE logs (item_id integer, line text);   -- no replica identity
INSERT INTO logs SELECT g % 6000 + 1, 'line ' || g FROM generate_series(1, 3000) g;
SELECT create_distributed_table('items', 'id', shard_count => 3);
SELECT create_distributed_table('orders', 'item_id', colocate_with => 'items');
CREATE TABLE other (id integer PRIMARY KEY);
INSERT INTO other SELECT generate_series(1, 100);
SELECT create_distributed_table('other', 'id', shard_count => 3, colocate_with => 'none');
-- shard group 1: items_102008 and orders_102011 on node 1
SELECT s.logicalrelid, s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
 ORDER BY s.shardid;
SELECT * FROM placement_rows('items') WHERE shardid = 102008;
SELECT table_summary('items') AS items_before, table_summary('orders') AS orders_before \gset

-- block_writes
SELECT citus_move_shard_placement(102008, 1, 2, 'block_writes');
SELECT s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
 WHERE s.shardid IN (102008, 102011) ORDER BY 1;
SELECT table_summary('items') = :'items_before' AS items_same, table_summary('orders') = :'orders_before' AS orders_same;
SELECT * FROM placement_rows('items') WHERE shardid = 102008;
-- indexes and constraints came along
SELECT on_node(2, $$SELECT string_agg(pg_get_indexdef(indexrelid), E'\n' ORDER BY indexrelid::regclass::text)
                     FROM pg_index WHERE indrelid = 'items_102008'::regclass$$) AS indexes;
SELECT on_node(2, $$SELECT string_agg(conname, ' ' ORDER BY conname) FROM pg_constraint
                    WHERE conrelid = 'items_102008'::regclass$$) AS constraints;
-- the old placement refuses writes until cleanup drops it
SELECT on_node(1, $$INSERT INTO items_102008 VALUES (-1, 'late', 1)$$);
SELECT on_node(1, $$SELECT count(*) FROM items_102008$$) AS old_placement_still_readable;
SELECT operation_id > 0 AS has_operation, object_type, object_name, node_group_id, policy_type
  FROM pg_dist_cleanup ORDER BY record_id;
SELECT * FROM worker_objects();
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();
SELECT * FROM pg_dist_cleanup;

-- force_logical: the group goes on to node 3
SELECT citus_move_shard_placement(102008, 2, 3, 'force_logical');
SELECT s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
 WHERE s.shardid IN (102008, 102011) ORDER BY 1;
SELECT table_summary('items') = :'items_before' AS items_same, table_summary('orders') = :'orders_before' AS orders_same;
SELECT on_node(2, $$UPDATE items_102008 SET qty = 5$$);
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();

-- auto picks logical replication when every table has a replica identity
SELECT citus_move_shard_placement(102008, 'localhost', :worker_3_port, '127.0.0.1', :worker_1_port);
SELECT citus_move_shard_placement(102008, '127.0.0.1', :worker_3_port, '127.0.0.1', :worker_1_port);
SELECT s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
 WHERE s.shardid IN (102008, 102011) ORDER BY 1;
SELECT table_summary('items') = :'items_before' AS items_same, table_summary('orders') = :'orders_before' AS orders_same;
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();

-- moving again to where the group is: a warning, then success
SELECT citus_move_shard_placement(102008, 3, 1);
SELECT citus_move_shard_placement(102011, '127.0.0.1', :worker_3_port, '127.0.0.1', :worker_1_port, 'block_writes');

-- bad input
SELECT citus_move_shard_placement(4242, 1, 2);
SELECT citus_move_shard_placement(102008, 1, 42);
SELECT citus_move_shard_placement(102008, 42, 1);
SELECT citus_move_shard_placement(102008, 1, 1);
SELECT citus_move_shard_placement(102009, 1, 3);
SELECT citus_move_shard_placement(102009, 2, 3, NULL);
SELECT citus_move_shard_placement(102008, '127.0.0.1', 1, '127.0.0.1', :worker_2_port);
SELECT citus_move_shard_placement(102008, '127.0.0.1', :worker_1_port, '127.0.0.1', 1);
-- only to active nodes that should have shards
SELECT citus_set_node_property('127.0.0.1', :worker_2_port, 'shouldhaveshards', false);
SELECT citus_move_shard_placement(102008, 1, 2);
SELECT citus_set_node_property('127.0.0.1', :worker_2_port, 'shouldhaveshards', true);
-- a table without replica identity cannot move with logical replication in auto mode
SELECT create_distributed_table('logs', 'item_id', colocate_with => 'items');
SELECT table_summary('logs') AS logs_before \gset
SELECT citus_move_shard_placement(102009, 2, 3);
SELECT citus_move_shard_placement(102009, 2, 3, 'auto');
SELECT count(*) AS cleanup_records FROM pg_dist_cleanup;
-- but block_writes and force_logical (inserts only) can move it, generated columns too
CREATE TABLE totals (item_id integer PRIMARY KEY, qty integer, twice integer GENERATED ALWAYS AS (qty * 2) STORED);
INSERT INTO totals (item_id, qty) SELECT g, g % 7 FROM generate_series(1, 6000) g;
SELECT create_distributed_table('totals', 'item_id', colocate_with => 'items');
SELECT table_summary('totals') AS totals_before \gset
SELECT citus_move_shard_placement(102009, 2, 3, 'block_writes');
SELECT citus_move_shard_placement(102009, 3, 1, 'force_logical');
SELECT s.logicalrelid, s.shardid, p.groupid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
 WHERE s.shardminvalue = (SELECT shardminvalue FROM pg_dist_shard WHERE shardid = 102009)
   AND s.logicalrelid <> 'other'::regclass ORDER BY 2;
SELECT table_summary('items') = :'items_before' AS items_same, table_summary('orders') = :'orders_before' AS orders_same,
       table_summary('logs') = :'logs_before' AS logs_same, table_summary('totals') = :'totals_before' AS totals_same;
SELECT on_node(1, 'SELECT count(*) FROM totals_102021 WHERE twice IS DISTINCT FROM qty * 2') AS wrong_generated_values,
       on_node(1, 'INSERT INTO totals_102021 (item_id, qty) VALUES (-1, 4) RETURNING twice') AS generated_on_target;
SELECT bool_and(misplaced = 0) AS all_in_right_shards FROM placement_rows('logs');
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();
SELECT * FROM pg_dist_cleanup;
