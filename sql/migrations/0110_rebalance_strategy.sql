-- Rebalance strategies (citus-reference §6.2): pg_dist_rebalance_strategy with Citus's
-- columns, the built-in by_shard_count and by_disk_size with their functions, checks of a
-- custom strategy's function signatures, and citus_add_rebalance_strategy /
-- citus_set_default_rebalance_strategy.
--
-- Settings (GUCs, read with current_setting(..., true), Citus's defaults):
--   steward.rebalancer_by_disk_size_base_cost     bytes added to every shard group's size
--                                                 by by_disk_size (default 100MB)
--   steward.max_rebalancer_logged_ignored_moves   NOTICEs for ignored moves (default 5,
--                                                 -1 = all)

CREATE TABLE steward.pg_dist_rebalance_strategy (
  name name NOT NULL,
  default_strategy boolean NOT NULL DEFAULT false,
  shard_cost_function regproc NOT NULL,
  node_capacity_function regproc NOT NULL,
  shard_allowed_on_node_function regproc NOT NULL,
  default_threshold float4 NOT NULL,
  minimum_threshold float4 NOT NULL DEFAULT 0,
  improvement_threshold float4 NOT NULL DEFAULT 0,
  CONSTRAINT pg_dist_rebalance_strategy_name_key UNIQUE (name)
);
CREATE UNIQUE INDEX pg_dist_rebalance_strategy_default_strategy_idx
  ON steward.pg_dist_rebalance_strategy (default_strategy) WHERE default_strategy;
GRANT SELECT ON steward.pg_dist_rebalance_strategy TO PUBLIC;

CREATE FUNCTION steward.citus_shard_cost_1(bigint) RETURNS real
  LANGUAGE sql IMMUTABLE AS $fn$ SELECT 1.0::real $fn$;

CREATE FUNCTION steward.citus_node_capacity_1(integer) RETURNS real
  LANGUAGE sql IMMUTABLE AS $fn$ SELECT 1.0::real $fn$;

CREATE FUNCTION steward.citus_shard_allowed_on_node_true(bigint, integer) RETURNS boolean
  LANGUAGE sql IMMUTABLE AS $fn$ SELECT true $fn$;

CREATE FUNCTION steward.by_disk_size_base_cost() RETURNS bigint
  LANGUAGE sql STABLE AS $fn$
SELECT coalesce(pg_size_bytes(nullif(current_setting('steward.rebalancer_by_disk_size_base_cost', true), '')),
                104857600)
$fn$;

-- Size in bytes of the shard group of shard_id (it and its colocated shards) on the node
-- of its first active placement, plus the base cost. The planner computes the same for
-- all shards at once instead of calling this per shard.
CREATE FUNCTION steward.citus_shard_cost_by_disk_size(shard_id bigint) RETURNS real
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  group_id integer;
  node_id integer;
  names text[];
  total bigint;
BEGIN
  SELECT p.groupid INTO group_id FROM steward.pg_dist_placement p
   WHERE p.shardid = shard_id AND p.shardstate = 1 ORDER BY p.placementid LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'could not find valid entry for shard %', shard_id;
  END IF;
  SELECT n.nodeid INTO node_id FROM steward.pg_dist_node n WHERE n.groupid = group_id;
  SELECT array_agg(steward.shard_name(c.shardid)) INTO names
    FROM steward.colocated_shards(shard_id) c;
  total := steward.remote_run(steward.node_connection(node_id), format(
    'SELECT sum(pg_total_relation_size(to_regclass(n))) FROM unnest(%L::text[]) n', names))::bigint;
  PERFORM steward.remote_close_all();
  RETURN (coalesce(total, 0) + steward.by_disk_size_base_cost())::real;
END
$fn$;

-- Shards colocated with shard_id (itself included): same colocation group, same hash
-- range; for a table of its own (colocation id 0), just the shard.
CREATE FUNCTION steward.colocated_shards(shard_id bigint)
  RETURNS TABLE (logicalrelid regclass, shardid bigint)
  LANGUAGE sql STABLE
  AS $fn$
SELECT o.logicalrelid, o.shardid
  FROM steward.pg_dist_shard s
  JOIN steward.pg_dist_partition p ON p.logicalrelid = s.logicalrelid
  JOIN steward.pg_dist_partition q ON (q.colocationid = p.colocationid AND p.colocationid <> 0)
                                   OR q.logicalrelid = p.logicalrelid
  JOIN steward.pg_dist_shard o ON o.logicalrelid = q.logicalrelid
                              AND o.shardminvalue IS NOT DISTINCT FROM s.shardminvalue
 WHERE s.shardid = shard_id
 ORDER BY o.logicalrelid::oid, o.shardid
$fn$;

-- Citus's checks of a strategy's functions.
CREATE FUNCTION steward.validate_strategy_function(fn regproc, what text, arg_types regtype[],
                                                   result_type regtype)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  p pg_proc;
  ordinal text[] := ARRAY['first', 'second'];
  k integer;
BEGIN
  SELECT * INTO p FROM pg_proc WHERE oid = fn;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'cache lookup failed for shard_cost_function with oid %', fn::oid;
  END IF;
  IF p.pronargs <> array_length(arg_types, 1) THEN
    RAISE EXCEPTION 'signature for % is incorrect', what
      USING DETAIL = format('number of arguments of %s should be %s, not %s',
                            fn, array_length(arg_types, 1), p.pronargs);
  END IF;
  FOR k IN 1 .. array_length(arg_types, 1) LOOP
    IF p.proargtypes[k - 1] <> arg_types[k]::oid THEN
      RAISE EXCEPTION 'signature for % is incorrect', what
        USING DETAIL = CASE WHEN array_length(arg_types, 1) = 1
                            THEN format('argument type of %s should be %s', fn, arg_types[k])
                            ELSE format('type of %s argument of %s should be %s', ordinal[k], fn,
                                        arg_types[k]) END;
    END IF;
  END LOOP;
  IF p.prorettype <> result_type::oid THEN
    RAISE EXCEPTION 'signature for % is incorrect', what
      USING DETAIL = format('return type of %s should be %s', fn, result_type);
  END IF;
END
$fn$;

CREATE FUNCTION steward.validate_rebalance_strategy() RETURNS trigger
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  PERFORM steward.validate_strategy_function(NEW.shard_cost_function, 'shard_cost_function',
                                             ARRAY['bigint']::regtype[], 'real');
  PERFORM steward.validate_strategy_function(NEW.node_capacity_function, 'node_capacity_function',
                                             ARRAY['integer']::regtype[], 'real');
  PERFORM steward.validate_strategy_function(NEW.shard_allowed_on_node_function,
                                             'shard_allowed_on_node_function',
                                             ARRAY['bigint', 'integer']::regtype[], 'boolean');
  IF NEW.default_threshold < NEW.minimum_threshold THEN
    RAISE EXCEPTION 'default_threshold cannot be lower than minimum_threshold';
  END IF;
  IF NEW.improvement_threshold < 0 THEN
    RAISE EXCEPTION 'improvement_threshold cannot be lower than 0';
  END IF;
  RETURN NEW;
END
$fn$;

CREATE TRIGGER pg_dist_rebalance_strategy_validation_trigger
  BEFORE INSERT OR UPDATE ON steward.pg_dist_rebalance_strategy
  FOR EACH ROW EXECUTE FUNCTION steward.validate_rebalance_strategy();

INSERT INTO steward.pg_dist_rebalance_strategy
  (name, default_strategy, shard_cost_function, node_capacity_function,
   shard_allowed_on_node_function, default_threshold, minimum_threshold, improvement_threshold)
VALUES
  ('by_shard_count', false, 'steward.citus_shard_cost_1', 'steward.citus_node_capacity_1',
   'steward.citus_shard_allowed_on_node_true', 0, 0, 0),
  ('by_disk_size', true, 'steward.citus_shard_cost_by_disk_size', 'steward.citus_node_capacity_1',
   'steward.citus_shard_allowed_on_node_true', 0.1, 0.01, 0.5);

CREATE FUNCTION steward.citus_add_rebalance_strategy(name name,
                                                     shard_cost_function regproc,
                                                     node_capacity_function regproc,
                                                     shard_allowed_on_node_function regproc,
                                                     default_threshold float4,
                                                     minimum_threshold float4 DEFAULT 0,
                                                     improvement_threshold float4 DEFAULT 0)
  RETURNS void
  LANGUAGE sql
  AS $fn$
INSERT INTO steward.pg_dist_rebalance_strategy
  (name, shard_cost_function, node_capacity_function, shard_allowed_on_node_function,
   default_threshold, minimum_threshold, improvement_threshold)
VALUES (name, shard_cost_function, node_capacity_function, shard_allowed_on_node_function,
        default_threshold, minimum_threshold, improvement_threshold)
$fn$;

CREATE FUNCTION steward.citus_set_default_rebalance_strategy(name text) RETURNS void
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM steward.pg_dist_rebalance_strategy s WHERE s.name = $1) THEN
    RAISE EXCEPTION 'strategy with specified name does not exist';
  END IF;
  UPDATE steward.pg_dist_rebalance_strategy SET default_strategy = false WHERE default_strategy;
  UPDATE steward.pg_dist_rebalance_strategy s SET default_strategy = true WHERE s.name = $1;
END
$fn$;

-- The named strategy, or the default one, with Citus's errors.
CREATE FUNCTION steward.rebalance_strategy(strategy_name name)
  RETURNS steward.pg_dist_rebalance_strategy
  LANGUAGE plpgsql STABLE
  AS $fn$
DECLARE
  s steward.pg_dist_rebalance_strategy;
BEGIN
  IF strategy_name IS NULL THEN
    SELECT * INTO s FROM steward.pg_dist_rebalance_strategy WHERE default_strategy;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no rebalance_strategy was provided, but there is also no default strategy set';
    END IF;
  ELSE
    SELECT * INTO s FROM steward.pg_dist_rebalance_strategy r WHERE r.name = strategy_name;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'could not find rebalance strategy with name %', strategy_name;
    END IF;
  END IF;
  RETURN s;
END
$fn$;
