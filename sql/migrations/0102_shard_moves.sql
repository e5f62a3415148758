-- Shard moves (DESIGN.md "Cluster model and shard moves", citus-reference §3.5, §3.10):
-- citus_move_shard_placement in its node-id and host/port forms, moving a whole shard
-- group (all colocated shards) with block_writes, force_logical or auto, and
-- get_rebalance_progress().
--
-- Phases, as get_rebalance_progress() shows them:
--   Setting Up            cleanup records, target tables (for logical: with primary key or
--                         replica identity), publication and subscription
--   Copying Data          block_writes: source locked against writes, rows pulled by the
--                         target; logical: PostgreSQL's initial table synchronisation
--   Catching Up           logical: the target applies what was written meanwhile
--   Creating Constraints  the remaining indexes and constraints on the target
--   Final Catchup         logical: source locked against writes, target reaches its last LSN
--   Creating Foreign Keys the group's foreign keys on the target (if it has any)
--   Completing            source made unwritable (trigger), metadata switched, replication
--                         objects dropped, source recorded for deferred drop
--
-- Progress rows live in steward.shard_move_progress and are written through a
-- connection of their own (steward.autonomous), so other sessions see them at once;
-- rows of a backend that no longer exists are ignored.
--
-- Testing aid: with the setting steward.move_pause_at = '<phase>', a move waits on
-- entering that phase until it can take the shared advisory lock (1398230096, 1)
-- ('SWPA'), so a test that holds that lock exclusively can act in a known phase.
-- 'Switching Metadata' is one more such point: the old placements are unwritable
-- already, the metadata not yet switched.

CREATE TABLE steward.shard_move_progress (
  operation_id bigint NOT NULL,
  sessionid integer NOT NULL,
  table_name regclass NOT NULL,
  shardid bigint NOT NULL,
  shard_size bigint,
  source_node_id integer NOT NULL,
  target_node_id integer NOT NULL,
  progress bigint NOT NULL DEFAULT 0,
  operation_type text NOT NULL DEFAULT 'move',
  logical boolean NOT NULL,
  subscription_name text,
  status text NOT NULL DEFAULT 'Not Started Yet',
  CONSTRAINT shard_move_progress_pkey PRIMARY KEY (operation_id, shardid)
);
GRANT SELECT ON steward.shard_move_progress TO PUBLIC;

CREATE FUNCTION steward.move_pause_point(point text) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  IF current_setting('steward.move_pause_at', true) = point THEN
    PERFORM pg_advisory_xact_lock_shared(1398230096, 1);
  END IF;
END
$fn$;

CREATE FUNCTION steward.move_phase(operation_id bigint, phase text) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  PERFORM steward.autonomous(format(
    'UPDATE steward.shard_move_progress SET status = %L, progress = %s WHERE operation_id = %s',
    phase, CASE WHEN phase = 'Completed' THEN 2 ELSE 1 END, operation_id));
  PERFORM steward.move_pause_point(phase);
END
$fn$;

-- Fails the move once the target's subscription reports an apply or sync error (it would
-- otherwise retry, and the move wait, for ever).
CREATE FUNCTION steward.error_if_subscription_failed(target_conn text, subscription text)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  IF steward.remote_run(target_conn, format(
       'SELECT coalesce(sum(apply_error_count + sync_error_count), 0) FROM pg_stat_subscription_stats '
       'WHERE subname = %L', subscription))::bigint > 0 THEN
    RAISE EXCEPTION 'logical replication of the shards to the target node failed'
      USING HINT = 'See the target node''s server log.';
  END IF;
END
$fn$;

-- Waits until the subscription on the target has applied the source's WAL up to lsn.
-- The callers take lsn from pg_current_wal_insert_lsn(): with asynchronous commit a
-- committed transaction's commit record may lie beyond pg_current_wal_lsn() (the write
-- position), and waiting only up to there would switch before it is applied.
CREATE FUNCTION steward.wait_for_subscription_lsn(target_conn text, source_conn text,
                                                  subscription text, slot text, lsn pg_lsn)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  reached boolean;
  delay double precision := 0.001;
