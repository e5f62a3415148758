-- Distributed and reference tables (DESIGN.md "Cluster model and shard moves"):
-- create_distributed_table, create_reference_table, the citus_shards view, and
-- pg_dist_cleanup processing (citus_cleanup_orphaned_resources).
--
-- A shard of table s.t is the table s."t_<shardid>" on the worker of its placement,
-- with t's columns, primary key, constraints, indexes and replica identity; constraint
-- and index names get the suffix _<shardid>. Hash-distributed tables split the int32
-- range of the distribution column type's own hash function (hashint4, hashint8,
-- hashtext, ...) into shard_count equal ranges, as Citus does.
--
-- Remote work commits on the workers before the calling transaction commits. Every
-- remote object that must not outlive a failure is therefore first recorded in
-- pg_dist_cleanup by a committed (autonomous) insert with policy "on failure" or
-- "always"; the calling transaction deletes the record when it succeeds. Whatever
-- survives the operation (its advisory lock is free again) is dropped by
-- citus_cleanup_orphaned_resources() and at the start of every move.

-- ---------------------------------------------------------------------------------
-- Helpers

CREATE FUNCTION steward.node_of_group(group_id integer) RETURNS steward.pg_dist_node
  LANGUAGE sql STABLE
  AS $fn$ SELECT * FROM steward.pg_dist_node WHERE groupid = group_id ORDER BY nodeid LIMIT 1 $fn$;

-- The qualified name of a shard table: s."t_<shardid>".
CREATE FUNCTION steward.shard_name(relid regclass, shard_id bigint) RETURNS text
  LANGUAGE sql STABLE STRICT
  AS $fn$
SELECT format('%I.%I', n.nspname, c.relname || '_' || shard_id)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = relid
$fn$;

CREATE FUNCTION steward.shard_name(shard_id bigint) RETURNS text
  LANGUAGE sql STABLE STRICT
  AS $fn$ SELECT steward.shard_name(logicalrelid, shardid) FROM steward.pg_dist_shard WHERE shardid = shard_id $fn$;

-- The hash support function (amproc 1 of the default hash operator class) of a type.
CREATE FUNCTION steward.hash_function(type_id oid) RETURNS regproc
  LANGUAGE sql STABLE STRICT
  AS $fn$
SELECT p.amproc
  FROM pg_opclass c
  JOIN pg_am a ON a.oid = c.opcmethod AND a.amname = 'hash'
  JOIN pg_amproc p ON p.amprocfamily = c.opcfamily AND p.amprocnum = 1
                  AND p.amproclefttype = c.opcintype AND p.amprocrighttype = c.opcintype
 WHERE c.opcdefault
   AND (c.opcintype = type_id
        OR EXISTS (SELECT 1 FROM pg_cast k WHERE k.castsource = type_id
                      AND k.casttarget = c.opcintype AND k.castmethod = 'b'))
 ORDER BY c.opcintype = type_id DESC
 LIMIT 1
$fn$;

-- The distribution column of a distributed table (NULL for reference tables).
CREATE FUNCTION steward.distribution_column(relid regclass) RETURNS name
  LANGUAGE sql STABLE STRICT
  AS $fn$
SELECT a.attname
  FROM steward.pg_dist_partition p
  JOIN pg_attribute a ON a.attrelid = p.logicalrelid
                     AND a.attnum = substring(p.partkey from ':varattno (\d+)')::int
 WHERE p.logicalrelid = relid
$fn$;

CREATE FUNCTION steward.column_to_column_name(table_name regclass, column_var_text text) RETURNS text
  LANGUAGE sql STABLE STRICT
  AS $fn$
SELECT a.attname::text FROM pg_attribute a
 WHERE a.attrelid = table_name AND a.attnum = substring(column_var_text from ':varattno (\d+)')::int
$fn$;

-- The column list "a integer, b text" of a table's stored, not generated columns (for
-- dblink), and the same columns' names "a, b" (for INSERT and SELECT).
CREATE FUNCTION steward.column_definitions(relid regclass) RETURNS text
  LANGUAGE sql STABLE STRICT
  AS $fn$
