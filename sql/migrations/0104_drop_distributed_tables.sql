-- DROP TABLE of a distributed or reference table on the coordinator removes its
-- metadata in the same transaction and records its shard placements in pg_dist_cleanup
-- (deferred drop), so that citus_cleanup_orphaned_resources() (or the next move) drops
-- them on the workers once the DROP has committed. A colocation group left without
-- tables goes too, as in Citus.

CREATE FUNCTION steward.drop_distributed_table_metadata() RETURNS event_trigger
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  dropped record;
  op bigint;
  colocation integer;
BEGIN
  FOR dropped IN
    SELECT o.objid, o.schema_name, o.object_name
      FROM pg_event_trigger_dropped_objects() o
     WHERE o.classid = 'pg_class'::regclass AND o.objsubid = 0 AND o.object_type = 'table'
       AND EXISTS (SELECT 1 FROM steward.pg_dist_partition p WHERE p.logicalrelid = o.objid)
  LOOP
    op := nextval('steward.pg_dist_operationid_seq');
    INSERT INTO steward.pg_dist_cleanup (operation_id, object_type, object_name, node_group_id, policy_type)
    SELECT op, 1, format('%I.%I', dropped.schema_name, dropped.object_name || '_' || s.shardid), p.groupid, 2
      FROM steward.pg_dist_shard s JOIN steward.pg_dist_placement p USING (shardid)
     WHERE s.logicalrelid = dropped.objid;
    DELETE FROM steward.pg_dist_placement p
     USING steward.pg_dist_shard s WHERE s.shardid = p.shardid AND s.logicalrelid = dropped.objid;
    DELETE FROM steward.pg_dist_shard s WHERE s.logicalrelid = dropped.objid;
    DELETE FROM steward.pg_dist_partition p WHERE p.logicalrelid = dropped.objid
      RETURNING p.colocationid INTO colocation;
    DELETE FROM steward.pg_dist_colocation c
     WHERE c.colocationid = colocation
       AND NOT EXISTS (SELECT 1 FROM steward.pg_dist_partition p WHERE p.colocationid = colocation);
  END LOOP;
END
$fn$;

CREATE EVENT TRIGGER steward_drop_distributed_table ON sql_drop
  WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
  EXECUTE FUNCTION steward.drop_distributed_table_metadata();
