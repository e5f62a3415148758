-- Cluster metadata (citus-reference §3.10, §6; DESIGN.md "Cluster model and shard moves"):
-- the node, table, shard, placement, colocation and cleanup catalogs with Citus's table
-- and column names, the node management functions, and the helpers every cluster
-- function uses to talk to worker nodes through dblink.
--
-- Node connections: 'host=<nodename> port=<nodeport> dbname=<current_database()>
-- user=<current_user>', then the GUC steward.node_conninfo (appended for every node,
-- e.g. 'sslmode=require' or 'passfile=/etc/steward/pgpass'), then the node's own
-- pg_dist_node.nodeconninfo (a Steward column; later keywords win in libpq).
-- The coordinator's own database (for work that must commit on its own, such as progress
-- rows and cleanup records) is reached through the GUC steward.coordinator_conninfo, or
-- by default through this server's port and its first unix socket directory (or the
-- address the session connected to).
--
-- Workers get a schema `steward` holding the dblink extension (used to pull rows from
-- another worker during a move) and steward.reject_write() (the trigger function that
-- makes an old placement unwritable). Opening connections without a password is
-- reserved to superusers by dblink, so cluster functions run as a superuser.
--
-- Advisory locks (two-int4 form): ('SWMV' = 1398230358, colocationid) is held by a move
-- of a shard group for the whole transaction; ('SWOP' = 1398230864, operation_id) by any
-- operation that has pg_dist_cleanup records, so that cleanup skips running operations.

CREATE EXTENSION IF NOT EXISTS dblink SCHEMA steward;

DO $chk$
BEGIN
  IF to_regprocedure('steward.dblink_connect(text,text)') IS NULL THEN
    RAISE EXCEPTION 'the dblink extension is installed outside schema steward'
      USING HINT = 'ALTER EXTENSION dblink SET SCHEMA steward;';
  END IF;
END
$chk$;

CREATE TYPE steward.noderole AS ENUM ('primary', 'secondary', 'unavailable');
CREATE TYPE steward.distribution_type AS ENUM ('hash', 'range', 'append');
CREATE TYPE steward.shard_transfer_mode AS ENUM ('auto', 'force_logical', 'block_writes');

CREATE SEQUENCE steward.pg_dist_node_nodeid_seq AS integer MINVALUE 1;
CREATE SEQUENCE steward.pg_dist_groupid_seq AS integer MINVALUE 1;
CREATE SEQUENCE steward.pg_dist_colocationid_seq AS integer MINVALUE 1;
CREATE SEQUENCE steward.pg_dist_shardid_seq MINVALUE 102008 START 102008;
CREATE SEQUENCE steward.pg_dist_placement_placementid_seq MINVALUE 1;
CREATE SEQUENCE steward.pg_dist_cleanup_recordid_seq MINVALUE 1;
CREATE SEQUENCE steward.pg_dist_operationid_seq MINVALUE 1;

CREATE TABLE steward.pg_dist_node (
  nodeid integer NOT NULL DEFAULT nextval('steward.pg_dist_node_nodeid_seq'),
  groupid integer NOT NULL DEFAULT nextval('steward.pg_dist_groupid_seq'),
  nodename text NOT NULL,
  nodeport integer NOT NULL DEFAULT 5432,
  noderack text NOT NULL DEFAULT 'default',
  hasmetadata boolean NOT NULL DEFAULT false,
  isactive boolean NOT NULL DEFAULT true,
  noderole steward.noderole NOT NULL DEFAULT 'primary',
  nodecluster name NOT NULL DEFAULT 'default',
  metadatasynced boolean DEFAULT false,
  shouldhaveshards boolean NOT NULL DEFAULT true,
  nodeconninfo text,  -- Steward: appended to this node's connection string
  CONSTRAINT pg_dist_node_pkey PRIMARY KEY (nodeid),
  CONSTRAINT pg_dist_node_nodename_nodeport_key UNIQUE (nodename, nodeport)
);
ALTER SEQUENCE steward.pg_dist_node_nodeid_seq OWNED BY steward.pg_dist_node.nodeid;