SELECT string_agg(format('%I %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum)
  FROM pg_attribute WHERE attrelid = relid AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
$fn$;

CREATE FUNCTION steward.column_names(relid regclass) RETURNS text
  LANGUAGE sql STABLE STRICT
  AS $fn$
SELECT string_agg(format('%I', attname), ', ' ORDER BY attnum)
  FROM pg_attribute WHERE attrelid = relid AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
$fn$;

-- The statements that create a shard table with the columns of relid (defaults that
-- use sequences stay on the coordinator).
CREATE FUNCTION steward.shard_table_ddl(relid regclass, shard_id bigint) RETURNS text[]
  LANGUAGE sql STABLE STRICT
  AS $fn$
SELECT ARRAY[format('CREATE SCHEMA IF NOT EXISTS %I', n.nspname),
       format('CREATE TABLE %s (%s)', steward.shard_name(relid, shard_id),
              (SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod))
                                 || CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                                         THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END
                                 || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                                 || coalesce(CASE WHEN a.attgenerated = 's'
                                                  THEN ' GENERATED ALWAYS AS (' || pg_get_expr(d.adbin, d.adrelid) || ') STORED'
                                                  WHEN pg_get_expr(d.adbin, d.adrelid) NOT LIKE '%nextval(%'
                                                  THEN ' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid) END, ''),
                                 ', ' ORDER BY a.attnum)
                 FROM pg_attribute a
                 JOIN pg_type t ON t.oid = a.atttypid
                 LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = relid AND a.attnum > 0 AND NOT a.attisdropped))]
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = relid
$fn$;

-- The statements that give a shard table relid's constraints, indexes and replica
-- identity. part 'identity': only what logical replication needs before the copy (the
-- primary key or replica identity index and the replica identity setting); 'rest':
-- everything else; 'all': both.
CREATE FUNCTION steward.shard_index_ddl(relid regclass, shard_id bigint, part text DEFAULT 'all')
  RETURNS text[]
  LANGUAGE plpgsql STABLE STRICT
  AS $fn$
DECLARE
  shard text := steward.shard_name(relid, shard_id);
  qualified text;
  ident "char";
  ident_index oid;
  result text[] := '{}';
  r record;
  is_identity boolean;
  prefix text;
BEGIN
  SELECT format('%I.%I', n.nspname, c.relname), c.relreplident INTO qualified, ident
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = relid;
  SELECT i.indexrelid INTO ident_index FROM pg_index i
   WHERE i.indrelid = relid AND ((ident = 'i' AND i.indisreplident) OR (ident = 'd' AND i.indisprimary));

  FOR r IN
    SELECT k.conname, k.contype, k.conindid, pg_get_constraintdef(k.oid) AS def
      FROM pg_constraint k
     WHERE k.conrelid = relid AND k.contype IN ('p', 'u', 'c', 'x')
     ORDER BY k.contype <> 'p', k.conname
  LOOP
    is_identity := r.conindid <> 0 AND r.conindid = ident_index;
    CONTINUE WHEN (part = 'identity' AND NOT is_identity) OR (part = 'rest' AND is_identity);
    result := result || format('ALTER TABLE %s ADD CONSTRAINT %I %s', shard,
                               r.conname || '_' || shard_id, r.def);
  END LOOP;

  FOR r IN
    SELECT i.indexrelid, ic.relname, i.indisunique, pg_get_indexdef(i.indexrelid) AS def
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
     WHERE i.indrelid = relid
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = relid AND k.conindid = i.indexrelid)
     ORDER BY ic.relname
  LOOP
    is_identity := r.indexrelid = ident_index;
    CONTINUE WHEN (part = 'identity' AND NOT is_identity) OR (part = 'rest' AND is_identity);
    prefix := 'CREATE ' || CASE WHEN r.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX '
              || quote_ident(r.relname) || ' ON ';
    IF left(r.def, length(prefix)) <> prefix THEN
      RAISE EXCEPTION 'cannot recreate index % on a shard', r.relname USING DETAIL = r.def;
    END IF;
    r.def := substr(r.def, length(prefix) + 1);
    IF left(r.def, 5) = 'ONLY ' THEN
      r.def := substr(r.def, 6);
    END IF;
    IF left(r.def, length(qualified) + 1) <> qualified || ' ' THEN
      RAISE EXCEPTION 'cannot recreate index % on a shard', r.relname USING DETAIL = r.def;
    END IF;
    result := result || ('CREATE ' || CASE WHEN r.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX '
                         || quote_ident(r.relname || '_' || shard_id)
                         || ' ON ' || shard || substr(r.def, length(qualified) + 1));
  END LOOP;

  IF part <> 'rest' THEN
    IF ident = 'f' THEN
      result := result || format('ALTER TABLE %s REPLICA IDENTITY FULL', shard);
    ELSIF ident = 'n' THEN
      result := result || format('ALTER TABLE %s REPLICA IDENTITY NOTHING', shard);
    ELSIF ident = 'i' THEN
      result := result || format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %I', shard,
                                 (SELECT coalesce(k.conname, c.relname) || '_' || shard_id
                                    FROM pg_class c LEFT JOIN pg_constraint k
                                      ON k.conrelid = relid AND k.conindid = c.oid
                                   WHERE c.oid = ident_index));
    END IF;
  END IF;
  RETURN result;