BEGIN
  LOOP
    reached := steward.remote_run(target_conn, format(
      'SELECT coalesce(max(latest_end_lsn) >= %L::pg_lsn, false) FROM pg_stat_subscription '
      'WHERE subname = %L AND relid IS NULL', lsn, subscription))::boolean;
    IF NOT reached THEN
      reached := steward.remote_run(source_conn, format(
        'SELECT coalesce(max(confirmed_flush_lsn) >= %L::pg_lsn, false) FROM pg_replication_slots '
        'WHERE slot_name = %L', lsn, slot))::boolean;
    END IF;
    EXIT WHEN reached;
    PERFORM steward.error_if_subscription_failed(target_conn, subscription);
    PERFORM pg_sleep(delay);
    delay := least(delay * 2, 0.05);
  END LOOP;
END
$fn$;

-- Copies the rows of a shard table into the same (empty) table on the target: the
-- target pulls them from the source through a cursor, in batches.
CREATE FUNCTION steward.copy_shard_rows(target_conn text, source_conninfo text, shard text, relid regclass)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  PERFORM steward.remote_run(target_conn, format($r$
DO $d$
DECLARE
  n bigint;
BEGIN
  PERFORM steward.dblink_connect('steward_move_copy', %1$L);
  PERFORM steward.dblink_open('steward_move_copy', 'shard', %2$L);
  LOOP
    INSERT INTO %3$s (%5$s) SELECT * FROM steward.dblink_fetch('steward_move_copy', 'shard', 50000) AS t(%4$s);
    GET DIAGNOSTICS n = ROW_COUNT;
    EXIT WHEN n = 0;
  END LOOP;
  PERFORM steward.dblink_disconnect('steward_move_copy');
END
$d$$r$, source_conninfo || ' application_name=steward',
        format('SELECT %s FROM %s', steward.column_names(relid), shard),
        shard, steward.column_definitions(relid), steward.column_names(relid)));
END
$fn$;

-- The move itself, called by citus_move_shard_placement once the request is checked
-- and the locks are held. Raises on failure; the caller cleans up.
CREATE FUNCTION steward.move_shard_group(op bigint, shard_ids bigint[], rels regclass[],
                                         source steward.pg_dist_node, target steward.pg_dist_node,
                                         logical boolean)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  src text := 'steward_move_source';
  tgt text := steward.node_connection(target.nodeid);
  source_conninfo text := steward.node_conninfo(source.nodeid);
  names text[];
  name_list text;
  i integer;
  owner_id oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
  publication text := format('citus_shard_move_publication_%s_%s', owner_id, op);
  slot text := format('citus_shard_move_slot_%s_%s_%s', target.nodeid, owner_id, op);
  subscription text := format('citus_shard_move_subscription_%s_%s', owner_id, op);
  lsn pg_lsn;
  delay double precision;
  pending bigint;
