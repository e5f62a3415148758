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
    PERFORM pg_stat_clear_snapshot();   -- see other backends come and go
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

-- Starts a move in a background session (dblink connection conn) that stops on
-- entering phase pause_at while this session holds the advisory lock (1398230096, 1);
-- returns the pid of the moving backend once it waits there (NULL if it never does).
CREATE FUNCTION start_paused_move(conn text, shard bigint, source integer, target integer,
                                  mode text, pause_at text) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  pid integer;
BEGIN
  PERFORM dblink_connect(conn, self_conninfo());
  SELECT p INTO pid FROM dblink(conn, 'SELECT pg_backend_pid()') AS t(p integer);
  PERFORM dblink_exec(conn, format('SET steward.move_pause_at = %L', pause_at));
  PERFORM dblink_send_query(conn, format('SELECT citus_move_shard_placement(%s, %s, %s, %L)',
                                         shard, source, target, mode));
  IF NOT wait_until(format($q$SELECT EXISTS (SELECT 1 FROM steward.shard_move_progress p
                                              JOIN pg_locks l ON l.pid = p.sessionid AND NOT l.granted
                                                          AND l.locktype = 'advisory'
                                             WHERE p.sessionid = %s)$q$, pid)) THEN
    RETURN NULL;
  END IF;
  RETURN pid;
END
$$;

-- Waits until a backend has exited.
CREATE FUNCTION wait_for_exit(backend integer) RETURNS boolean
  LANGUAGE sql AS $$
SELECT wait_until(format('SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)', backend))
$$;

RESET client_min_messages;
-- a scenario that goes wrong fails instead of hanging
SET statement_timeout = '120s';
\o
\set ECHO all