END
$fn$;

-- The statements that give a shard table relid's foreign keys, each pointing at the
-- shard of the referenced table on the same node: the colocated shard (same hash range)
-- of a distributed table, or the shard of a reference table. Other foreign keys are
-- refused with Citus's error.
CREATE FUNCTION steward.foreign_key_ddl(relid regclass, shard_id bigint) RETURNS text[]
  LANGUAGE plpgsql STABLE STRICT
  AS $fn$
DECLARE
  r record;
  mine steward.pg_dist_partition;
  theirs steward.pg_dist_partition;
  referenced_shard bigint;
  at integer;
  paren integer;
  result text[] := '{}';
BEGIN
  SELECT * INTO mine FROM steward.pg_dist_partition WHERE logicalrelid = relid;
  FOR r IN
    SELECT k.oid, k.conname, k.confrelid::regclass AS referenced, k.conkey, k.confkey,
           pg_get_constraintdef(k.oid) AS def
      FROM pg_constraint k WHERE k.conrelid = relid AND k.contype = 'f' ORDER BY k.conname
  LOOP
    SELECT * INTO theirs FROM steward.pg_dist_partition WHERE logicalrelid = r.referenced;
    IF theirs.logicalrelid IS NOT NULL AND theirs.partmethod = 'n' THEN
      SELECT s.shardid INTO referenced_shard FROM steward.pg_dist_shard s WHERE s.logicalrelid = r.referenced;
    ELSIF theirs.logicalrelid IS NOT NULL AND mine.partmethod = 'h' AND theirs.partmethod = 'h'
          AND theirs.colocationid = mine.colocationid
          AND EXISTS (SELECT 1 FROM generate_subscripts(r.conkey, 1) i
                       WHERE r.conkey[i] = substring(mine.partkey from ':varattno (\d+)')::int
                         AND r.confkey[i] = substring(theirs.partkey from ':varattno (\d+)')::int) THEN
      SELECT o.shardid INTO referenced_shard
        FROM steward.pg_dist_shard o JOIN steward.pg_dist_shard m ON m.shardminvalue = o.shardminvalue
       WHERE m.shardid = shard_id AND o.logicalrelid = r.referenced;
    ELSE
      RAISE EXCEPTION 'cannot create foreign key constraint since relations are not colocated or not referencing a reference table'
        USING ERRCODE = 'invalid_table_definition',
              DETAIL = 'A distributed table can only have foreign keys if it is referencing another colocated hash distributed table or a reference table';
    END IF;
    at := position(' REFERENCES ' in r.def);
    paren := position('(' in substr(r.def, at + 12));
    result := result || format('ALTER TABLE %s ADD CONSTRAINT %I %s', steward.shard_name(relid, shard_id),
                               r.conname || '_' || shard_id,
                               left(r.def, at + 11) || steward.shard_name(r.referenced, referenced_shard)
                               || substr(r.def, at + 11 + paren));
  END LOOP;
  RETURN result;
END
$fn$;

-- Runs each statement of a list on a connection.
CREATE FUNCTION steward.remote_run_all(conn text, commands text[]) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  command text;
BEGIN
  FOREACH command IN ARRAY commands LOOP
    PERFORM steward.remote_run(conn, command);
  END LOOP;
END
$fn$;

-- Creates a shard table on a connection, recorded first in pg_dist_cleanup (policy on
-- failure) under the operation; a table that exists already is not ours to clean up.
CREATE FUNCTION steward.create_shard_table(conn text, operation_id bigint, relid regclass,
                                           shard_id bigint, group_id integer)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  record bigint := steward.record_cleanup(operation_id, 1, steward.shard_name(relid, shard_id), group_id, 1);
BEGIN
  PERFORM steward.remote_run_all(conn, steward.shard_table_ddl(relid, shard_id));
EXCEPTION WHEN duplicate_table THEN
  PERFORM steward.autonomous(format('DELETE FROM steward.pg_dist_cleanup WHERE record_id = %s', record));
  RAISE;
END
$fn$;

-- Whether a table can be replicated logically with UPDATE and DELETE.
CREATE FUNCTION steward.has_replica_identity(relid regclass) RETURNS boolean
  LANGUAGE sql STABLE STRICT
  AS $fn$
SELECT CASE c.relreplident
         WHEN 'f' THEN true
         WHEN 'i' THEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = relid AND i.indisreplident)
         WHEN 'd' THEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = relid AND i.indisprimary)
         ELSE false END
  FROM pg_class c WHERE c.oid = relid
$fn$;

-- ---------------------------------------------------------------------------------
-- Cleanup records