BEGIN
  SELECT array_agg(steward.shard_name(rels[k], shard_ids[k]) ORDER BY k) INTO names
    FROM generate_subscripts(shard_ids, 1) k;
  name_list := array_to_string(names, ', ');
  PERFORM steward.remote_open(src, source_conninfo);
  PERFORM steward.node_connection(source.nodeid);

  PERFORM steward.move_phase(op, 'Setting Up');
  FOR i IN 1 .. array_length(shard_ids, 1) LOOP
    PERFORM steward.create_shard_table(tgt, op, rels[i], shard_ids[i], target.groupid);
    IF logical THEN
      PERFORM steward.remote_run_all(tgt, steward.shard_index_ddl(rels[i], shard_ids[i], 'identity'));
    END IF;
  END LOOP;

  IF logical THEN
    PERFORM steward.record_cleanup(op, 4, publication, source.groupid, 0);
    PERFORM steward.record_cleanup(op, 3, slot, source.groupid, 0);
    PERFORM steward.record_cleanup(op, 2, subscription, target.groupid, 0);
    PERFORM steward.autonomous(format(
      'UPDATE steward.shard_move_progress SET subscription_name = %L WHERE operation_id = %s',
      subscription, op));
    PERFORM steward.remote_run(src, format('CREATE PUBLICATION %I FOR TABLE %s', publication, name_list));
    PERFORM steward.move_phase(op, 'Copying Data');
    PERFORM steward.remote_run(tgt, format(
      'CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION %I '
      'WITH (slot_name = %L, create_slot = true, copy_data = true, enabled = true)',
      subscription, source_conninfo || ' application_name=' || subscription, publication, slot));
    -- PostgreSQL's initial copy, table by table
    delay := 0.001;
    LOOP
      pending := steward.remote_run(tgt, format(
        'SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid '
        'WHERE s.subname = %L AND r.srsubstate NOT IN (''r'', ''s'')', subscription))::bigint;
      EXIT WHEN pending = 0;
      PERFORM steward.error_if_subscription_failed(tgt, subscription);
      PERFORM pg_sleep(delay);
      delay := least(delay * 2, 0.05);
    END LOOP;

    PERFORM steward.move_phase(op, 'Catching Up');
    lsn := steward.remote_run(src, 'SELECT pg_current_wal_insert_lsn()')::pg_lsn;
    PERFORM steward.wait_for_subscription_lsn(tgt, src, subscription, slot, lsn);
  ELSE
    PERFORM steward.move_phase(op, 'Copying Data');
    PERFORM steward.remote_run(src, 'BEGIN');
    PERFORM steward.remote_run(src, format('LOCK TABLE %s IN EXCLUSIVE MODE', name_list));
    FOR i IN 1 .. array_length(shard_ids, 1) LOOP
      PERFORM steward.copy_shard_rows(tgt, source_conninfo, names[i], rels[i]);
    END LOOP;
  END IF;

  PERFORM steward.move_phase(op, 'Creating Constraints');
  FOR i IN 1 .. array_length(shard_ids, 1) LOOP
    PERFORM steward.remote_run_all(tgt, steward.shard_index_ddl(rels[i], shard_ids[i],
                                                                CASE WHEN logical THEN 'rest' ELSE 'all' END));
  END LOOP;

  IF logical THEN
    PERFORM steward.move_phase(op, 'Final Catchup');
    PERFORM steward.remote_run(src, 'BEGIN');
    PERFORM steward.remote_run(src, format('LOCK TABLE %s IN EXCLUSIVE MODE', name_list));
    lsn := steward.remote_run(src, 'SELECT pg_current_wal_insert_lsn()')::pg_lsn;
    PERFORM steward.wait_for_subscription_lsn(tgt, steward.node_connection(source.nodeid),
                                              subscription, slot, lsn);
  END IF;

  IF EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = ANY (rels) AND k.contype = 'f') THEN
    PERFORM steward.move_phase(op, 'Creating Foreign Keys');
    FOR i IN 1 .. array_length(shard_ids, 1) LOOP
      PERFORM steward.remote_run_all(tgt, steward.foreign_key_ddl(rels[i], shard_ids[i]));
    END LOOP;
  END IF;

  PERFORM steward.move_phase(op, 'Completing');
  -- the old placements refuse writes from now on
  FOR i IN 1 .. array_length(shard_ids, 1) LOOP
    PERFORM steward.record_cleanup(op, 101, names[i], source.groupid, 1);
    PERFORM steward.remote_run(src, format(
      'CREATE TRIGGER steward_reject_write BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
      'FOR EACH STATEMENT EXECUTE FUNCTION steward.reject_write()', names[i]));
  END LOOP;
  PERFORM steward.remote_run(src, 'COMMIT');
  PERFORM steward.move_pause_point('Switching Metadata');

  UPDATE steward.pg_dist_placement p SET groupid = target.groupid
   WHERE p.shardid = ANY (shard_ids) AND p.groupid = source.groupid;
  -- success: the target tables stay, the old placements go later
  DELETE FROM steward.pg_dist_cleanup c WHERE c.operation_id = op AND c.policy_type = 1;
  INSERT INTO steward.pg_dist_cleanup (operation_id, object_type, object_name, node_group_id, policy_type)
  SELECT op, 1, n, source.groupid, 2 FROM unnest(names) n;

  IF logical THEN
    PERFORM steward.drop_subscription(target.nodeid, subscription);
    PERFORM steward.drop_replication_slot(source.nodeid, slot);
    PERFORM steward.remote_run(steward.node_connection(source.nodeid),
                               format('DROP PUBLICATION IF EXISTS %I', publication));
    DELETE FROM steward.pg_dist_cleanup c WHERE c.operation_id = op AND c.policy_type = 0;
  END IF;
END
$fn$;

-- Logical replication of rels needs a replica identity on each (the check of auto mode,
-- also applied to reference tables by the rebalancer, as Citus does).
CREATE FUNCTION steward.check_replica_identity(rels regclass[]) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  rel regclass;
BEGIN
  FOREACH rel IN ARRAY coalesce(rels, '{}') LOOP
    IF NOT steward.has_replica_identity(rel) THEN
      RAISE EXCEPTION 'cannot use logical replication to transfer shards of the relation % since it doesn''t have a REPLICA IDENTITY or PRIMARY KEY', rel
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'UPDATE and DELETE commands on the shard will error out during logical replication unless there is a REPLICA IDENTITY or PRIMARY KEY.',
              HINT = 'If you wish to continue without a replica identity set the shard_transfer_mode to ''force_logical'' or ''block_writes''.';
    END IF;
  END LOOP;
