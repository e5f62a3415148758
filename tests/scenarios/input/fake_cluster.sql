\set ECHO none
-- Fake cluster metadata for planning scenarios (included with \i, output hidden): nodes
-- and shards that exist only in the catalog. Planning with by_shard_count or a custom
-- strategy never contacts a node, so these plans need no workers.
\o /dev/null
SET client_min_messages = warning;

CREATE FUNCTION fake_node(name text, should boolean DEFAULT true) RETURNS integer
  LANGUAGE sql AS $$
INSERT INTO pg_dist_node (nodename, nodeport, shouldhaveshards) VALUES (name, 5432, should)
RETURNING nodeid $$;

-- A hash-distributed table of shard_count shards placed round-robin on `nodes`, in
-- colocation group `colocation`.
CREATE FUNCTION fake_table(rel regclass, shard_count integer, colocation integer, nodes integer[])
  RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  k integer;
  sid bigint;
  step bigint := 4294967296 / shard_count;
BEGIN
  INSERT INTO pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel)
  VALUES (rel, 'h', 'id', colocation, 's');
  FOR k IN 0 .. shard_count - 1 LOOP
    sid := nextval('steward.pg_dist_shardid_seq');
    INSERT INTO pg_dist_shard VALUES (rel, sid, 't', NULL, (-2147483648 + k * step)::text,
      (CASE WHEN k = shard_count - 1 THEN 2147483647 ELSE -2147483648 + (k + 1) * step - 1 END)::text);
    INSERT INTO pg_dist_placement (shardid, groupid)
    SELECT sid, groupid FROM pg_dist_node WHERE nodeid = nodes[1 + k % array_length(nodes, 1)];
  END LOOP;
END $$;

-- A reference table with placements on `nodes`.
CREATE FUNCTION fake_reference_table(rel regclass, nodes integer[]) RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  sid bigint := nextval('steward.pg_dist_shardid_seq');
BEGIN
  INSERT INTO pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel)
  VALUES (rel, 'n', NULL, 99, 't');
  INSERT INTO pg_dist_shard VALUES (rel, sid, 't', NULL, NULL, NULL);
  INSERT INTO pg_dist_placement (shardid, groupid)
  SELECT sid, groupid FROM pg_dist_node WHERE nodeid = ANY (nodes);
END $$;

-- The plan as "shard: source -> target" lines, one per move (representative shards).
CREATE FUNCTION plan_text(drain boolean DEFAULT false, strategy name DEFAULT 'by_shard_count',
                          threshold real DEFAULT NULL, improvement real DEFAULT NULL)
  RETURNS SETOF text
  LANGUAGE sql AS $$
SELECT format('%s %s: %s -> %s', m.table_name, m.shard_id, s.nodename, t.nodename)
  FROM steward.plan_rebalance(drain_only => drain, rebalance_strategy => strategy,
                              threshold => threshold, improvement_threshold => improvement) m
  JOIN pg_dist_node s ON s.nodeid = m.source_node
  JOIN pg_dist_node t ON t.nodeid = m.target_node
 ORDER BY m.move_no $$;

-- Shard groups per node after the plan would run (shards of the first table of each
-- colocation group).
CREATE FUNCTION counts_after(drain boolean DEFAULT false, strategy name DEFAULT 'by_shard_count')
  RETURNS text
  LANGUAGE sql AS $$
WITH moves AS (SELECT * FROM steward.plan_rebalance(drain_only => drain, rebalance_strategy => strategy)),
placed AS (
  SELECT s.shardid, coalesce((SELECT m.target_node FROM moves m WHERE m.shard_id = s.shardid),
                             (SELECT n.nodeid FROM pg_dist_node n WHERE n.groupid = p.groupid)) AS node
    FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
    JOIN pg_dist_partition d USING (logicalrelid)
   WHERE d.partmethod = 'h'
     AND d.logicalrelid::oid = (SELECT min(q.logicalrelid::oid) FROM pg_dist_partition q
                                 WHERE q.colocationid = d.colocationid))
SELECT string_agg(format('%s=%s', n.nodename, (SELECT count(*) FROM placed WHERE node = n.nodeid)), ' ' ORDER BY n.nodename)
  FROM pg_dist_node n $$;

-- Clears the fake metadata.
CREATE FUNCTION reset_fake() RETURNS void
  LANGUAGE sql AS $$
DELETE FROM pg_dist_placement; DELETE FROM pg_dist_shard; DELETE FROM pg_dist_partition;
DELETE FROM pg_dist_node;
DELETE FROM pg_dist_background_task_depend; DELETE FROM pg_dist_background_task;
DELETE FROM pg_dist_background_job $$;

RESET client_min_messages;
\o
\set ECHO all