-- Records a resource in pg_dist_cleanup with a committed insert of its own; returns
-- the record id.
CREATE FUNCTION steward.record_cleanup(operation_id bigint, object_type integer, object_name text,
                                       node_group_id integer, policy_type integer)
  RETURNS bigint
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  RETURN steward.autonomous(format(
    'INSERT INTO steward.pg_dist_cleanup (operation_id, object_type, object_name, node_group_id, policy_type) '
    'VALUES (%s, %s, %L, %s, %s) RETURNING record_id',
    operation_id, object_type, object_name, node_group_id, policy_type))::bigint;
END
$fn$;

-- Drops a subscription without touching its slot (the slot is a record of its own).
CREATE FUNCTION steward.drop_subscription(node_id integer, subscription_name text) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  PERFORM steward.remote_run(steward.node_connection(node_id), format($r$
DO $d$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_subscription WHERE subname = %1$L) THEN
    ALTER SUBSCRIPTION %1$I DISABLE;
    ALTER SUBSCRIPTION %1$I SET (slot_name = NONE);
    DROP SUBSCRIPTION %1$I;
  END IF;
END
$d$$r$, subscription_name));
END
$fn$;

-- Drops a replication slot, ending the walsender that still uses it.
CREATE FUNCTION steward.drop_replication_slot(node_id integer, slot text) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  PERFORM steward.remote_run(steward.node_connection(node_id), format($r$
DO $d$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '30 seconds';
BEGIN
  LOOP
    PERFORM pg_terminate_backend(active_pid) FROM pg_replication_slots
     WHERE slot_name = %1$L AND active_pid IS NOT NULL;
    EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = %1$L AND active);
    IF clock_timestamp() > deadline THEN
      RAISE EXCEPTION 'replication slot "%%" is still active', %1$L;
    END IF;
    PERFORM pg_sleep(0.01);
  END LOOP;
  PERFORM pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %1$L;
END
$d$$r$, slot));
END
$fn$;

-- Drops one recorded resource on the node of its group (nothing if the node is gone).
CREATE FUNCTION steward.drop_cleanup_object(object_type integer, object_name text, node_group_id integer)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  node steward.pg_dist_node := steward.node_of_group(node_group_id);
BEGIN
  IF node.nodeid IS NULL THEN
    RETURN;
  END IF;
  CASE object_type
    WHEN 1 THEN
      PERFORM steward.remote_run(steward.node_connection(node.nodeid),
                                 format('DROP TABLE IF EXISTS %s CASCADE', object_name));
    WHEN 2 THEN
      PERFORM steward.drop_subscription(node.nodeid, object_name);
    WHEN 3 THEN
      PERFORM steward.drop_replication_slot(node.nodeid, object_name);
    WHEN 4 THEN
      PERFORM steward.remote_run(steward.node_connection(node.nodeid),
                                 format('DROP PUBLICATION IF EXISTS %I', object_name));
    WHEN 101 THEN  -- Steward: the trigger that makes an old placement unwritable
      PERFORM steward.remote_run(steward.node_connection(node.nodeid), format($r$
DO $d$
BEGIN
  IF to_regclass(%1$L) IS NOT NULL THEN
    DROP TRIGGER IF EXISTS steward_reject_write ON %1$s;
  END IF;
END
$d$$r$, object_name));
    ELSE
      RAISE EXCEPTION 'invalid object type %', object_type;
  END CASE;
END
$fn$;

-- Drops what the records of finished operations (those whose advisory lock is free)
-- describe, or only those of one operation; deletes each record in the calling
-- transaction, or with a committed statement of its own when autonomous_delete.
-- Returns how many resources were cleaned up.
CREATE FUNCTION steward.cleanup_resources(only_operation bigint DEFAULT NULL,
                                          autonomous_delete boolean DEFAULT false)
  RETURNS integer
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  r steward.pg_dist_cleanup;
  cleaned integer := 0;
  skipped bigint[] := '{}';
BEGIN
  FOR r IN
    SELECT * FROM steward.pg_dist_cleanup c
     WHERE only_operation IS NULL OR c.operation_id = only_operation
     ORDER BY CASE c.object_type WHEN 2 THEN 0 WHEN 3 THEN 1 WHEN 4 THEN 2 WHEN 101 THEN 3 ELSE 4 END,
              c.record_id
  LOOP
    CONTINUE WHEN r.operation_id = ANY (skipped);
    IF only_operation IS NULL AND NOT pg_try_advisory_xact_lock(1398230864, r.operation_id::integer) THEN
      skipped := skipped || r.operation_id;   -- the operation still runs
      CONTINUE;
    END IF;
    BEGIN
      PERFORM steward.drop_cleanup_object(r.object_type, r.object_name, r.node_group_id);
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'failed to clean up % on group %: %', r.object_name, r.node_group_id, SQLERRM;
      CONTINUE;
    END;
    IF autonomous_delete THEN
      PERFORM steward.autonomous(format('DELETE FROM steward.pg_dist_cleanup WHERE record_id = %s', r.record_id));
    ELSE
      DELETE FROM steward.pg_dist_cleanup WHERE record_id = r.record_id;
    END IF;
    cleaned := cleaned + 1;
  END LOOP;
  RETURN cleaned;