CREATE TABLE steward.pg_dist_colocation (
  colocationid integer NOT NULL,
  shardcount integer NOT NULL,
  replicationfactor integer NOT NULL,
  distributioncolumntype oid NOT NULL,
  distributioncolumncollation oid NOT NULL DEFAULT 0,
  CONSTRAINT pg_dist_colocation_pkey PRIMARY KEY (colocationid)
);
CREATE INDEX pg_dist_colocation_configuration_index
  ON steward.pg_dist_colocation (shardcount, replicationfactor, distributioncolumntype,
                                 distributioncolumncollation);

CREATE TABLE steward.pg_dist_partition (
  logicalrelid regclass NOT NULL,
  partmethod "char" NOT NULL,
  partkey text,
  colocationid integer NOT NULL DEFAULT 0,
  repmodel "char" NOT NULL DEFAULT 'c',
  autoconverted boolean DEFAULT false,
  CONSTRAINT pg_dist_partition_logical_relid_index UNIQUE (logicalrelid)
);
CREATE INDEX pg_dist_partition_colocationid_index ON steward.pg_dist_partition (colocationid);

CREATE TABLE steward.pg_dist_shard (
  logicalrelid regclass NOT NULL,
  shardid bigint NOT NULL,
  shardstorage "char" NOT NULL,
  shardalias text,
  shardminvalue text,
  shardmaxvalue text,
  CONSTRAINT pg_dist_shard_shardid_index UNIQUE (shardid)
);
CREATE INDEX pg_dist_shard_logical_relid_index ON steward.pg_dist_shard (logicalrelid);

CREATE TABLE steward.pg_dist_placement (
  placementid bigint NOT NULL DEFAULT nextval('steward.pg_dist_placement_placementid_seq'),
  shardid bigint NOT NULL,
  shardstate integer NOT NULL DEFAULT 1,
  shardlength bigint NOT NULL DEFAULT 0,
  groupid integer NOT NULL,
  CONSTRAINT pg_dist_placement_placementid_index UNIQUE (placementid)
);
CREATE INDEX pg_dist_placement_groupid_index ON steward.pg_dist_placement (groupid);
CREATE INDEX pg_dist_placement_shardid_index ON steward.pg_dist_placement (shardid);

