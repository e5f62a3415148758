-- citus_rebalance_start on fake metadata (citus-reference §6.1, §6.3): the argument checks,
-- the tasks and their dependencies for several colocation groups, the reference-table
-- tasks, the 13.2 parallel options, the transaction, a second start, permissions, stop,
-- wait and status. No daemon runs: the job stays scheduled.
\set SHOW_CONTEXT never
\i input/fake_cluster.sql
SELECT citus_set_default_rebalance_strategy('by_shard_count');

-- nothing distributed yet
SELECT citus_rebalance_start();
SELECT citus_rebalance_status();
SELECT citus_rebalance_wait();
SELECT citus_rebalance_stop();

-- group 1: four shard groups on a, none on b; group 2: four on b; group 3: four on c.
-- Nodes a, b, c, d: group 1 moves a -> b, c, d; group 2 b -> ...; group 3 c -> ...
SELECT fake_node('a') AS a, fake_node('b') AS b, fake_node('c') AS c, fake_node('d') AS d \gset
CREATE TABLE g1 (id int PRIMARY KEY);
CREATE TABLE g1_colocated (id int PRIMARY KEY);
CREATE TABLE g2 (id int PRIMARY KEY);
CREATE TABLE g3 (id int);   -- no replica identity
CREATE TABLE ref (id int PRIMARY KEY);
SELECT fake_table('g1', 4, 1, ARRAY[:a]);
SELECT fake_table('g1_colocated', 4, 1, ARRAY[:a]);
SELECT fake_table('g2', 4, 2, ARRAY[:b]);
SELECT fake_table('g3', 4, 3, ARRAY[:c]);
SELECT fake_reference_table('ref', ARRAY[:a, :b, :c]);

-- the plan, then argument checks
SELECT * FROM get_rebalance_table_shards_plan() ORDER BY 1, 2;
SELECT citus_rebalance_start(drain_only => NULL);
SELECT citus_rebalance_start(shard_transfer_mode => NULL);
SELECT citus_rebalance_start(parallel_transfer_reference_tables => NULL);
SELECT citus_rebalance_start(parallel_transfer_colocated_shards => NULL);
SELECT citus_rebalance_start(rebalance_strategy => 'nonexistent');
-- a move in progress elsewhere holds its colocation group's lock
SELECT steward.dblink_connect('locker', steward.coordinator_conninfo());
SELECT * FROM steward.dblink('locker', 'SELECT pg_advisory_lock(1398230358, 2)::text') AS t(locked text);
SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes');
SELECT citus_rebalance_start(drain_only => true, shard_transfer_mode => 'block_writes');
SELECT * FROM steward.dblink('locker', 'SELECT pg_advisory_unlock(1398230358, 2)::text') AS t(unlocked text);
SELECT steward.dblink_disconnect('locker');
-- auto needs a replica identity on every moved table
SELECT citus_rebalance_start();

-- the start rolls back with the caller's transaction
BEGIN;
SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes') IS NOT NULL AS scheduled;
ROLLBACK;
SELECT count(*) AS jobs FROM pg_dist_background_job;

-- scheduled: a reference task first, then one move per shard group
SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes') AS job \gset
SELECT job_type, description, state FROM pg_dist_background_job WHERE job_id = :job;
CREATE VIEW tasks AS
SELECT t.job_id, t.task_id - (SELECT min(task_id) FROM pg_dist_background_task WHERE job_id = t.job_id) + 1 AS n,
       t.status, t.owner, t.nodes_involved, t.command,
       (SELECT string_agg((d.depends_on - (SELECT min(task_id) FROM pg_dist_background_task WHERE job_id = t.job_id) + 1)::text, ',' ORDER BY d.depends_on)
          FROM pg_dist_background_task_depend d WHERE d.task_id = t.task_id) AS depends_on
  FROM pg_dist_background_task t;
SELECT n, status, owner, nodes_involved, command, depends_on FROM tasks WHERE job_id = :job ORDER BY n;
SELECT * FROM citus_rebalance_status();
SELECT jsonb_pretty(details) FROM citus_rebalance_status(true);
-- a second start
SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes');
SELECT rebalance_table_shards(shard_transfer_mode => 'block_writes');

-- another role: may not start (it owns no table) nor stop it
DROP ROLE IF EXISTS rebalance_stranger;
CREATE ROLE rebalance_stranger;
SET ROLE rebalance_stranger;
SELECT citus_rebalance_stop();
RESET ROLE;
SELECT citus_rebalance_stop();
SELECT state FROM pg_dist_background_job WHERE job_id = :job;
SELECT status, count(*) FROM pg_dist_background_task GROUP BY 1;
SET ROLE rebalance_stranger;
SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes');
RESET ROLE;
-- an owner that is no superuser could not run the moves
ALTER TABLE g1 OWNER TO rebalance_stranger;
ALTER TABLE g1_colocated OWNER TO rebalance_stranger;
ALTER TABLE g2 OWNER TO rebalance_stranger;
ALTER TABLE g3 OWNER TO rebalance_stranger;
SET ROLE rebalance_stranger;
SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes');
RESET ROLE;
ALTER TABLE g1 OWNER TO postgres;
ALTER TABLE g1_colocated OWNER TO postgres;
ALTER TABLE g2 OWNER TO postgres;
ALTER TABLE g3 OWNER TO postgres;
-- the stopped job is terminal: waiting returns, stopping again has nothing to stop
SELECT citus_rebalance_wait();
SELECT citus_rebalance_stop();

-- 13.2 options: moves of one colocation group in parallel, one copy task per reference
-- table and new node
SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes',
                             parallel_transfer_reference_tables => true,
                             parallel_transfer_colocated_shards => true) AS job \gset
SELECT n, status, owner, nodes_involved, command, depends_on FROM tasks WHERE job_id = :job ORDER BY n;
SELECT citus_rebalance_stop();

-- drain_only: only what must leave node a
UPDATE pg_dist_node SET shouldhaveshards = false WHERE nodename = 'a';
SELECT citus_rebalance_start(drain_only => true, shard_transfer_mode => 'block_writes') AS job \gset
SELECT count(*) AS moves, count(*) FILTER (WHERE command LIKE '%,' || :a || ',%') AS from_a
  FROM pg_dist_background_task WHERE job_id = :job AND command LIKE '%move%';
SELECT citus_rebalance_stop();

-- balanced: nothing to do
SELECT reset_fake();
SELECT fake_node('a') AS a, fake_node('b') AS b \gset
SELECT fake_table('g1', 4, 1, ARRAY[:a, :b]);
SELECT citus_rebalance_start();
SELECT count(*) AS jobs FROM pg_dist_background_job;
DROP ROLE rebalance_stranger;