END
$fn$;

CREATE PROCEDURE steward.citus_cleanup_orphaned_resources()
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  cleaned integer;
BEGIN
  cleaned := steward.cleanup_resources();
  PERFORM steward.remote_close_all();
  IF cleaned > 0 THEN
    RAISE NOTICE 'cleaned up % orphaned resources', cleaned;
  END IF;
END
$fn$;

-- ---------------------------------------------------------------------------------
-- Creating distributed and reference tables

-- Nodes that get placements of new distributed shards, in Citus's order.
CREATE FUNCTION steward.shard_placement_nodes() RETURNS SETOF steward.pg_dist_node
  LANGUAGE sql STABLE
  AS $fn$
SELECT * FROM steward.pg_dist_node
 WHERE isactive AND noderole = 'primary' AND shouldhaveshards
 ORDER BY nodename, nodeport
$fn$;

-- Creates the shard tables of relid on their placements and copies relid's rows into
-- them; the rows of a hash-distributed table are spread by hash. shards: (shardid,
-- min, max, groupid) rows, one per placement.
CREATE FUNCTION steward.create_shards_with_data(relid regclass, operation_id bigint,
                                                shard_ids bigint[], mins integer[], maxs integer[],
                                                group_ids integer[], hash_expr text)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  i integer;
  node steward.pg_dist_node;
  conn text;
  shard text;
  lit text;
  has_rows boolean;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', relid) INTO has_rows;
  IF has_rows THEN
    RAISE NOTICE 'Copying data from local table...';
    IF hash_expr IS NOT NULL THEN
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s t WHERE %s IS NULL)', relid, hash_expr) INTO has_rows;
      IF has_rows THEN
        RAISE EXCEPTION 'cannot perform an INSERT with NULL in the partition column'
          USING ERRCODE = 'not_null_violation';
      END IF;
    END IF;
  END IF;
  PERFORM steward.foreign_key_ddl(relid, shard_ids[1]);   -- refuses unsupported foreign keys early
  FOR i IN 1 .. coalesce(array_length(shard_ids, 1), 0) LOOP
    node := steward.node_of_group(group_ids[i]);
    conn := steward.node_connection(node.nodeid);
    shard := steward.shard_name(relid, shard_ids[i]);
    PERFORM steward.create_shard_table(conn, operation_id, relid, shard_ids[i], group_ids[i]);
    FOR lit IN EXECUTE format(
        'SELECT array_agg(r)::text FROM (SELECT t AS r, (row_number() OVER () - 1) / 20000 AS chunk '
        'FROM ONLY %s t WHERE %s) s GROUP BY chunk',
        relid, CASE WHEN hash_expr IS NULL THEN 'true'
                    ELSE format('%s BETWEEN %s AND %s', hash_expr, mins[i], maxs[i]) END)
    LOOP
      PERFORM steward.remote_run(conn, format('INSERT INTO %1$s (%3$s) SELECT %3$s FROM unnest(%2$L::%1$s[])',
                                              shard, lit, steward.column_names(relid)));
    END LOOP;
    PERFORM steward.remote_run_all(conn, steward.shard_index_ddl(relid, shard_ids[i], 'all'));
  END LOOP;
  FOR i IN 1 .. coalesce(array_length(shard_ids, 1), 0) LOOP
    PERFORM steward.remote_run_all(steward.node_connection((steward.node_of_group(group_ids[i])).nodeid),
                                   steward.foreign_key_ddl(relid, shard_ids[i]));
  END LOOP;
  -- the rows live in the shards now; local tables that still reference them by a foreign
  -- key are not checked (they get distributed too, or the key means nothing anymore)
  IF EXISTS (SELECT 1 FROM pg_constraint k WHERE k.confrelid = relid AND k.contype = 'f' AND k.conrelid <> relid) THEN
    PERFORM set_config('session_replication_role', 'replica', true);
    EXECUTE format('DELETE FROM ONLY %s', relid);
    PERFORM set_config('session_replication_role', 'origin', true);
  ELSE
    EXECUTE format('TRUNCATE ONLY %s', relid);
  END IF;
  -- the shards are complete: their records go when this transaction commits
  DELETE FROM steward.pg_dist_cleanup c WHERE c.operation_id = create_shards_with_data.operation_id;
END
$fn$;