END
$fn$;

CREATE FUNCTION steward.citus_move_shard_placement(shard_id bigint,
                                                   source_node_id integer,
                                                   target_node_id integer,
                                                   shard_transfer_mode steward.shard_transfer_mode DEFAULT 'auto')
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  shard steward.pg_dist_shard;
  part steward.pg_dist_partition;
  source steward.pg_dist_node;
  target steward.pg_dist_node;
  shard_ids bigint[];
  rels regclass[];
  rel regclass;
  on_source integer;
  on_target integer;
  logical boolean;
  op bigint;
  i integer;
BEGIN
  IF shard_id IS NULL THEN
    RAISE EXCEPTION 'shard_id cannot be NULL';
  ELSIF source_node_id IS NULL THEN
    RAISE EXCEPTION 'source_node_id cannot be NULL';
  ELSIF target_node_id IS NULL THEN
    RAISE EXCEPTION 'target_node_id cannot be NULL';
  ELSIF shard_transfer_mode IS NULL THEN
    RAISE EXCEPTION 'shard_transfer_mode cannot be NULL';
  END IF;
  SELECT * INTO shard FROM steward.pg_dist_shard s WHERE s.shardid = shard_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'could not find valid entry for shard %', shard_id;
  END IF;
  SELECT * INTO source FROM steward.pg_dist_node n WHERE n.nodeid = source_node_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'node % could not be found', source_node_id;
  END IF;
  SELECT * INTO target FROM steward.pg_dist_node n WHERE n.nodeid = target_node_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'node % could not be found', target_node_id;
  END IF;
  SELECT * INTO part FROM steward.pg_dist_partition p WHERE p.logicalrelid = shard.logicalrelid;
  IF part.partmethod = 'n' THEN
    RAISE EXCEPTION 'table % is a reference table, moving shard of a reference table is not supported',
                    shard.logicalrelid;
  END IF;
  IF source.nodeid = target.nodeid THEN
    RAISE EXCEPTION 'cannot move shard to the same node';
  END IF;

  -- the shard group: the shards with the same range of every table of the colocation group
  SELECT array_agg(s.shardid ORDER BY s.logicalrelid::oid, s.shardid),
         array_agg(s.logicalrelid ORDER BY s.logicalrelid::oid, s.shardid)
    INTO shard_ids, rels
    FROM steward.pg_dist_shard s JOIN steward.pg_dist_partition p USING (logicalrelid)
   WHERE p.colocationid = part.colocationid
     AND s.shardminvalue IS NOT DISTINCT FROM shard.shardminvalue
     AND s.shardmaxvalue IS NOT DISTINCT FROM shard.shardmaxvalue;

  -- one move per colocation group at a time
  IF NOT pg_try_advisory_xact_lock(1398230358, part.colocationid) THEN
    RAISE EXCEPTION 'could not acquire the lock required to move %', shard.logicalrelid
      USING DETAIL = 'It means that either a concurrent shard move or shard copy is happening.',
            HINT = 'Make sure that the concurrent operation has finished and re-run the command';
  END IF;
  PERFORM 1 FROM steward.pg_dist_placement p WHERE p.shardid = ANY (shard_ids) FOR UPDATE;

  SELECT count(*) FILTER (WHERE p.groupid = source.groupid AND p.shardstate = 1),
         count(*) FILTER (WHERE p.groupid = target.groupid)
    INTO on_source, on_target
    FROM steward.pg_dist_placement p WHERE p.shardid = ANY (shard_ids);
  IF on_source = 0 AND on_target = array_length(shard_ids, 1) THEN
    RAISE WARNING 'shard is already present on node %:%', target.nodename, target.nodeport
      USING DETAIL = 'Move may have already completed.';
    RETURN;
  END IF;
  IF on_source < array_length(shard_ids, 1) THEN
    RAISE EXCEPTION 'could not find placement matching "%:%"', source.nodename, source.nodeport
      USING ERRCODE = 'data_exception', HINT = 'Confirm the placement still exists and try again.';
  END IF;
  IF on_target > 0 THEN
    RAISE EXCEPTION 'shard % already exists in the target node', shard_id;
  END IF;
  IF NOT target.isactive THEN
    RAISE EXCEPTION 'Moving shards to a non-active node is not supported'
      USING HINT = format('Activate the target node via SELECT citus_activate_node(%L, %s);',
                          target.nodename, target.nodeport);
  END IF;
  IF NOT target.shouldhaveshards THEN
    RAISE EXCEPTION 'Moving shards to a node that shouldn''t have a shard is not allowed'
      USING HINT = format('Allow shards on the target node via SELECT * FROM citus_set_node_property(%L, %s, ''shouldhaveshards'', true);',
                          target.nodename, target.nodeport);
  END IF;
  -- every node must hold the reference tables first
  IF EXISTS (SELECT 1 FROM steward.pg_dist_partition r JOIN steward.pg_dist_shard s USING (logicalrelid)
              CROSS JOIN steward.pg_dist_node n
             WHERE r.partmethod = 'n' AND n.isactive AND n.noderole = 'primary'
               AND NOT EXISTS (SELECT 1 FROM steward.pg_dist_placement p
                                WHERE p.shardid = s.shardid AND p.groupid = n.groupid)) THEN
    RAISE EXCEPTION 'there are missing reference tables on some nodes'
      USING HINT = 'Copy reference tables first with replicate_reference_tables() or use citus_rebalance_start() that will do it automatically.';
  END IF;

  logical := shard_transfer_mode <> 'block_writes';
  IF shard_transfer_mode = 'auto' THEN
    PERFORM steward.check_replica_identity(rels);
  END IF;

  -- leftovers of earlier operations first (an interrupted move of this group included)
  PERFORM steward.cleanup_resources();

  op := nextval('steward.pg_dist_operationid_seq');
  PERFORM pg_advisory_xact_lock(1398230864, op::integer);
  PERFORM steward.autonomous(
    'DELETE FROM steward.shard_move_progress p '
    'WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = p.sessionid)');
  PERFORM steward.autonomous(format(
    'INSERT INTO steward.shard_move_progress (operation_id, sessionid, table_name, shardid, shard_size, '
    'source_node_id, target_node_id, logical) '
    'SELECT %s, %s, r, s, NULL, %s, %s, %L FROM unnest(%L::regclass[], %L::bigint[]) AS u(r, s)',
    op, pg_backend_pid(), source.nodeid, target.nodeid, logical, rels, shard_ids));
  BEGIN
    PERFORM steward.move_shard_group(op, shard_ids, rels, source, target, logical);
  EXCEPTION
    WHEN query_canceled OR others THEN  -- OTHERS alone lets a cancel through
      PERFORM steward.fail_operation(op);
      PERFORM steward.autonomous(format('DELETE FROM steward.shard_move_progress WHERE operation_id = %s', op));
      RAISE;
  END;
  PERFORM steward.autonomous(format('DELETE FROM steward.shard_move_progress WHERE operation_id = %s', op));
  PERFORM steward.remote_close_all();
