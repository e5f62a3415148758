\set ECHO none
-- Helpers of the cluster scenarios (included with \i, output hidden): they look at the
-- workers through dblink and wait on conditions with bounded polls.
\o /dev/null
SET client_min_messages = warning;

-- Runs a one-column query on a node and returns its first value as text.
CREATE FUNCTION on_node(node_id integer, query text) RETURNS text
  LANGUAGE sql AS $$ SELECT v FROM dblink(steward.node_conninfo(node_id), query) AS t(v text) LIMIT 1 $$;

CREATE FUNCTION on_port(port integer, query text) RETURNS text
  LANGUAGE sql AS $$ SELECT on_node((SELECT nodeid FROM pg_dist_node WHERE nodeport = port), query) $$;

-- Every placement of a table: its node, row count, rows outside its hash range (by the
-- type's hash function, computed on the worker) and a checksum of its rows.
CREATE FUNCTION placement_rows(rel regclass)
  RETURNS TABLE (shardid bigint, node text, row_count bigint, misplaced bigint, checksum bigint)
  LANGUAGE sql AS $$
SELECT s.shardid, 'worker_' || n.nodeid,
       r.total, r.misplaced, r.checksum
  FROM pg_dist_shard s
  JOIN pg_dist_placement p USING (shardid)
  JOIN pg_dist_node n ON n.groupid = p.groupid
  CROSS JOIN LATERAL dblink(steward.node_conninfo(n.nodeid), format(
      'SELECT count(*), count(*) FILTER (WHERE NOT (%s)), coalesce(sum(hashtext(t::text)), 0) FROM %s t',
      CASE WHEN s.shardminvalue IS NULL THEN 'true' ELSE format('%s(%I) BETWEEN %s AND %s',
        steward.hash_function((SELECT atttypid FROM pg_attribute
                                WHERE attrelid = rel AND attname = steward.distribution_column(rel))),
        steward.distribution_column(rel), s.shardminvalue, s.shardmaxvalue) END,
      steward.shard_name(rel, s.shardid))) AS r(total bigint, misplaced bigint, checksum bigint)
 WHERE s.logicalrelid = rel
 ORDER BY s.shardid, n.nodeid
$$;

-- Row count and checksum of a whole distributed table (from its placements).
CREATE FUNCTION table_summary(rel regclass) RETURNS text
  LANGUAGE sql AS $$
SELECT format('%s rows, checksum %s', sum(row_count), sum(checksum)) FROM placement_rows(rel)
$$;

-- What each worker holds: shard tables (schema public), write-blocking triggers,
-- replication slots, publications and subscriptions.
CREATE FUNCTION worker_objects()
  RETURNS TABLE (node text, shard_tables text, reject_triggers text, slots bigint,
                 publications bigint, subscriptions bigint)
  LANGUAGE sql AS $$
SELECT 'worker_' || n.nodeid, r.tables, r.triggers, r.slots, r.pubs, r.subs
  FROM pg_dist_node n
  CROSS JOIN LATERAL dblink(steward.node_conninfo(n.nodeid), $q$
    SELECT (SELECT coalesce(string_agg(relname, ' ' ORDER BY relname), '') FROM pg_class
             WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname ~ '_[0-9]+$'),
           (SELECT coalesce(string_agg(tgrelid::regclass::text, ' ' ORDER BY tgrelid::regclass::text), '')
              FROM pg_trigger WHERE tgname = 'steward_reject_write'),
           (SELECT count(*) FROM pg_replication_slots WHERE database = current_database()),
           (SELECT count(*) FROM pg_publication),
           (SELECT count(*) FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))
  $q$) AS r(tables text, triggers text, slots bigint, pubs bigint, subs bigint)
 ORDER BY n.nodeid
$$;

-- Waits (polling, at most timeout) until a query returns true; returns whether it did.
CREATE FUNCTION wait_until(query text, timeout interval DEFAULT '60 seconds') RETURNS boolean
  LANGUAGE plpgsql AS $$
DECLARE
  deadline timestamptz := clock_timestamp() + timeout;
  ok boolean;
BEGIN
  LOOP
    EXECUTE query INTO ok;
    IF ok THEN
      RETURN true;
    END IF;
    IF clock_timestamp() > deadline THEN
      RETURN false;
    END IF;
    PERFORM pg_sleep(0.01);
  END LOOP;
END
$$;

-- Connection string of this scenario's database, for background sessions.
CREATE FUNCTION self_conninfo() RETURNS text
  LANGUAGE sql AS $$ SELECT steward.coordinator_conninfo() $$;

RESET client_min_messages;
\o
\set ECHO all