-- Failure handling of an operation: after an error or a cancel, the remote objects
-- recorded for the operation are dropped at once. A canceller may repeat its cancel
-- while it waits (the executor does every 250 ms, and citus_job_cancel signals too):
-- a cancel that hits the cleanup restarts it, so that it still completes (what it
-- cannot do is left to citus_cleanup_orphaned_resources).
CREATE FUNCTION steward.fail_operation(operation_id bigint) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  attempt integer;
BEGIN
  FOR attempt IN 1 .. 20 LOOP
    BEGIN
      PERFORM steward.remote_close_all();
      PERFORM steward.cleanup_resources(operation_id, true);
      PERFORM steward.remote_close_all();
      RETURN;
    EXCEPTION
      WHEN query_canceled THEN
        NULL;
      WHEN OTHERS THEN
        RAISE WARNING 'could not clean up after the failed operation %: %', operation_id, SQLERRM;
        RETURN;
    END;
  END LOOP;
END
$fn$;

CREATE FUNCTION steward.ensure_table_can_be_distributed(relid regclass) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  IF relid IS NULL THEN
    RAISE EXCEPTION 'table_name cannot be NULL';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relid AND relkind = 'r') THEN
    RAISE EXCEPTION '% is not a regular table', relid;
  END IF;
  IF EXISTS (SELECT 1 FROM steward.pg_dist_partition WHERE logicalrelid = relid) THEN
    RAISE EXCEPTION 'table "%" is already distributed', (SELECT relname FROM pg_class WHERE oid = relid)
      USING ERRCODE = 'invalid_table_definition';
  END IF;
  IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = relid), 'USAGE') THEN
    RAISE EXCEPTION 'must be owner of table %', (SELECT relname FROM pg_class WHERE oid = relid)
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$fn$;