END
$fn$;

CREATE FUNCTION steward.citus_move_shard_placement(shard_id bigint,
                                                   source_node_name text,
                                                   source_node_port integer,
                                                   target_node_name text,
                                                   target_node_port integer,
                                                   shard_transfer_mode steward.shard_transfer_mode DEFAULT 'auto')
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  target_id integer;
BEGIN
  SELECT n.nodeid INTO target_id FROM steward.pg_dist_node n
   WHERE n.nodename = target_node_name AND n.nodeport = target_node_port;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'Moving shards to a non-existing node is not supported'
      USING HINT = format('Add the target node via SELECT citus_add_node(%L, %s);',
                          target_node_name, target_node_port);
  END IF;
  PERFORM steward.citus_move_shard_placement(shard_id,
                                             (steward.find_node(source_node_name, source_node_port)).nodeid,
                                             target_id, shard_transfer_mode);
END
$fn$;

-- ---------------------------------------------------------------------------------
-- get_rebalance_progress

CREATE FUNCTION steward.get_rebalance_progress()
  RETURNS TABLE (sessionid integer, table_name regclass, shardid bigint, shard_size bigint,
                 sourcename text, sourceport integer, targetname text, targetport integer,
                 progress bigint, source_shard_size bigint, target_shard_size bigint,
                 operation_type text, source_lsn pg_lsn, target_lsn pg_lsn, status text)
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  m record;
  src_sizes bigint[];
  tgt_sizes bigint[];
  names text[];
  s_lsn pg_lsn;
  t_lsn pg_lsn;
