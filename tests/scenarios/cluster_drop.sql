-- DROP TABLE of distributed and reference tables: metadata goes with the table, the
-- shards are dropped on the workers by cleanup once the DROP committed.
\set SHOW_CONTEXT never
\i input/cluster_helpers.sql

SELECT citus_add_node('127.0.0.1', :worker_1_port) AS node_1,
       citus_add_node('127.0.0.1', :worker_2_port) AS node_2;
CREATE TABLE items (id integer PRIMARY KEY);
INSERT INTO items SELECT generate_series(1, 100);
SELECT create_distributed_table('items', 'id', shard_count => 2);
CREATE TABLE orders (id integer PRIMARY KEY);
SELECT create_distributed_table('orders', 'id', colocate_with => 'items');
CREATE TABLE countries (code text PRIMARY KEY);
SELECT create_reference_table('countries');
CREATE SCHEMA app;
CREATE TABLE app.users (id bigint PRIMARY KEY);
SELECT create_distributed_table('app.users', 'id', shard_count => 2);
SELECT * FROM worker_objects();

-- a DROP that rolls back changes nothing
BEGIN;
DROP TABLE items;
SELECT count(*) AS cleanup_records FROM pg_dist_cleanup;
ROLLBACK;
SELECT logicalrelid, colocationid FROM pg_dist_partition ORDER BY 1::text;
SELECT count(*) AS cleanup_records FROM pg_dist_cleanup;

DROP TABLE items, countries;
SELECT logicalrelid, colocationid FROM pg_dist_partition ORDER BY 1::text;
SELECT shardid FROM pg_dist_shard ORDER BY 1;
SELECT object_type, object_name, node_group_id, policy_type FROM pg_dist_cleanup ORDER BY record_id;
DROP SCHEMA app CASCADE;
DROP TABLE orders;
SELECT count(*) AS tables, (SELECT count(*) FROM pg_dist_placement) AS placements,
       (SELECT count(*) FROM pg_dist_colocation) AS colocation_groups
  FROM pg_dist_partition;
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();
SELECT on_node(1, $$SELECT count(*) FROM pg_class WHERE relnamespace = 'app'::regnamespace$$) AS app_tables_on_worker_1;
