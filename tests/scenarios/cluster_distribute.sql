-- Cluster metadata: nodes, distributed tables (rows spread by hash into shards on the
-- workers, none left on the coordinator), colocation, reference tables, citus_shards,
-- and cleanup after a failed create_distributed_table.
\set SHOW_CONTEXT never
\i input/cluster_helpers.sql

SELECT citus_add_node('127.0.0.1', :worker_1_port) AS node_1,
       citus_add_node('127.0.0.1', :worker_2_port) AS node_2,
       citus_add_node('127.0.0.1', :worker_3_port) AS node_3;
-- adding a node twice returns its id
SELECT citus_add_node('127.0.0.1', :worker_2_port);
SELECT nodeid, groupid, nodename, nodeport = (ARRAY[:worker_1_port, :worker_2_port, :worker_3_port])[nodeid] AS port_ok, noderack, hasmetadata,
       isactive, noderole, nodecluster, metadatasynced, shouldhaveshards
  FROM pg_dist_node ORDER BY nodeid;

CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL DEFAULT 'none', qty integer CHECK (qty >= 0));
CREATE INDEX items_name ON items (name);
CREATE UNIQUE INDEX items_name_qty ON items (name, qty) WHERE qty > 10;
INSERT INTO items SELECT g, 'item ' || g, g % 100 FROM generate_series(1, 2000) g;
SELECT count(*) AS rows_before, sum(hashtext(t::text)) AS checksum_before FROM items t \gset

-- bad input
SELECT create_distributed_table('items', 'nope');
SELECT create_distributed_table('items', 'id', shard_count => 0);
SELECT create_distributed_table('items', 'id', colocate_with => 'pg_class');

SELECT create_distributed_table('items', 'id', shard_count => 6);
SELECT create_distributed_table('items', 'id');
-- nothing stayed on the coordinator
SELECT count(*) AS rows_on_coordinator FROM ONLY items;
SELECT logicalrelid, partmethod, steward.column_to_column_name(logicalrelid, partkey) AS column,
       colocationid, repmodel FROM pg_dist_partition;
SELECT * FROM pg_dist_colocation;
-- Citus's split of the int32 hash range; round-robin over the nodes
SELECT s.shardid, s.shardminvalue, s.shardmaxvalue, p.groupid, p.shardstate
  FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) ORDER BY s.shardid;
-- every row is in the shard its hash (hashint4, computed on the worker) says
SELECT * FROM placement_rows('items');
SELECT sum(row_count) = :rows_before AS all_rows, sum(checksum) = :checksum_before AS same_rows
  FROM placement_rows('items');
-- the coordinator computes the same hash: each shard holds exactly the ids it says
SELECT s.shardid, count(*) AS expected_rows
  FROM generate_series(1, 2000) g
  JOIN pg_dist_shard s ON s.logicalrelid = 'items'::regclass
                      AND hashint4(g) BETWEEN s.shardminvalue::integer AND s.shardmaxvalue::integer
 GROUP BY 1 ORDER BY 1;
-- the shard has the table's columns, keys, indexes and constraints
SELECT on_node(1, $$SELECT string_agg(format('%s %s %s %s', attname, format_type(atttypid, atttypmod), attnotnull,
                                             pg_get_expr(d.adbin, d.adrelid)), ', ' ORDER BY attnum)
                     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                    WHERE attrelid = 'items_102008'::regclass AND attnum > 0$$) AS columns;
SELECT on_node(1, $$SELECT string_agg(pg_get_indexdef(indexrelid), E'\n' ORDER BY indexrelid::regclass::text)
                     FROM pg_index WHERE indrelid = 'items_102008'::regclass$$) AS indexes;
SELECT on_node(1, $$SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\n' ORDER BY conname)
                     FROM pg_constraint WHERE conrelid = 'items_102008'::regclass$$) AS constraints;
SELECT on_node(1, $$INSERT INTO items_102008 VALUES (-5, 'x', -1)$$);