CREATE FUNCTION steward.create_distributed_table(table_name regclass,
                                                 distribution_column text,
                                                 distribution_type steward.distribution_type DEFAULT 'hash',
                                                 colocate_with text DEFAULT 'default',
                                                 shard_count integer DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  relid regclass := table_name;
  col pg_attribute;
  hash_fn regproc;
  colocation integer;
  count integer := coalesce(shard_count, current_setting('steward.shard_count', true)::integer, 32);
  with_table regclass;
  increment bigint;
  nodes integer[];
  ids bigint[] := '{}';
  mins integer[] := '{}';
  maxs integer[] := '{}';
  groups integer[] := '{}';
  peer_groups integer[];
  op bigint;
  i integer;
BEGIN
  PERFORM steward.ensure_table_can_be_distributed(relid);
  IF distribution_column IS NULL THEN
    RAISE EXCEPTION 'distribution_column cannot be NULL';
  END IF;
  IF distribution_type IS DISTINCT FROM 'hash' THEN
    RAISE EXCEPTION 'only hash distribution is supported' USING ERRCODE = 'feature_not_supported';
  END IF;
  IF count < 1 OR count > 64000 THEN
    RAISE EXCEPTION '% is outside the valid range for parameter "shard_count" (1 .. 64000)', count;
  END IF;
  SELECT * INTO col FROM pg_attribute a
   WHERE a.attrelid = relid AND a.attname = distribution_column AND a.attnum > 0 AND NOT a.attisdropped;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'column "%" of relation "%" does not exist', distribution_column,
                    (SELECT relname FROM pg_class WHERE oid = relid)
      USING ERRCODE = 'undefined_column';
  END IF;
  hash_fn := steward.hash_function(col.atttypid);
  IF hash_fn IS NULL THEN
    RAISE EXCEPTION 'could not identify a hash function for type %', format_type(col.atttypid, NULL)
      USING ERRCODE = 'undefined_function',
            DETAIL = 'Partition column types must have a hash function defined to use hash partitioning.';
  END IF;
  EXECUTE format('LOCK TABLE %s IN EXCLUSIVE MODE', relid);
  LOCK TABLE steward.pg_dist_colocation IN EXCLUSIVE MODE;

  -- the colocation group
  IF lower(colocate_with) = 'default' THEN
    SELECT c.colocationid INTO colocation FROM steward.pg_dist_colocation c
     WHERE c.shardcount = count AND c.replicationfactor = 1
       AND c.distributioncolumntype = col.atttypid AND c.distributioncolumncollation = col.attcollation
     ORDER BY c.colocationid LIMIT 1;
  ELSIF lower(colocate_with) <> 'none' THEN
    with_table := colocate_with::regclass;
    SELECT p.colocationid INTO colocation FROM steward.pg_dist_partition p
     WHERE p.logicalrelid = with_table AND p.partmethod = 'h';
    IF NOT FOUND THEN
      RAISE EXCEPTION 'cannot distribute relation'
        USING DETAIL = format('Relation %s is not distributed.', with_table);
    END IF;
    IF (SELECT distributioncolumntype FROM steward.pg_dist_colocation c WHERE c.colocationid = colocation)
       <> col.atttypid THEN
      RAISE EXCEPTION 'cannot colocate tables % and %', with_table, relid
        USING DETAIL = format('Distribution column types don''t match for %s and %s.', with_table, relid);
    END IF;
    IF shard_count IS NOT NULL AND shard_count <>
       (SELECT shardcount FROM steward.pg_dist_colocation c WHERE c.colocationid = colocation) THEN
      RAISE EXCEPTION 'Cannot colocate tables with different shard counts'
        USING DETAIL = format('Relation %s has %s shards while shard_count is %s.', with_table,
                              (SELECT shardcount FROM steward.pg_dist_colocation c WHERE c.colocationid = colocation),
                              shard_count);
    END IF;
    count := (SELECT shardcount FROM steward.pg_dist_colocation c WHERE c.colocationid = colocation);
  END IF;
  IF colocation IS NULL THEN
    INSERT INTO steward.pg_dist_colocation (colocationid, shardcount, replicationfactor,
                                            distributioncolumntype, distributioncolumncollation)
    VALUES (nextval('steward.pg_dist_colocationid_seq'), count, 1, col.atttypid, col.attcollation)
    RETURNING colocationid INTO colocation;
  END IF;

  -- placements follow a table of the group, or go round-robin
  SELECT array_agg(p.groupid ORDER BY s.shardminvalue::integer) INTO peer_groups
    FROM steward.pg_dist_shard s JOIN steward.pg_dist_placement p USING (shardid)
   WHERE s.logicalrelid = (SELECT t.logicalrelid FROM steward.pg_dist_partition t
                            WHERE t.colocationid = colocation ORDER BY t.logicalrelid::oid LIMIT 1)
     AND p.shardstate = 1;
  IF peer_groups IS NULL THEN
    SELECT array_agg(n.groupid) INTO nodes FROM steward.shard_placement_nodes() n;
    IF nodes IS NULL THEN
      RAISE EXCEPTION 'no worker nodes are available for placing shards'
        USING HINT = 'Add more worker nodes.';
    END IF;
  END IF;

  increment := 4294967296 / count;
  FOR i IN 0 .. count - 1 LOOP
    ids := ids || nextval('steward.pg_dist_shardid_seq');
    mins := mins || (-2147483648 + i * increment)::integer;
    maxs := maxs || CASE WHEN i = count - 1 THEN 2147483647
                         ELSE (-2147483648 + (i + 1) * increment - 1) END::integer;
    groups := groups || coalesce(peer_groups[i + 1], nodes[i % array_length(nodes, 1) + 1]);
  END LOOP;

  INSERT INTO steward.pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel, autoconverted)
  VALUES (relid, 'h',
          format('{VAR :varno 1 :varattno %s :vartype %s :vartypmod %s :varcollid %s :varlevelsup 0 :varnosyn 1 :varattnosyn %s :location -1}',
                 col.attnum, col.atttypid, col.atttypmod, col.attcollation, col.attnum),
          colocation, 's', false);
  INSERT INTO steward.pg_dist_shard (logicalrelid, shardid, shardstorage, shardminvalue, shardmaxvalue)
  SELECT relid, ids[k], 't', mins[k]::text, maxs[k]::text FROM generate_subscripts(ids, 1) k;
  INSERT INTO steward.pg_dist_placement (shardid, shardstate, shardlength, groupid)
  SELECT ids[k], 1, 0, groups[k] FROM generate_subscripts(ids, 1) k;

  op := nextval('steward.pg_dist_operationid_seq');
  PERFORM pg_advisory_xact_lock(1398230864, op::integer);
  BEGIN
    PERFORM steward.create_shards_with_data(relid, op, ids, mins, maxs, groups,
                                            format('%s(t.%I)', hash_fn, col.attname));
  EXCEPTION
    WHEN query_canceled OR others THEN  -- OTHERS alone lets a cancel through
      PERFORM steward.fail_operation(op);
      RAISE;
  END;
  PERFORM steward.remote_close_all();
END
$fn$;

CREATE FUNCTION steward.create_reference_table(table_name regclass) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  relid regclass := table_name;
  colocation integer;
  shard bigint;
  groups integer[];
  op bigint;