-- object_type: 1 shard placement (a table), 2 subscription, 3 replication slot,
-- 4 publication; policy_type: 0 always, 1 on failure, 2 deferred on success (Citus's).
CREATE TABLE steward.pg_dist_cleanup (
  record_id bigint NOT NULL DEFAULT nextval('steward.pg_dist_cleanup_recordid_seq'),
  operation_id bigint NOT NULL,
  object_type integer NOT NULL,
  object_name text NOT NULL,
  node_group_id integer NOT NULL,
  policy_type integer NOT NULL,
  CONSTRAINT pg_dist_cleanup_pkey PRIMARY KEY (record_id)
);

GRANT SELECT ON steward.pg_dist_node, steward.pg_dist_colocation, steward.pg_dist_partition,
                steward.pg_dist_shard, steward.pg_dist_placement, steward.pg_dist_cleanup
  TO PUBLIC;

-- ---------------------------------------------------------------------------------
-- Connections

-- A libpq connection-string value, quoted.
CREATE FUNCTION steward.conninfo_quote(value text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT
  AS $fn$ SELECT '''' || replace(replace(value, '\', '\\'), '''', '\''') || '''' $fn$;

CREATE FUNCTION steward.node_conninfo(node_id integer) RETURNS text
  LANGUAGE plpgsql STABLE
  AS $fn$
DECLARE
  n steward.pg_dist_node;
BEGIN
  SELECT * INTO n FROM steward.pg_dist_node WHERE nodeid = node_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'node % could not be found', node_id;
  END IF;
  RETURN concat_ws(' ',
    'host=' || steward.conninfo_quote(n.nodename),
    'port=' || n.nodeport,
    'dbname=' || steward.conninfo_quote(current_database()),
    'user=' || steward.conninfo_quote(current_user),
    nullif(current_setting('steward.node_conninfo', true), ''),
    nullif(n.nodeconninfo, ''));
END
$fn$;

CREATE FUNCTION steward.coordinator_conninfo() RETURNS text
  LANGUAGE plpgsql STABLE
  AS $fn$
DECLARE
  configured text := nullif(current_setting('steward.coordinator_conninfo', true), '');
  host text := coalesce(host(inet_server_addr()),
                        nullif(trim(split_part(current_setting('unix_socket_directories'), ',', 1)), ''),
                        '127.0.0.1');
BEGIN
  RETURN concat_ws(' ',
    'host=' || steward.conninfo_quote(host),
    'port=' || current_setting('port'),
    'dbname=' || steward.conninfo_quote(current_database()),
    'user=' || steward.conninfo_quote(current_user),
    configured);
END
$fn$;

-- Opens the named dblink connection unless it is open already.
CREATE FUNCTION steward.remote_open(conn text, conninfo text) RETURNS text
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  IF conn = ANY (coalesce(steward.dblink_get_connections(), '{}')) THEN
    RETURN conn;
  END IF;
  BEGIN
    PERFORM steward.dblink_connect(conn, conninfo || ' application_name=steward');
  EXCEPTION WHEN SQLSTATE '2F003' THEN   -- dblink: a non-superuser without a password
    RAISE EXCEPTION 'only superusers can run cluster operations'
      USING ERRCODE = 'insufficient_privilege', DETAIL = SQLERRM,
            HINT = 'Steward reaches the nodes through dblink without a password, which PostgreSQL allows only to superusers.';
  END;
  -- a remote backend notices within a second that this session has gone
  PERFORM steward.dblink_exec(conn, 'SET client_connection_check_interval = 1000');
  RETURN conn;
END
$fn$;

-- Runs one statement on a named connection and returns its first column of its first row
-- (or the command tag). Waits without blocking interrupts, so that a cancel or terminate
-- of this backend takes effect at once (the exception handlers then close the connection,
-- which cancels the remote statement and rolls back the remote transaction).
CREATE FUNCTION steward.remote_run(conn text, command text) RETURNS text
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  result text;
  delay double precision := 0.0005;
BEGIN
  IF steward.dblink_send_query(conn, command) <> 1 THEN
    RAISE EXCEPTION 'could not send a command to %: %', conn, steward.dblink_error_message(conn);
  END IF;
  WHILE steward.dblink_is_busy(conn) = 1 LOOP
    PERFORM pg_sleep(delay);
    delay := least(delay * 2, 0.02);
  END LOOP;
  BEGIN
    SELECT t.v INTO result FROM steward.dblink_get_result(conn, true) AS t(v text);
  EXCEPTION WHEN OTHERS THEN
    -- read the end of the result, so that the connection can take the next command
    BEGIN
      PERFORM 1 FROM steward.dblink_get_result(conn, false) AS t(v text);
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
    RAISE;
  END;
  PERFORM 1 FROM steward.dblink_get_result(conn, true) AS t(v text);
  RETURN result;
END
$fn$;

-- Closes every connection opened by the cluster functions, cancelling what still runs.
CREATE FUNCTION steward.remote_close_all() RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  conn text;
BEGIN
  FOREACH conn IN ARRAY coalesce(steward.dblink_get_connections(), '{}') LOOP
    CONTINUE WHEN conn NOT LIKE 'steward\_%';
    BEGIN
      IF steward.dblink_is_busy(conn) = 1 THEN
        PERFORM steward.dblink_cancel_query(conn);
      END IF;
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
    BEGIN
      PERFORM steward.dblink_disconnect(conn);
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
  END LOOP;
END
$fn$;

-- Runs one statement on the coordinator's own database in a connection of its own, so it
-- commits (and is visible to other sessions) whatever becomes of the calling transaction.
CREATE FUNCTION steward.autonomous(command text) RETURNS text
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  RETURN steward.remote_run(steward.remote_open('steward_self', steward.coordinator_conninfo()),
                            command);
END
$fn$;

-- The connection to a worker node, opened (and the worker prepared) on first use.
CREATE FUNCTION steward.node_connection(node_id integer) RETURNS text
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  conn text := 'steward_node_' || node_id;
  n steward.pg_dist_node;
BEGIN
  IF conn = ANY (coalesce(steward.dblink_get_connections(), '{}')) THEN
    RETURN conn;
  END IF;
  BEGIN
    PERFORM steward.remote_open(conn, steward.node_conninfo(node_id));
  EXCEPTION WHEN sqlclient_unable_to_establish_sqlconnection THEN
    SELECT * INTO n FROM steward.pg_dist_node d WHERE d.nodeid = node_id;
    RAISE EXCEPTION 'connection to the remote node %:% failed', n.nodename, n.nodeport
      USING ERRCODE = 'connection_failure', DETAIL = SQLERRM;
  END;
  PERFORM steward.remote_run(conn, $r$
DO $prep$
BEGIN
  IF to_regprocedure('steward.reject_write()') IS NOT NULL THEN
    RETURN;
  END IF;
  -- One session at a time prepares a node ('SWPR'): moves to a new node start together.
  -- Advisory locks do not refresh the catalog caches, so a session that waited may still
  -- miss what the other created: a duplicate then means the node is ready.
  PERFORM pg_advisory_xact_lock(1398231122, 0);
  BEGIN
    CREATE SCHEMA IF NOT EXISTS steward;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'dblink') THEN
      CREATE EXTENSION dblink SCHEMA steward;
    END IF;
    CREATE FUNCTION steward.reject_write() RETURNS trigger LANGUAGE plpgsql AS $body$
    BEGIN
      RAISE EXCEPTION 'shard placement % is no longer in use', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME
        USING ERRCODE = 'read_only_sql_transaction',
              DETAIL = 'The shard was moved to another node.';
    END
    $body$;
  EXCEPTION WHEN unique_violation OR duplicate_object OR duplicate_function OR duplicate_schema THEN
    RETURN;
  END;
END
$prep$$r$);
  RETURN conn;
END
$fn$;

-- ---------------------------------------------------------------------------------
-- Nodes

CREATE FUNCTION steward.citus_add_node(nodename text,
                                       nodeport integer,
                                       groupid integer DEFAULT -1,
                                       noderole steward.noderole DEFAULT 'primary',
                                       nodecluster name DEFAULT 'default',
                                       nodeconninfo text DEFAULT NULL)
  RETURNS integer
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  id integer;
BEGIN
  IF nodename IS NULL OR nodeport IS NULL THEN
    RAISE EXCEPTION 'node name and port cannot be NULL';
  END IF;
  LOCK TABLE steward.pg_dist_node IN EXCLUSIVE MODE;
  SELECT n.nodeid INTO id FROM steward.pg_dist_node n
   WHERE n.nodename = citus_add_node.nodename AND n.nodeport = citus_add_node.nodeport;
  IF FOUND THEN
    RETURN id;
  END IF;
  INSERT INTO steward.pg_dist_node (groupid, nodename, nodeport, hasmetadata, isactive,
                                    noderole, nodecluster, metadatasynced, shouldhaveshards,
                                    nodeconninfo)
  VALUES (CASE WHEN citus_add_node.groupid IS NULL OR citus_add_node.groupid < 0
               THEN nextval('steward.pg_dist_groupid_seq')::integer
               ELSE citus_add_node.groupid END,
          citus_add_node.nodename, citus_add_node.nodeport, true, true,
          citus_add_node.noderole, citus_add_node.nodecluster, true, true,
          citus_add_node.nodeconninfo)
  RETURNING pg_dist_node.nodeid INTO id;
  RETURN id;
END
$fn$;

CREATE FUNCTION steward.find_node(nodename text, nodeport integer) RETURNS steward.pg_dist_node
  LANGUAGE plpgsql STABLE
  AS $fn$
DECLARE
  n steward.pg_dist_node;
BEGIN
  SELECT * INTO n FROM steward.pg_dist_node d
   WHERE d.nodename = find_node.nodename AND d.nodeport = find_node.nodeport;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'node at "%:%" does not exist', nodename, nodeport;
  END IF;
  RETURN n;
END
$fn$;

-- Errors unless every placement on the node's group can go: the only placement of a
-- distributed table's shard keeps a node.
CREATE FUNCTION steward.error_if_node_holds_shards(n steward.pg_dist_node) RETURNS void
  LANGUAGE plpgsql STABLE
  AS $fn$
DECLARE
  shard record;
BEGIN
  SELECT s.shardid, s.logicalrelid INTO shard
    FROM steward.pg_dist_placement p
    JOIN steward.pg_dist_shard s USING (shardid)
    JOIN steward.pg_dist_partition t USING (logicalrelid)
   WHERE p.groupid = n.groupid AND t.partmethod <> 'n'
     AND NOT EXISTS (SELECT 1 FROM steward.pg_dist_placement o
                      JOIN steward.pg_dist_node m ON m.groupid = o.groupid
                     WHERE o.shardid = p.shardid AND o.groupid <> p.groupid AND m.isactive)
   ORDER BY s.shardid LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'cannot remove or disable the node %:% because because it contains the only shard placement for shard %',
                    n.nodename, n.nodeport, shard.shardid
      USING DETAIL = format('One of the table(s) that prevents the operation complete successfully is %s',
                            shard.logicalrelid::regclass),
            HINT = 'To proceed, either drop the tables or use undistribute_table() function to convert them to local tables';
  END IF;
END
$fn$;

CREATE FUNCTION steward.citus_remove_node(nodename text, nodeport integer) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  n steward.pg_dist_node;
BEGIN
  LOCK TABLE steward.pg_dist_node IN EXCLUSIVE MODE;
  n := steward.find_node(nodename, nodeport);
  PERFORM steward.error_if_node_holds_shards(n);
  -- reference-table placements of the node go with it
  DELETE FROM steward.pg_dist_placement p
   WHERE p.groupid = n.groupid
     AND NOT EXISTS (SELECT 1 FROM steward.pg_dist_node o
                      WHERE o.groupid = n.groupid AND o.nodeid <> n.nodeid);
  DELETE FROM steward.pg_dist_node WHERE pg_dist_node.nodeid = n.nodeid;
END
$fn$;

CREATE FUNCTION steward.citus_disable_node(nodename text, nodeport integer,
                                           synchronous boolean DEFAULT false)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  n steward.pg_dist_node;
BEGIN
  n := steward.find_node(nodename, nodeport);
  PERFORM steward.error_if_node_holds_shards(n);
  IF EXISTS (SELECT 1 FROM steward.pg_dist_placement p WHERE p.groupid = n.groupid) THEN
    RAISE NOTICE 'Node %:% has active shard placements. Some queries may fail after this operation. Use SELECT citus_activate_node(''%'', %) to activate this node back.',
                 n.nodename, n.nodeport, n.nodename, n.nodeport;
  END IF;
  UPDATE steward.pg_dist_node SET isactive = false WHERE pg_dist_node.nodeid = n.nodeid;
END
$fn$;

CREATE FUNCTION steward.citus_activate_node(nodename text, nodeport integer) RETURNS integer
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  n steward.pg_dist_node;
BEGIN
  n := steward.find_node(nodename, nodeport);
  UPDATE steward.pg_dist_node SET isactive = true WHERE pg_dist_node.nodeid = n.nodeid;
  RETURN n.nodeid;
END
$fn$;

CREATE FUNCTION steward.citus_set_node_property(nodename text, nodeport integer,
                                                property text, value boolean)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  n steward.pg_dist_node;
BEGIN
  IF property IS DISTINCT FROM 'shouldhaveshards' THEN
    RAISE EXCEPTION 'only the ''shouldhaveshards'' property can be set using this function';
  END IF;
  n := steward.find_node(nodename, nodeport);
  UPDATE steward.pg_dist_node SET shouldhaveshards = value WHERE pg_dist_node.nodeid = n.nodeid;
END
$fn$;