-- colocated tables share placements
CREATE TABLE orders (id integer, item_id integer, PRIMARY KEY (item_id, id));
INSERT INTO orders SELECT g, g % 500 + 1 FROM generate_series(1, 1500) g;
SELECT create_distributed_table('orders', 'item_id', colocate_with => 'items');
CREATE TABLE notes (id integer, body text);
SELECT create_distributed_table('notes', 'id', shard_count => 6);
CREATE TABLE loners (id bigint);
INSERT INTO loners SELECT g FROM generate_series(1, 300) g;
SELECT create_distributed_table('loners', 'id', shard_count => 6, colocate_with => 'none');
SELECT logicalrelid, colocationid FROM pg_dist_partition ORDER BY logicalrelid::text;
SELECT count(*) AS shard_groups,
       bool_and(groups_match) AS colocated_placements_match
  FROM (SELECT s.shardminvalue, count(DISTINCT p.groupid) = 1 AS groups_match
          FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
          JOIN pg_dist_partition t USING (logicalrelid)
         WHERE t.colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'items'::regclass)
         GROUP BY s.shardminvalue) g;
SELECT bool_and(misplaced = 0) AS orders_in_right_shards, sum(row_count) AS orders_rows FROM placement_rows('orders');
-- int8 columns use hashint8
SELECT bool_and(misplaced = 0) AS loners_in_right_shards, sum(row_count) AS loners_rows FROM placement_rows('loners');

-- nodes that should not have shards get none; disabled nodes neither
SELECT citus_set_node_property('127.0.0.1', :worker_2_port, 'shouldhaveshards', false);
SELECT citus_set_node_property('127.0.0.1', :worker_2_port, 'hasmetadata', false);
CREATE TABLE spread (id integer PRIMARY KEY);
SELECT create_distributed_table('spread', 'id', shard_count => 4, colocate_with => 'none');
SELECT p.groupid, count(*) FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
 WHERE s.logicalrelid = 'spread'::regclass GROUP BY 1 ORDER BY 1;
SELECT citus_set_node_property('127.0.0.1', :worker_2_port, 'shouldhaveshards', true);

-- a node holding the only placement of a shard cannot go
SELECT citus_remove_node('127.0.0.1', :worker_1_port);
SELECT citus_disable_node('127.0.0.1', :worker_1_port);
SELECT citus_remove_node('127.0.0.1', 1);

-- reference tables: one shard, a placement on every node
CREATE TABLE countries (code text PRIMARY KEY, name text);
INSERT INTO countries VALUES ('ch', 'Switzerland'), ('de', 'Germany'), ('fr', 'France');
SELECT create_reference_table('countries');
SELECT logicalrelid, partmethod, partkey, repmodel FROM pg_dist_partition WHERE logicalrelid = 'countries'::regclass;
SELECT c.* FROM pg_dist_colocation c JOIN pg_dist_partition p USING (colocationid)
 WHERE p.logicalrelid = 'countries'::regclass;
SELECT shardid, node, row_count FROM placement_rows('countries');
SELECT count(*) AS countries_on_coordinator FROM ONLY countries;

-- citus_shards
SELECT table_name, shardid, shard_name, citus_table_type, colocation_id, nodename, nodeport, shard_size > 0 AS has_size
  FROM citus_shards WHERE table_name IN ('items'::regclass, 'countries'::regclass);

-- a failed create_distributed_table leaves nothing behind
CREATE TABLE broken (id integer, v text);
INSERT INTO broken VALUES (1, 'a'), (NULL, 'b');
SELECT create_distributed_table('broken', 'id', shard_count => 3);
DELETE FROM broken WHERE id IS NULL;
-- a table in the way of the third shard, on worker 3
SELECT 'broken_' || (last_value + 3) AS blocker FROM steward.pg_dist_shardid_seq \gset
SELECT on_node(3, format('CREATE TABLE %I (keep text)', :'blocker'));
SELECT create_distributed_table('broken', 'id', shard_count => 3);
SELECT count(*) AS broken_rows_kept FROM broken;
SELECT count(*) AS broken_metadata FROM pg_dist_partition WHERE logicalrelid = 'broken'::regclass;
SELECT * FROM pg_dist_cleanup;
SELECT node, (SELECT string_agg(t, ' ') FROM regexp_split_to_table(shard_tables, ' ') t WHERE t LIKE 'broken%') AS broken_tables,
       slots, publications, subscriptions FROM worker_objects();
CALL citus_cleanup_orphaned_resources();

-- sizes per placement and the active workers
SELECT count(*) AS placements, count(DISTINCT shard_id) AS shards, bool_and(size > 0) AS all_sized
  FROM citus_shard_sizes();
SELECT * FROM citus_get_active_worker_nodes();
