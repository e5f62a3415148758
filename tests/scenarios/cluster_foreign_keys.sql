-- Foreign keys: between colocated distributed tables and to reference tables, the
-- shards get them (pointing at the shard on the same node), moves and reference-table
-- replication recreate them; other foreign keys are refused with Citus's error.
\set SHOW_CONTEXT never
\i input/cluster_helpers.sql

SELECT citus_add_node('127.0.0.1', :worker_1_port) AS node_1,
       citus_add_node('127.0.0.1', :worker_2_port) AS node_2;
CREATE TABLE countries (code text PRIMARY KEY);
CREATE TABLE regions (name text PRIMARY KEY, country text NOT NULL REFERENCES countries (code));
CREATE TABLE items (id integer PRIMARY KEY, country text REFERENCES countries (code));
CREATE TABLE orders (id integer, item_id integer REFERENCES items (id) ON DELETE CASCADE, PRIMARY KEY (item_id, id));
CREATE TABLE local_table (id integer PRIMARY KEY);
CREATE TABLE refers_local (id integer, l integer REFERENCES local_table (id));
CREATE TABLE wrong_column (id integer, item_id integer REFERENCES items (id));
INSERT INTO countries VALUES ('ch'), ('de');
INSERT INTO regions VALUES ('Bern', 'ch'), ('Bayern', 'de');
INSERT INTO items SELECT g, CASE WHEN g % 2 = 0 THEN 'ch' ELSE 'de' END FROM generate_series(1, 1000) g;
INSERT INTO orders SELECT g, g % 1000 + 1 FROM generate_series(1, 3000) g;

SELECT create_reference_table('countries');
SELECT create_reference_table('regions');
SELECT create_distributed_table('items', 'id', shard_count => 2);
SELECT create_distributed_table('orders', 'item_id', colocate_with => 'items');
SELECT create_distributed_table('refers_local', 'id', colocate_with => 'items');
SELECT create_distributed_table('wrong_column', 'id', colocate_with => 'items');
SELECT count(*) AS items_left, (SELECT count(*) FROM ONLY orders) AS orders_left FROM ONLY items;
SELECT logicalrelid, shardid FROM pg_dist_shard ORDER BY shardid;

-- the shards' foreign keys point at the shards beside them
SELECT on_node(1, $$SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid), E'\n'
                                      ORDER BY conrelid::regclass::text, conname)
                     FROM pg_constraint WHERE contype = 'f'$$) AS worker_1_foreign_keys;
SELECT on_node(1, 'INSERT INTO orders_102012 VALUES (1, 424242)');
SELECT on_node(1, $$INSERT INTO items_102010 VALUES (-2, 'xx')$$);
SELECT table_summary('orders') AS orders_before, table_summary('items') AS items_before \gset

-- a move brings them along, in each mode
SELECT citus_move_shard_placement(102010, 1, 2, 'block_writes');
SELECT citus_move_shard_placement(102010, 2, 1, 'force_logical');
SELECT citus_move_shard_placement(102010, 1, 2, 'force_logical');
CALL citus_cleanup_orphaned_resources();
SELECT table_summary('orders') = :'orders_before' AS orders_same, table_summary('items') = :'items_before' AS items_same;
SELECT on_node(2, $$SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid), E'\n'
                                      ORDER BY conrelid::regclass::text, conname)
                     FROM pg_constraint WHERE contype = 'f'$$) AS worker_2_foreign_keys;
-- ON DELETE CASCADE works within the node
SELECT min(g) AS item FROM generate_series(1, 1000) g WHERE hashint4(g) < 0 \gset
SELECT on_node(2, format('SELECT count(*) FROM orders_102012 WHERE item_id = %s', :item)) AS orders_of_item;
SELECT on_node(2, format('DELETE FROM items_102010 WHERE id = %s', :item)),
       on_node(2, format('SELECT count(*) FROM orders_102012 WHERE item_id = %s', :item)) AS orders_of_item_after;

-- a node added later gets the reference tables with their foreign keys
SELECT citus_add_node('127.0.0.1', :worker_3_port) AS node_3;
SELECT replicate_reference_tables();
SELECT on_node(3, $$SELECT string_agg(conrelid::regclass || ' ' || pg_get_constraintdef(oid), E'\n' ORDER BY conname)
                     FROM pg_constraint WHERE contype = 'f'$$) AS worker_3_foreign_keys;
SELECT citus_move_shard_placement(102011, 2, 3, 'block_writes');
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();
SELECT * FROM pg_dist_cleanup;
