-- Running rebalance plans (citus-reference §3.7–§3.10, §6.1, §6.3–§6.5): reference-table
-- replication, the foreground rebalance_table_shards and citus_drain_node, and the
-- background rebalance as a job of move tasks run by the coordinator daemon:
-- citus_rebalance_start, citus_rebalance_stop, citus_rebalance_wait, citus_rebalance_status.
--
-- Reference-table placements are copied under a write lock on the source placement
-- (steward.copy_reference_shard, as replicate_reference_tables does) whatever the
-- transfer mode: reference tables are small, and the copy keeps the source.
--
-- Advisory lock ('SWRB' = 1398231618, 0) serialises the scheduling of rebalance jobs, so
-- that two sessions cannot both see "no rebalance running" and schedule one each.

-- The last task of parallel_transfer_reference_tables (Citus 13.2) for a node, after one
-- steward.copy_reference_placement task per reference table: the foreign keys between them.
CREATE FUNCTION steward.create_reference_relationships(target_node integer) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  r record;
  statement text;
BEGIN
  FOR r IN SELECT s.logicalrelid, s.shardid FROM steward.pg_dist_partition t
             JOIN steward.pg_dist_shard s USING (logicalrelid)
             JOIN steward.pg_dist_placement p USING (shardid)
             JOIN steward.pg_dist_node n ON n.groupid = p.groupid
            WHERE t.partmethod = 'n' AND n.nodeid = target_node
            ORDER BY s.logicalrelid::oid LOOP
    FOREACH statement IN ARRAY steward.foreign_key_ddl(r.logicalrelid, r.shardid) LOOP
      BEGIN
        PERFORM steward.remote_run(steward.node_connection(target_node), statement);
      EXCEPTION WHEN duplicate_object THEN
        NULL;  -- a retry after a partial run
      END;
    END LOOP;
  END LOOP;
  PERFORM steward.remote_close_all();
END
$fn$;

-- The non-terminal rebalance job, probing running, cancelling, failing, scheduled.
CREATE FUNCTION steward.ongoing_rebalance_job() RETURNS bigint
  LANGUAGE sql STABLE
  AS $fn$
SELECT j.job_id FROM steward.pg_dist_background_job j
 WHERE j.job_type = 'rebalance' AND j.state IN ('running', 'cancelling', 'failing', 'scheduled')
 ORDER BY array_position(ARRAY['running', 'cancelling', 'failing', 'scheduled']::steward.citus_job_status[], j.state),
          j.job_id
 LIMIT 1
$fn$;

CREATE FUNCTION steward.error_if_rebalance_running() RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  running bigint := steward.ongoing_rebalance_job();
BEGIN
  IF running IS NOT NULL THEN
    RAISE EXCEPTION 'A rebalance is already running as job %', running
      USING DETAIL = 'A rebalance was already scheduled as background job',
            HINT = 'To monitor progress, run: SELECT * FROM citus_rebalance_status();';
  END IF;
END
$fn$;

-- Takes, without waiting, the lock of every colocation group the rebalance may touch.
CREATE FUNCTION steward.lock_colocation_groups(relation regclass, operation text) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT DISTINCT ON (p.colocationid) p.logicalrelid, p.colocationid
             FROM steward.pg_dist_partition p
            WHERE p.partmethod = 'h' AND p.colocationid <> 0
              AND (relation IS NULL OR p.colocationid = (SELECT q.colocationid FROM steward.pg_dist_partition q
                                                          WHERE q.logicalrelid = relation))
            ORDER BY p.colocationid, p.logicalrelid::oid LOOP
    IF NOT pg_try_advisory_xact_lock(1398230358, r.colocationid) THEN
      RAISE EXCEPTION 'could not acquire the lock required to % %', operation, r.logicalrelid
        USING DETAIL = 'It means that either a concurrent shard move or shard copy is happening.',
              HINT = 'Make sure that the concurrent operation has finished and re-run the command';
    END IF;
  END LOOP;
END
$fn$;

-- The caller must own every table of every colocation group with a distributed table.
CREATE FUNCTION steward.check_rebalance_ownership(caller regrole) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  rel regclass;
BEGIN
  FOR rel IN SELECT p.logicalrelid FROM steward.pg_dist_partition p WHERE p.partmethod <> 'n'
             ORDER BY p.logicalrelid::oid LOOP
    IF NOT pg_has_role(caller::oid, (SELECT c.relowner FROM pg_class c WHERE c.oid = rel), 'USAGE') THEN
      RAISE EXCEPTION 'must be owner of table %', (SELECT c.relname FROM pg_class c WHERE c.oid = rel)
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END LOOP;
END
$fn$;