BEGIN
  FOR m IN
    SELECT p.operation_id, p.sessionid, p.source_node_id, p.target_node_id, p.logical,
           p.subscription_name, p.status, p.progress, p.operation_type,
           array_agg(p.shardid ORDER BY p.shardid) AS shard_ids,
           array_agg(p.table_name ORDER BY p.shardid) AS rels
      FROM steward.shard_move_progress p
     WHERE EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = p.sessionid)
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
     ORDER BY p.operation_id
  LOOP
    SELECT array_agg(steward.shard_name(m.rels[k], m.shard_ids[k]) ORDER BY k) INTO names
      FROM generate_subscripts(m.shard_ids, 1) k;
    src_sizes := NULL; tgt_sizes := NULL; s_lsn := NULL; t_lsn := NULL;
    BEGIN
      src_sizes := steward.remote_run(steward.node_connection(m.source_node_id), format(
        'SELECT array_agg(coalesce(pg_total_relation_size(to_regclass(n)), 0) ORDER BY o) '
        'FROM unnest(%L::text[]) WITH ORDINALITY AS u(n, o)', names))::bigint[];
      IF m.logical THEN
        s_lsn := steward.remote_run(steward.node_connection(m.source_node_id), 'SELECT pg_current_wal_lsn()')::pg_lsn;
      END IF;
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
    BEGIN
      tgt_sizes := steward.remote_run(steward.node_connection(m.target_node_id), format(
        'SELECT array_agg(coalesce(pg_total_relation_size(to_regclass(n)), 0) ORDER BY o) '
        'FROM unnest(%L::text[]) WITH ORDINALITY AS u(n, o)', names))::bigint[];
      IF m.logical AND m.subscription_name IS NOT NULL THEN
        t_lsn := steward.remote_run(steward.node_connection(m.target_node_id), format(
          'SELECT max(latest_end_lsn) FROM pg_stat_subscription WHERE subname = %L AND relid IS NULL',
          m.subscription_name))::pg_lsn;
      END IF;
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
    RETURN QUERY
      SELECT m.sessionid, m.rels[k], m.shard_ids[k], coalesce(src_sizes[k], 0::bigint),
             s.nodename, s.nodeport, t.nodename, t.nodeport,
             m.progress, coalesce(src_sizes[k], 0::bigint), coalesce(tgt_sizes[k], 0::bigint),
             m.operation_type, s_lsn, t_lsn, m.status
        FROM generate_subscripts(m.shard_ids, 1) k
        JOIN steward.pg_dist_node s ON s.nodeid = m.source_node_id
        JOIN steward.pg_dist_node t ON t.nodeid = m.target_node_id;
  END LOOP;
  PERFORM steward.remote_close_all();
END
$fn$;

-- citus_job_status shows the progress of running moves (0007 left this empty).
CREATE OR REPLACE FUNCTION steward.rebalance_progress_by_session()
  RETURNS TABLE (sessionid integer,
                 source_shard_size bigint,
                 target_shard_size bigint,
                 status text,
                 sourcename text,
                 sourceport integer,
                 targetname text,
                 targetport integer,
                 source_lsn pg_lsn,
                 target_lsn pg_lsn)
  LANGUAGE sql VOLATILE
  AS $$
  SELECT p.sessionid, sum(p.source_shard_size)::bigint, sum(p.target_shard_size)::bigint,
         min(p.status), min(p.sourcename), min(p.sourceport), min(p.targetname), min(p.targetport),
         max(p.source_lsn), min(p.target_lsn)
    FROM steward.get_rebalance_progress() p
   GROUP BY p.sessionid
  $$;

-- Cleanup also forgets the progress rows of moves whose backend is gone.
CREATE OR REPLACE PROCEDURE steward.citus_cleanup_orphaned_resources()
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  cleaned integer;
BEGIN
  cleaned := steward.cleanup_resources();
  PERFORM steward.remote_close_all();
  DELETE FROM steward.shard_move_progress p
   WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = p.sessionid);
  IF cleaned > 0 THEN
    RAISE NOTICE 'cleaned up % orphaned resources', cleaned;
  END IF;
END
$fn$;
