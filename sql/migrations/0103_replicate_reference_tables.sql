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

CREATE FUNCTION steward.replicate_reference_tables(shard_transfer_mode steward.shard_transfer_mode DEFAULT 'auto')
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  colocation integer;
  missing record;
  op bigint;
  added bigint[][] := '{}';
  i integer;
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
  op := nextval('steward.pg_dist_operationid_seq');
  PERFORM pg_advisory_xact_lock(1398230864, op::integer);
  BEGIN
    FOR missing IN
      SELECT s.logicalrelid, s.shardid, n.nodeid, n.groupid
        FROM steward.pg_dist_partition r
        JOIN steward.pg_dist_shard s USING (logicalrelid)
        CROSS JOIN steward.pg_dist_node n
       WHERE r.partmethod = 'n' AND n.isactive AND n.noderole = 'primary'
         AND NOT EXISTS (SELECT 1 FROM steward.pg_dist_placement p
                          WHERE p.shardid = s.shardid AND p.groupid = n.groupid)
       ORDER BY n.nodename, n.nodeport, s.shardid
    LOOP
      PERFORM steward.copy_reference_shard(op, missing.shardid, missing.nodeid);
      added := added || ARRAY[ARRAY[missing.shardid, missing.nodeid::bigint]];
    END LOOP;
    -- foreign keys between reference tables, once all their shards are there
    FOR i IN 1 .. coalesce(array_length(added, 1), 0) LOOP
      PERFORM steward.remote_run_all(steward.node_connection(added[i][2]::integer),
                                     steward.foreign_key_ddl((SELECT logicalrelid FROM steward.pg_dist_shard
                                                               WHERE shardid = added[i][1]), added[i][1]));
    END LOOP;
  EXCEPTION
    WHEN query_canceled THEN
      PERFORM steward.fail_operation(op);
      RAISE;
    WHEN OTHERS THEN
      PERFORM steward.fail_operation(op);
      RAISE;
  END;
  DELETE FROM steward.pg_dist_cleanup c WHERE c.operation_id = op AND c.policy_type = 1;
  PERFORM steward.remote_close_all();
END
$fn$;