-- Foreground rebalance: the plan's moves, one after the other, in this transaction.
CREATE FUNCTION steward.rebalance_table_shards(relation regclass DEFAULT NULL,
                                               threshold float4 DEFAULT NULL,
                                               max_shard_moves integer DEFAULT 1000000,
                                               excluded_shard_list bigint[] DEFAULT '{}',
                                               shard_transfer_mode steward.shard_transfer_mode DEFAULT 'auto',
                                               drain_only boolean DEFAULT false,
                                               rebalance_strategy name DEFAULT NULL,
                                               improvement_threshold float4 DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  m record;
BEGIN
  IF shard_transfer_mode IS NULL THEN
    RAISE EXCEPTION 'shard_transfer_mode cannot be NULL';
  END IF;
  PERFORM steward.error_if_rebalance_running();
  PERFORM steward.replicate_reference_tables(shard_transfer_mode);
  FOR m IN SELECT * FROM steward.plan_rebalance(relation, threshold, max_shard_moves, excluded_shard_list,
                                               drain_only, rebalance_strategy, improvement_threshold) LOOP
    PERFORM steward.citus_move_shard_placement(m.shard_id, m.source_node, m.target_node, shard_transfer_mode);
  END LOOP;
END
$fn$;

CREATE FUNCTION steward.citus_drain_node(nodename text, nodeport integer,
                                         shard_transfer_mode steward.shard_transfer_mode DEFAULT 'auto',
                                         rebalance_strategy name DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  IF nodename IS NULL OR nodeport IS NULL THEN
    RAISE EXCEPTION 'nodename and nodeport cannot be NULL';
  END IF;
  PERFORM steward.citus_set_node_property(nodename, nodeport, 'shouldhaveshards', false);
  PERFORM steward.rebalance_table_shards(shard_transfer_mode => shard_transfer_mode, drain_only => true,
                                         rebalance_strategy => rebalance_strategy);
END
$fn$;

-- Scheduling writes the catalog, which PUBLIC may only read: it runs as the schema's
-- owner (SECURITY DEFINER) on behalf of `caller`, whom the session must be able to act as
-- (the same rule as steward.job_cancel_as); citus_rebalance_start passes current_user.
CREATE FUNCTION steward.ensure_session_can_act_as(caller regrole) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  IF caller::oid <> (SELECT oid FROM pg_roles WHERE rolname = session_user)
     AND NOT pg_has_role(session_user, caller::oid, 'MEMBER') THEN
    RAISE EXCEPTION 'session user % cannot act as role %', session_user, caller
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$fn$;

CREATE FUNCTION steward.rebalance_start_as(caller regrole,
                                           rebalance_strategy name,
                                           drain_only boolean,
                                           shard_transfer_mode steward.shard_transfer_mode,
                                           parallel_transfer_reference_tables boolean,
                                           parallel_transfer_colocated_shards boolean)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, steward, pg_temp
  AS $fn$
DECLARE
  job bigint;
  mode text;
  m record;
  x record;
  moves integer := 0;
  reference_tasks bigint[] := '{}';
  task bigint;
  deps bigint[];
  last_of_group jsonb := '{}';          -- colocation id -> task id of its latest move
  sources integer[] := '{}';            -- source node of every earlier move ...
  source_tasks bigint[] := '{}';        -- ... and its task
  copy_owner regrole := (SELECT n.nspowner FROM pg_namespace n WHERE n.nspname = 'steward')::regrole;
  copies jsonb := '{}';                 -- target node -> its reference copy tasks (parallel variant)
  k integer;
BEGIN
  IF drain_only IS NULL THEN
    RAISE EXCEPTION 'drain_only cannot be NULL';
  ELSIF shard_transfer_mode IS NULL THEN
    RAISE EXCEPTION 'shard_transfer_mode cannot be NULL';
  ELSIF parallel_transfer_reference_tables IS NULL THEN
    RAISE EXCEPTION 'parallel_transfer_reference_tables cannot be NULL';
  ELSIF parallel_transfer_colocated_shards IS NULL THEN
    RAISE EXCEPTION 'parallel_transfer_colocated_shards cannot be NULL';
  END IF;
  mode := shard_transfer_mode::text;
  PERFORM steward.ensure_session_can_act_as(caller);

  IF NOT EXISTS (SELECT 1 FROM steward.pg_dist_partition p WHERE p.partmethod = 'h') THEN
    RAISE NOTICE 'No tables to rebalance';
    RETURN NULL;
  END IF;
  PERFORM steward.lock_colocation_groups(NULL, CASE WHEN drain_only THEN 'move' ELSE 'rebalance' END);
  PERFORM pg_advisory_xact_lock(1398231618, 0);
  PERFORM steward.error_if_rebalance_running();
  PERFORM steward.check_rebalance_ownership(caller);
  -- The moves run as the caller and reach the nodes through dblink: refuse now rather
  -- than schedule tasks that could only fail.
  IF NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = caller::oid) THEN
    RAISE EXCEPTION 'only superusers can run cluster operations'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = format('The moves of a rebalance run as its owner, %s, which is not a superuser.', caller),
            HINT = 'Steward reaches the nodes through dblink without a password, which PostgreSQL allows only to superusers.';
  END IF;

  CREATE TEMP TABLE IF NOT EXISTS steward_start_move (
    move_no integer, colocation_id integer, table_name regclass, shard_id bigint,
    source_node integer, target_node integer, shard_size bigint) ON COMMIT DROP;
  TRUNCATE pg_temp.steward_start_move;
  INSERT INTO pg_temp.steward_start_move
  SELECT * FROM steward.plan_rebalance(NULL, NULL, 10000000, '{}', drain_only, rebalance_strategy, NULL);
  IF NOT EXISTS (SELECT 1 FROM pg_temp.steward_start_move) THEN
    RAISE NOTICE 'No moves available for rebalancing';
    RETURN NULL;
  END IF;
  IF shard_transfer_mode = 'auto' THEN
    PERFORM steward.check_replica_identity(ARRAY(
      SELECT DISTINCT cs.logicalrelid FROM pg_temp.steward_start_move sm
       CROSS JOIN LATERAL steward.colocated_shards(sm.shard_id) cs ORDER BY 1));
  END IF;
  BEGIN
    PERFORM steward.autonomous('CALL steward.citus_cleanup_orphaned_resources()');
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'could not clean up orphaned resources: %', SQLERRM;
  END;

  INSERT INTO steward.pg_dist_background_job (job_type, description)
  VALUES ('rebalance', 'Rebalance all colocation groups') RETURNING job_id INTO job;

  -- Reference tables first, on every node that lacks them.
  IF EXISTS (SELECT 1 FROM steward.missing_reference_placements()) THEN
    IF shard_transfer_mode = 'auto' THEN
      PERFORM steward.check_replica_identity(ARRAY(SELECT DISTINCT r.logicalrelid
                                                     FROM steward.missing_reference_placements() r));
    END IF;
    IF NOT parallel_transfer_reference_tables THEN
      INSERT INTO steward.pg_dist_background_task (job_id, owner, command)
      VALUES (job, copy_owner, format('SELECT steward.replicate_reference_tables(%L)', mode))
      RETURNING task_id INTO task;
      reference_tasks := ARRAY[task];
    ELSE
      -- Per new node: one copy task per reference table (catalog order), then one task
      -- for their foreign keys that waits for the copies; the moves wait for the latter.
      FOR x IN SELECT * FROM steward.missing_reference_placements() LOOP
        IF x.source_node IS NULL THEN
          RAISE EXCEPTION 'reference table "%" does not have a shard', x.logicalrelid;
        END IF;
        INSERT INTO steward.pg_dist_background_task (job_id, owner, command, nodes_involved)
        VALUES (job, copy_owner,
                format('SELECT steward.copy_reference_placement(%s,%s)', x.shardid, x.target_node),
                ARRAY[x.source_node, x.target_node])
        RETURNING task_id INTO task;
        copies := jsonb_set(copies, ARRAY[x.target_node::text],
                            coalesce(copies -> x.target_node::text, '[]') || to_jsonb(task));
      END LOOP;
      FOR x IN SELECT key::integer AS node, value AS tasks FROM jsonb_each(copies) ORDER BY 1 LOOP
        INSERT INTO steward.pg_dist_background_task (job_id, owner, command, nodes_involved, status)
        VALUES (job, copy_owner, format('SELECT steward.create_reference_relationships(%s)', x.node),
                ARRAY[x.node], 'blocked')
        RETURNING task_id INTO task;
        INSERT INTO steward.pg_dist_background_task_depend (job_id, task_id, depends_on)
        SELECT job, task, d::bigint FROM jsonb_array_elements_text(x.tasks) d;
        reference_tasks := reference_tasks || task;
      END LOOP;
    END IF;
  END IF;

  -- One task per move of a shard group, with the 11.3+ dependency rules.
  FOR m IN SELECT * FROM pg_temp.steward_start_move ORDER BY move_no LOOP
    deps := '{}';
    IF NOT parallel_transfer_colocated_shards AND last_of_group ? m.colocation_id::text THEN
      deps := deps || (last_of_group ->> m.colocation_id::text)::bigint;
    END IF;
    FOR k IN 1 .. coalesce(array_length(sources, 1), 0) LOOP
      IF sources[k] = m.target_node AND NOT source_tasks[k] = ANY (deps) THEN
        deps := deps || source_tasks[k];
      END IF;
    END LOOP;
    IF cardinality(deps) = 0 THEN
      deps := reference_tasks;
    END IF;
    INSERT INTO steward.pg_dist_background_task (job_id, owner, command, nodes_involved, status)
    VALUES (job, caller,
            format('SELECT steward.citus_move_shard_placement(%s,%s,%s,%L)',
                   m.shard_id, m.source_node, m.target_node, mode),
            ARRAY[m.source_node, m.target_node],
            CASE WHEN cardinality(deps) > 0 THEN 'blocked' ELSE 'runnable' END::steward.citus_task_status)
    RETURNING task_id INTO task;
    INSERT INTO steward.pg_dist_background_task_depend (job_id, task_id, depends_on)
    SELECT job, task, d FROM unnest(deps) d;
    last_of_group := jsonb_set(last_of_group, ARRAY[m.colocation_id::text], to_jsonb(task));
    sources := sources || m.source_node;
    source_tasks := source_tasks || task;
    moves := moves + 1;
  END LOOP;

  RAISE NOTICE 'Scheduled % moves as job %', moves, job
    USING DETAIL = 'Rebalance scheduled as background job',
          HINT = 'To monitor progress, run: SELECT * FROM citus_rebalance_status();';
  RETURN job;
END
$fn$;

CREATE FUNCTION steward.citus_rebalance_start(rebalance_strategy name DEFAULT NULL,
                                              drain_only boolean DEFAULT false,
                                              shard_transfer_mode steward.shard_transfer_mode DEFAULT 'auto',
                                              parallel_transfer_reference_tables boolean DEFAULT false,
                                              parallel_transfer_colocated_shards boolean DEFAULT false)
  RETURNS bigint
  LANGUAGE sql
  AS $fn$
SELECT steward.rebalance_start_as((SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)::regrole,
                                  rebalance_strategy, drain_only, shard_transfer_mode,
                                  parallel_transfer_reference_tables, parallel_transfer_colocated_shards)
$fn$;

CREATE FUNCTION steward.citus_rebalance_stop() RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  job bigint := steward.ongoing_rebalance_job();
BEGIN
  IF job IS NULL THEN
    RAISE EXCEPTION 'no ongoing rebalance that can be stopped';
  END IF;
  PERFORM steward.citus_job_cancel(job);
END
$fn$;

CREATE FUNCTION steward.citus_rebalance_wait() RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  job bigint := steward.ongoing_rebalance_job();
BEGIN
  IF job IS NULL THEN
    RAISE WARNING 'no ongoing rebalance that can be waited on';
    RETURN;
  END IF;
  PERFORM steward.citus_job_wait(job);
END
$fn$;

CREATE FUNCTION steward.citus_rebalance_status(raw boolean DEFAULT false)
  RETURNS TABLE (job_id bigint, state steward.citus_job_status, job_type name, description text,
                 started_at timestamptz, finished_at timestamptz, details jsonb)
  LANGUAGE sql STRICT
  AS $fn$
SELECT * FROM steward.citus_job_status(
  (SELECT max(j.job_id) FROM steward.pg_dist_background_job j WHERE j.job_type = 'rebalance'), raw)
$fn$;

GRANT EXECUTE ON FUNCTION steward.citus_rebalance_start(name, boolean, steward.shard_transfer_mode, boolean, boolean),
                          steward.citus_rebalance_stop(), steward.citus_rebalance_wait(),
                          steward.citus_rebalance_status(boolean)
  TO PUBLIC;
