-- replicate_reference_tables (citus-reference §6.1 step 9): gives every active primary
-- node the placements of reference tables it lacks, copied from an existing placement
-- under a write lock (the same copy as a block_writes move), so that moves (which
-- refuse while a node lacks reference tables) can run.

-- Copies the placement of reference-table shard shard_id to target_node from its first
-- active placement, under a write lock on the source, as part of operation op (whose
-- cleanup records cover the new table until the caller commits), and registers it.
-- Foreign keys are left to the caller: they need every reference table in place.
CREATE FUNCTION steward.copy_reference_shard(op bigint, shard_id bigint, target_node integer)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  rel regclass := (SELECT s.logicalrelid FROM steward.pg_dist_shard s WHERE s.shardid = shard_id);
  target steward.pg_dist_node;
  source steward.pg_dist_node;
  src text := 'steward_move_source';
  tgt text;
  shard text;
BEGIN
  SELECT * INTO target FROM steward.pg_dist_node n WHERE n.nodeid = target_node;
  SELECT d.* INTO source FROM steward.pg_dist_placement p JOIN steward.pg_dist_node d USING (groupid)
   WHERE p.shardid = shard_id AND p.shardstate = 1 AND d.isactive
   ORDER BY d.nodeid LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'reference table "%" does not have a shard', rel;
  END IF;
  shard := steward.shard_name(rel, shard_id);
  tgt := steward.node_connection(target.nodeid);
  PERFORM steward.node_connection(source.nodeid);
  PERFORM steward.remote_open(src, steward.node_conninfo(source.nodeid));
  PERFORM steward.create_shard_table(tgt, op, rel, shard_id, target.groupid);
  PERFORM steward.remote_run(src, 'BEGIN');
  PERFORM steward.remote_run(src, format('LOCK TABLE %s IN EXCLUSIVE MODE', shard));
  PERFORM steward.copy_shard_rows(tgt, steward.node_conninfo(source.nodeid), shard, rel);
  PERFORM steward.remote_run_all(tgt, steward.shard_index_ddl(rel, shard_id, 'all'));
  PERFORM steward.remote_run(src, 'COMMIT');
  PERFORM steward.dblink_disconnect(src);
  INSERT INTO steward.pg_dist_placement (shardid, shardstate, shardlength, groupid)
  VALUES (shard_id, 1, 0, target.groupid);
END
$fn$;

-- Reference-table shards and the active primary nodes that lack a placement of them,
-- with the node to copy from (by node name and port, then shard).
CREATE FUNCTION steward.missing_reference_placements()
  RETURNS TABLE (logicalrelid regclass, shardid bigint, source_node integer, target_node integer)
  LANGUAGE sql STABLE
  AS $fn$
SELECT s.logicalrelid, s.shardid,
       (SELECT n2.nodeid FROM steward.pg_dist_placement p2 JOIN steward.pg_dist_node n2 USING (groupid)
         WHERE p2.shardid = s.shardid AND p2.shardstate = 1 AND n2.isactive
         ORDER BY n2.nodeid LIMIT 1),  -- the source steward.copy_reference_shard takes
       n.nodeid
  FROM steward.pg_dist_partition r
  JOIN steward.pg_dist_shard s USING (logicalrelid)
  CROSS JOIN steward.pg_dist_node n
 WHERE r.partmethod = 'n' AND n.isactive AND n.noderole = 'primary'
   AND NOT EXISTS (SELECT 1 FROM steward.pg_dist_placement p
                    WHERE p.shardid = s.shardid AND p.groupid = n.groupid)
 ORDER BY n.nodename, n.nodeport, s.shardid
$fn$;

-- Copies the missing reference-table placements (only those of shard_id and of
-- target_node, when given) as one operation, whose cleanup records go when it fails; with
-- foreign_keys, then creates the foreign keys of the new placements. A parallel rebalance
-- runs it once per reference table and node, without foreign keys (a task of their own).
CREATE FUNCTION steward.copy_reference_placement(shard_id bigint DEFAULT NULL,
                                                 target_node integer DEFAULT NULL,
                                                 foreign_keys boolean DEFAULT false)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  missing record;
  op bigint := nextval('steward.pg_dist_operationid_seq');
  added bigint[][] := '{}';
  i integer;
BEGIN
  PERFORM pg_advisory_xact_lock(1398230864, op::integer);
  BEGIN
    FOR missing IN
      SELECT * FROM steward.missing_reference_placements() m
       WHERE (copy_reference_placement.shard_id IS NULL OR m.shardid = copy_reference_placement.shard_id)
         AND (copy_reference_placement.target_node IS NULL OR m.target_node = copy_reference_placement.target_node)
    LOOP
      PERFORM steward.copy_reference_shard(op, missing.shardid, missing.target_node);
      added := added || ARRAY[ARRAY[missing.shardid, missing.target_node::bigint]];
    END LOOP;
    -- foreign keys between reference tables, once all their shards are there
    FOR i IN 1 .. CASE WHEN foreign_keys THEN coalesce(array_length(added, 1), 0) ELSE 0 END LOOP
      PERFORM steward.remote_run_all(steward.node_connection(added[i][2]::integer),
                                     steward.foreign_key_ddl((SELECT logicalrelid FROM steward.pg_dist_shard
                                                               WHERE shardid = added[i][1]), added[i][1]));
    END LOOP;
  EXCEPTION
    WHEN query_canceled OR others THEN  -- OTHERS alone lets a cancel through
      PERFORM steward.fail_operation(op);
      RAISE;
  END;
  DELETE FROM steward.pg_dist_cleanup c WHERE c.operation_id = op AND c.policy_type = 1;
  PERFORM steward.remote_close_all();
END
$fn$;

CREATE FUNCTION steward.replicate_reference_tables(shard_transfer_mode steward.shard_transfer_mode DEFAULT 'auto')
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  colocation integer;
BEGIN
  IF shard_transfer_mode IS NULL THEN
    RAISE EXCEPTION 'shard_transfer_mode cannot be NULL';
  END IF;
  SELECT c.colocationid INTO colocation FROM steward.pg_dist_colocation c
   WHERE c.shardcount = 1 AND c.replicationfactor = -1 AND c.distributioncolumntype = 0
   ORDER BY c.colocationid LIMIT 1;
  IF colocation IS NULL THEN
    RETURN;
  END IF;
  IF NOT pg_try_advisory_xact_lock(1398230358, colocation) THEN
    RAISE EXCEPTION 'could not acquire the lock required to replicate reference tables'
      USING DETAIL = 'It means that either a concurrent shard move or shard copy is happening.',
            HINT = 'Make sure that the concurrent operation has finished and re-run the command';
  END IF;
  PERFORM steward.cleanup_resources();
  PERFORM steward.copy_reference_placement(foreign_keys => true);
END
$fn$;