BEGIN
  PERFORM steward.ensure_table_can_be_distributed(relid);
  EXECUTE format('LOCK TABLE %s IN EXCLUSIVE MODE', relid);
  LOCK TABLE steward.pg_dist_colocation IN EXCLUSIVE MODE;
  SELECT array_agg(groupid ORDER BY nodename, nodeport) INTO groups FROM steward.pg_dist_node
   WHERE isactive AND noderole = 'primary';
  IF groups IS NULL THEN
    RAISE EXCEPTION 'no worker nodes are available for placing shards'
      USING HINT = 'Add more worker nodes.';
  END IF;
  SELECT c.colocationid INTO colocation FROM steward.pg_dist_colocation c
   WHERE c.shardcount = 1 AND c.replicationfactor = -1 AND c.distributioncolumntype = 0
   ORDER BY c.colocationid LIMIT 1;
  IF colocation IS NULL THEN
    INSERT INTO steward.pg_dist_colocation (colocationid, shardcount, replicationfactor,
                                            distributioncolumntype, distributioncolumncollation)
    VALUES (nextval('steward.pg_dist_colocationid_seq'), 1, -1, 0, 0)
    RETURNING colocationid INTO colocation;
  END IF;
  shard := nextval('steward.pg_dist_shardid_seq');
  INSERT INTO steward.pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel, autoconverted)
  VALUES (relid, 'n', NULL, colocation, 't', false);
  INSERT INTO steward.pg_dist_shard (logicalrelid, shardid, shardstorage, shardminvalue, shardmaxvalue)
  VALUES (relid, shard, 't', NULL, NULL);
  INSERT INTO steward.pg_dist_placement (shardid, shardstate, shardlength, groupid)
  SELECT shard, 1, 0, g FROM unnest(groups) g;

  op := nextval('steward.pg_dist_operationid_seq');
  PERFORM pg_advisory_xact_lock(1398230864, op::integer);
  BEGIN
    PERFORM steward.create_shards_with_data(relid, op, array_fill(shard, ARRAY[array_length(groups, 1)]),
                                            NULL, NULL, groups, NULL);
  EXCEPTION
    WHEN query_canceled OR others THEN  -- OTHERS alone lets a cancel through
      PERFORM steward.fail_operation(op);
      RAISE;
  END;
  PERFORM steward.remote_close_all();
END
$fn$;

-- ---------------------------------------------------------------------------------
-- citus_shards

-- Size (pg_total_relation_size) of every shard placement on every active node;
-- NULL for a placement whose node cannot be reached or whose table is missing.
CREATE FUNCTION steward.shard_placement_sizes()
  RETURNS TABLE (shardid bigint, groupid integer, size bigint)
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  node steward.pg_dist_node;
  names text[];
  ids bigint[];
  sizes bigint[];
BEGIN
  FOR node IN SELECT * FROM steward.pg_dist_node WHERE isactive ORDER BY nodeid LOOP
    SELECT array_agg(p.shardid ORDER BY p.shardid), array_agg(steward.shard_name(p.shardid) ORDER BY p.shardid)
      INTO ids, names
      FROM steward.pg_dist_placement p WHERE p.groupid = node.groupid;
    CONTINUE WHEN ids IS NULL;
    BEGIN
      sizes := steward.remote_run(steward.node_connection(node.nodeid), format(
        'SELECT array_agg(pg_total_relation_size(to_regclass(n)) ORDER BY o) FROM unnest(%L::text[]) WITH ORDINALITY AS u(n, o)',
        names))::bigint[];
    EXCEPTION WHEN OTHERS THEN
      sizes := NULL;
    END;
    RETURN QUERY SELECT ids[k], node.groupid, sizes[k] FROM generate_subscripts(ids, 1) k;
  END LOOP;
  PERFORM steward.remote_close_all();
END
$fn$;

CREATE VIEW steward.citus_shards AS
SELECT s.logicalrelid AS table_name,
       s.shardid,
       CASE WHEN c.relnamespace = 'public'::regnamespace THEN quote_ident(c.relname || '_' || s.shardid)
            ELSE steward.shard_name(s.logicalrelid, s.shardid) END AS shard_name,
       CASE t.partmethod WHEN 'n' THEN 'reference' ELSE 'distributed' END AS citus_table_type,
       t.colocationid AS colocation_id,
       n.nodename,
       n.nodeport,
       z.size AS shard_size
  FROM steward.pg_dist_shard s
  JOIN steward.pg_dist_partition t USING (logicalrelid)
  JOIN pg_class c ON c.oid = s.logicalrelid
  JOIN steward.pg_dist_placement p USING (shardid)
  JOIN steward.pg_dist_node n ON n.groupid = p.groupid
  LEFT JOIN steward.shard_placement_sizes() z ON z.shardid = p.shardid AND z.groupid = p.groupid
 ORDER BY s.logicalrelid::text, s.shardid, n.nodename, n.nodeport;

GRANT SELECT ON steward.citus_shards TO PUBLIC;
