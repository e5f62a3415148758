-- Rebalance planning (citus-reference §6.2), shared by get_rebalance_table_shards_plan,
-- rebalance_table_shards, citus_drain_node and citus_rebalance_start.
--
-- A plan is a list of moves of shard groups: the shards of one representative table per
-- colocation group, each carrying its colocated shards along. Nodes are the active
-- primaries in (nodename, nodeport) order; a node that should not have shards has
-- capacity 0 and allows nothing.
--   Phase 1: placements on nodes where they are not allowed go, in descending cost, to
--            the least utilized node that allows them.
--   Phase 2 (not with drain_only), balancing group by balancing group: Citus's greedy
--            search between the most and the least utilized nodes, bounded by the
--            threshold around the average utilization, with the improvement threshold.
-- The built-in strategy functions are evaluated in bulk (by_disk_size asks every node
-- once for all its shard sizes) instead of once per shard; custom functions are called
-- per shard, node, or (shard, node).

-- A number as C's %g prints it (6 significant digits, no trailing zeros), for messages.
CREATE FUNCTION steward.format_g(x float8) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT
  AS $fn$
SELECT CASE WHEN x = 0 THEN '0'
            ELSE trim_scale(round(x::numeric, greatest(0, 5 - floor(log(abs(x::numeric)))::integer)))::text END
$fn$;

-- Total cost per node index (1..n) of the placements of balancing group g, from the
-- working tables of plan_rebalance.
CREATE FUNCTION steward.plan_node_costs(g integer, n integer) RETURNS float8[]
  LANGUAGE plpgsql
  AS $fn$
BEGIN
  RETURN (SELECT array_agg(coalesce(t.cost, 0) ORDER BY x.i)
            FROM generate_series(1, n) x(i)
            LEFT JOIN (SELECT pp.node, sum(pp.cost) AS cost FROM pg_temp.steward_plan_placement pp
                        WHERE pp.grp = g GROUP BY pp.node) t ON t.node = x.i);
END
$fn$;

CREATE FUNCTION steward.plan_rebalance(relation regclass DEFAULT NULL,
                                       threshold float4 DEFAULT NULL,
                                       max_shard_moves integer DEFAULT 1000000,
                                       excluded_shard_list bigint[] DEFAULT '{}',
                                       drain_only boolean DEFAULT false,
                                       rebalance_strategy name DEFAULT NULL,
                                       improvement_threshold float4 DEFAULT NULL)
  RETURNS TABLE (move_no integer, colocation_id integer, table_name regclass, shard_id bigint,
                 source_node integer, target_node integer, shard_size bigint)
  LANGUAGE plpgsql
  AS $fn$
DECLARE
  strat steward.pg_dist_rebalance_strategy;
  thr float8;
  imp float8;
  -- nodes, by index 1..n in (nodename, nodeport) order
  n_id integer[];
  n_group integer[];
  n_name text[];
  n_port integer[];
  n_should boolean[];
  n_cap float8[];
  n_cost float8[];
  n integer;
  should_count integer;
  custom_cost boolean;
  custom_capacity boolean;
  custom_allowed boolean;
  by_disk boolean;
  g integer;
  groups integer[];
  multi boolean;
  moves integer := 0;
  ignored bigint := 0;
  max_logged integer;
  cap_reached boolean := false;
  r record;
  k integer;
  i integer;
  src integer;
  tgt integer;
  asc_order integer[];
  util float8[];
  total_cost float8;
  total_cap float8;
  avg_util float8;
  lower_b float8;
  upper_b float8;
  s_ids bigint[];
  s_costs float8[];
  s_run_end integer[];
  c float8;
  new_t float8;
  new_s float8;
  improvement float8;
  found_move boolean;
  allowed boolean;
  chosen bigint;
  chosen_cost float8;
BEGIN
  IF max_shard_moves IS NULL THEN
    RAISE EXCEPTION 'max_shard_moves cannot be NULL';
  ELSIF drain_only IS NULL THEN
    RAISE EXCEPTION 'drain_only cannot be NULL';
  END IF;
  strat := steward.rebalance_strategy(rebalance_strategy);
  thr := coalesce(threshold, strat.default_threshold);
  IF thr < strat.minimum_threshold THEN
    RAISE WARNING 'the given threshold is lower than the minimum threshold allowed by the rebalance strategy, using the minimum allowed threshold instead'
      USING DETAIL = format('Using threshold of %s', to_char(strat.minimum_threshold, 'FM0.00'));
    thr := strat.minimum_threshold;
  END IF;
  imp := coalesce(improvement_threshold, strat.improvement_threshold);
  max_logged := coalesce(nullif(current_setting('steward.max_rebalancer_logged_ignored_moves', true), '')::integer, 5);
  custom_cost := strat.shard_cost_function NOT IN ('steward.citus_shard_cost_1'::regproc,
                                                   'steward.citus_shard_cost_by_disk_size'::regproc);
  by_disk := strat.shard_cost_function = 'steward.citus_shard_cost_by_disk_size'::regproc;
  custom_capacity := strat.node_capacity_function <> 'steward.citus_node_capacity_1'::regproc;
  custom_allowed := strat.shard_allowed_on_node_function <> 'steward.citus_shard_allowed_on_node_true'::regproc;

  SELECT array_agg(nd.nodeid ORDER BY nd.nodename, nd.nodeport), array_agg(nd.groupid ORDER BY nd.nodename, nd.nodeport),
         array_agg(nd.nodename ORDER BY nd.nodename, nd.nodeport), array_agg(nd.nodeport ORDER BY nd.nodename, nd.nodeport),
         array_agg(nd.shouldhaveshards ORDER BY nd.nodename, nd.nodeport)
    INTO n_id, n_group, n_name, n_port, n_should
    FROM steward.pg_dist_node nd WHERE nd.isactive AND nd.noderole = 'primary';
  n := coalesce(array_length(n_id, 1), 0);
  should_count := (SELECT count(*) FROM unnest(n_should) x WHERE x);
  IF should_count < 1 THEN
    RAISE EXCEPTION 'Shard replication factor (1) cannot be greater than number of nodes with should_have_shards=true (%).', should_count;
  END IF;
  n_cap := array_fill(0::float8, ARRAY[n]);
  FOR i IN 1 .. n LOOP
    IF n_should[i] THEN
      IF custom_capacity THEN
        EXECUTE format('SELECT %s($1)::float8', strat.node_capacity_function) INTO c USING n_id[i];
        n_cap[i] := greatest(coalesce(c, 0), 0);
      ELSE
        n_cap[i] := 1;
      END IF;
    END IF;
  END LOOP;

  -- Working tables: shard groups and their placements (node = index into the arrays).
  CREATE TEMP TABLE IF NOT EXISTS steward_plan_shard (
    grp integer, colocationid integer, logicalrelid regclass, shardid bigint PRIMARY KEY,
    cost float8, size bigint, movable boolean) ON COMMIT DROP;
  CREATE TEMP TABLE IF NOT EXISTS steward_plan_placement (
    grp integer, shardid bigint, node integer, cost float8, movable boolean) ON COMMIT DROP;
  CREATE TEMP TABLE IF NOT EXISTS steward_plan_disallowed (
    shardid bigint, node integer, PRIMARY KEY (shardid, node)) ON COMMIT DROP;
  CREATE TEMP TABLE IF NOT EXISTS steward_plan_move (
    move_no integer, colocation_id integer, table_name regclass, shard_id bigint,
    source_node integer, target_node integer, shard_size bigint) ON COMMIT DROP;
  TRUNCATE pg_temp.steward_plan_shard, pg_temp.steward_plan_placement, pg_temp.steward_plan_disallowed, pg_temp.steward_plan_move;
  CREATE INDEX IF NOT EXISTS steward_plan_placement_node ON pg_temp.steward_plan_placement (grp, node, cost DESC, shardid);
  CREATE INDEX IF NOT EXISTS steward_plan_placement_shard ON pg_temp.steward_plan_placement (shardid);

  -- One representative table per colocation group (a table with colocation id 0 is a
  -- group of its own), in catalog order; reference tables are not balanced.
  WITH reps AS (
    SELECT DISTINCT ON (CASE WHEN p.colocationid = 0 THEN -(p.logicalrelid::oid::bigint) ELSE p.colocationid END)
           p.logicalrelid, p.colocationid
      FROM steward.pg_dist_partition p
     WHERE p.partmethod = 'h'
       AND (relation IS NULL OR p.logicalrelid = relation
            OR (p.colocationid <> 0 AND p.colocationid = (SELECT q.colocationid FROM steward.pg_dist_partition q
                                                          WHERE q.logicalrelid = relation)))
     ORDER BY CASE WHEN p.colocationid = 0 THEN -(p.logicalrelid::oid::bigint) ELSE p.colocationid END,
              p.logicalrelid::oid
  ), placed AS (
    SELECT rp.logicalrelid, rp.colocationid, s.shardid, x.i AS node
      FROM reps rp
      JOIN steward.pg_dist_shard s ON s.logicalrelid = rp.logicalrelid
      JOIN steward.pg_dist_placement pl ON pl.shardid = s.shardid AND pl.shardstate = 1
      JOIN unnest(n_group) WITH ORDINALITY AS x(groupid, i) ON x.groupid = pl.groupid
  ), counted AS (
    SELECT logicalrelid, count(*) AS placements FROM placed GROUP BY logicalrelid
  ), grouped AS (
    -- Tables with fewer placements than nodes that may hold them are balanced together,
    -- in one group after all others.
    SELECT cn.logicalrelid,
           CASE WHEN cn.placements >= should_count
                THEN dense_rank() OVER (ORDER BY cn.placements < should_count, cn.logicalrelid::oid)::integer
                ELSE 1000000 END AS grp
      FROM counted cn
  ), ins AS (
    INSERT INTO pg_temp.steward_plan_placement (grp, shardid, node)
    SELECT g2.grp, pd.shardid, pd.node FROM placed pd JOIN grouped g2 USING (logicalrelid)
  )
  INSERT INTO pg_temp.steward_plan_shard (grp, colocationid, logicalrelid, shardid, cost, size, movable)
  SELECT DISTINCT g2.grp, pd.colocationid, pd.logicalrelid, pd.shardid, 1, 0, true
    FROM placed pd JOIN grouped g2 USING (logicalrelid);

  IF NOT EXISTS (SELECT 1 FROM pg_temp.steward_plan_shard) THEN
    RETURN;
  END IF;
  ANALYZE pg_temp.steward_plan_shard;
  ANALYZE pg_temp.steward_plan_placement;

  -- The colocated shards of every shard group (itself included), in bulk.
  CREATE TEMP TABLE IF NOT EXISTS steward_plan_member (shardid bigint, member bigint) ON COMMIT DROP;
  TRUNCATE pg_temp.steward_plan_member;
  INSERT INTO pg_temp.steward_plan_member
  SELECT ps.shardid, o.shardid
    FROM pg_temp.steward_plan_shard ps
    JOIN steward.pg_dist_shard s ON s.shardid = ps.shardid
    JOIN steward.pg_dist_partition q ON q.colocationid = ps.colocationid
    JOIN steward.pg_dist_shard o ON o.logicalrelid = q.logicalrelid AND o.shardminvalue = s.shardminvalue
   WHERE ps.colocationid <> 0
  UNION ALL
  SELECT ps.shardid, ps.shardid FROM pg_temp.steward_plan_shard ps WHERE ps.colocationid = 0;
  CREATE INDEX IF NOT EXISTS steward_plan_member_shard ON pg_temp.steward_plan_member (shardid);
  ANALYZE pg_temp.steward_plan_member;

  -- Shards that must not move: excluded, or colocated with an excluded one.
  IF coalesce(array_length(excluded_shard_list, 1), 0) > 0 THEN
    UPDATE pg_temp.steward_plan_shard ps SET movable = false
      FROM pg_temp.steward_plan_member m
     WHERE m.shardid = ps.shardid AND m.member = ANY (excluded_shard_list);
  END IF;

  -- Costs.
  IF by_disk THEN
    -- The shard group's size on the node of its first active placement.
    CREATE TEMP TABLE IF NOT EXISTS steward_plan_size (shardid bigint, groupid integer, size bigint) ON COMMIT DROP;
    TRUNCATE pg_temp.steward_plan_size;
    INSERT INTO pg_temp.steward_plan_size SELECT * FROM steward.shard_placement_sizes();
    UPDATE pg_temp.steward_plan_shard ps SET size = t.size
      FROM (SELECT m.shardid, coalesce(sum(z.size), 0)::bigint AS size
              FROM pg_temp.steward_plan_member m
              JOIN LATERAL (SELECT pl.groupid FROM steward.pg_dist_placement pl
                             WHERE pl.shardid = m.shardid AND pl.shardstate = 1
                             ORDER BY pl.placementid LIMIT 1) f ON true
              LEFT JOIN pg_temp.steward_plan_size z ON z.shardid = m.member AND z.groupid = f.groupid
             GROUP BY m.shardid) t
     WHERE t.shardid = ps.shardid;
    UPDATE pg_temp.steward_plan_shard SET cost = size + steward.by_disk_size_base_cost();
  ELSIF custom_cost THEN
    FOR r IN SELECT ps.shardid FROM pg_temp.steward_plan_shard ps LOOP
      EXECUTE format('SELECT %s($1)::float8', strat.shard_cost_function) INTO c USING r.shardid;
      UPDATE pg_temp.steward_plan_shard SET cost = coalesce(c, 0) WHERE shardid = r.shardid;
    END LOOP;
  END IF;

  IF custom_allowed THEN
    FOR r IN SELECT ps.shardid FROM pg_temp.steward_plan_shard ps LOOP
      FOR i IN 1 .. n LOOP
        IF n_should[i] THEN
          EXECUTE format('SELECT %s($1, $2)', strat.shard_allowed_on_node_function) INTO allowed
            USING r.shardid, n_id[i];
        END IF;
        IF NOT n_should[i] OR NOT coalesce(allowed, false) THEN
          INSERT INTO pg_temp.steward_plan_disallowed VALUES (r.shardid, i);
        END IF;
      END LOOP;
    END LOOP;
  ELSE
    INSERT INTO pg_temp.steward_plan_disallowed
    SELECT ps.shardid, x.i FROM pg_temp.steward_plan_shard ps, unnest(n_should) WITH ORDINALITY AS x(should, i)
     WHERE NOT x.should;
  END IF;

  -- Each placement carries its shard group's cost (the search reads placements only).
  UPDATE pg_temp.steward_plan_placement pp SET cost = ps.cost, movable = ps.movable
    FROM pg_temp.steward_plan_shard ps WHERE ps.shardid = pp.shardid;
  ANALYZE pg_temp.steward_plan_placement;

  SELECT array_agg(DISTINCT ps.grp ORDER BY ps.grp) INTO groups FROM pg_temp.steward_plan_shard ps;

  -- Phase 1: placements where they are not allowed.
  FOREACH g IN ARRAY groups LOOP
    n_cost := steward.plan_node_costs(g, n);
    FOR r IN SELECT pp.shardid, pp.node, ps.cost, ps.colocationid, ps.logicalrelid, ps.size
               FROM pg_temp.steward_plan_placement pp
               JOIN pg_temp.steward_plan_shard ps USING (shardid)
               JOIN pg_temp.steward_plan_disallowed d ON d.shardid = pp.shardid AND d.node = pp.node
              WHERE pp.grp = g AND ps.movable
              ORDER BY ps.cost DESC, pp.shardid LOOP
      EXIT WHEN moves >= max_shard_moves;
      SELECT x.i INTO tgt
        FROM unnest(n_cost, n_cap, n_id) WITH ORDINALITY AS x(cost, cap, id, i)
       WHERE NOT EXISTS (SELECT 1 FROM pg_temp.steward_plan_placement pp WHERE pp.shardid = r.shardid AND pp.node = x.i)
         AND NOT EXISTS (SELECT 1 FROM pg_temp.steward_plan_disallowed d WHERE d.shardid = r.shardid AND d.node = x.i)
       ORDER BY CASE WHEN x.cap > 0 THEN x.cost / x.cap ELSE 'Infinity'::float8 END, x.cap DESC, x.id
       LIMIT 1;
      IF NOT FOUND THEN
        RAISE WARNING 'Not allowed to move shard % anywhere from %:%', r.shardid, n_name[r.node], n_port[r.node];
        CONTINUE;
      END IF;
      moves := moves + 1;
      INSERT INTO pg_temp.steward_plan_move VALUES (moves, r.colocationid, r.logicalrelid, r.shardid,
                                            n_id[r.node], n_id[tgt], r.size);
      UPDATE pg_temp.steward_plan_placement SET node = tgt WHERE shardid = r.shardid AND node = r.node;
      n_cost[r.node] := n_cost[r.node] - r.cost;
      n_cost[tgt] := n_cost[tgt] + r.cost;
    END LOOP;
  END LOOP;

  -- Phase 2: greedy balancing, group by group.
  IF NOT drain_only THEN
    FOREACH g IN ARRAY groups LOOP
      EXIT WHEN cap_reached;
      multi := EXISTS (SELECT 1 FROM pg_temp.steward_plan_placement pp WHERE pp.grp = g
                        GROUP BY pp.shardid HAVING count(*) > 1);
      n_cost := steward.plan_node_costs(g, n);
      total_cost := (SELECT sum(x) FROM unnest(n_cost) x);
      total_cap := (SELECT sum(x) FROM unnest(n_cap) x);
      avg_util := CASE WHEN total_cap > 0 THEN total_cost / total_cap ELSE 0 END;
      lower_b := (1 - thr) * avg_util;
      upper_b := (1 + thr) * avg_util;
      LOOP
        IF moves >= max_shard_moves THEN
          RAISE NOTICE 'Stopped searching before we were out of moves. Please rerun the rebalancer after it''s finished for a more optimal placement.';
          cap_reached := true;
          EXIT;
        END IF;
        util := array_fill(0::float8, ARRAY[n]);
        FOR i IN 1 .. n LOOP
          util[i] := CASE WHEN n_cap[i] > 0 THEN n_cost[i] / n_cap[i] ELSE 'Infinity'::float8 END;
        END LOOP;
        SELECT array_agg(x.i ORDER BY x.u, x.cap DESC, x.id) INTO asc_order
          FROM unnest(util, n_cap, n_id) WITH ORDINALITY AS x(u, cap, id, i);
        found_move := false;
        <<sources>>
        FOR k IN REVERSE n .. 1 LOOP
          src := asc_order[k];
          EXIT sources WHEN util[src] <= lower_b;
          s_ids := NULL;
          FOREACH tgt IN ARRAY asc_order LOOP
            EXIT WHEN util[tgt] >= upper_b;
            EXIT WHEN util[tgt] >= lower_b AND util[src] <= upper_b;
            CONTINUE WHEN tgt = src;
            IF s_ids IS NULL THEN
              SELECT array_agg(q.shardid ORDER BY q.cost DESC, q.shardid),
                     array_agg(q.cost ORDER BY q.cost DESC, q.shardid),
                     array_agg(q.run_end ORDER BY q.cost DESC, q.shardid)
                INTO s_ids, s_costs, s_run_end
                FROM (SELECT pp.shardid, pp.cost,
                             (count(*) OVER (ORDER BY pp.cost DESC
                                             RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))::integer AS run_end
                        FROM pg_temp.steward_plan_placement pp
                       WHERE pp.grp = g AND pp.node = src AND pp.movable) q;
              EXIT WHEN s_ids IS NULL;
            END IF;
            i := 1;
            WHILE i <= array_length(s_ids, 1) LOOP
              c := s_costs[i];
              new_t := CASE WHEN n_cap[tgt] > 0 THEN (n_cost[tgt] + c) / n_cap[tgt] ELSE 'Infinity'::float8 END;
              new_s := CASE WHEN n_cap[src] > 0 THEN (n_cost[src] - c) / n_cap[src] ELSE 'Infinity'::float8 END;
              IF new_t > new_s AND (new_t > util[src] OR (new_t = util[src] AND new_s <= util[tgt])) THEN
                -- Rejected for its cost alone: so is every shard of the same cost.
                i := s_run_end[i] + 1;
                CONTINUE;
              END IF;
              IF (multi AND EXISTS (SELECT 1 FROM pg_temp.steward_plan_placement pp WHERE pp.shardid = s_ids[i] AND pp.node = tgt))
                 OR EXISTS (SELECT 1 FROM pg_temp.steward_plan_disallowed d WHERE d.shardid = s_ids[i] AND d.node = tgt) THEN
                i := i + 1;
                CONTINUE;
              END IF;
              IF new_t > new_s THEN
                improvement := greatest(util[src] - new_t, new_s - util[tgt])
                               / nullif(least(new_t - util[tgt], util[src] - new_s), 0);
                IF improvement IS NOT NULL AND improvement < imp THEN
                  ignored := ignored + 1;
                  IF max_logged < 0 OR ignored <= max_logged THEN
                    RAISE NOTICE 'Ignoring move of shard % from %:% to %:%, because the move only brings a small improvement relative to the shard its size',
                      s_ids[i], n_name[src], n_port[src], n_name[tgt], n_port[tgt]
                      USING DETAIL = format('The balance improvement of %s is lower than the improvement_threshold of %s',
                                            steward.format_g(improvement), steward.format_g(imp));
                  END IF;
                  i := i + 1;
                  CONTINUE;
                END IF;
              END IF;
              chosen := s_ids[i];
              chosen_cost := c;
              found_move := true;
              EXIT sources;
            END LOOP;
          END LOOP;
        END LOOP;
        EXIT WHEN NOT found_move;
        moves := moves + 1;
        INSERT INTO pg_temp.steward_plan_move
        SELECT moves, ps.colocationid, ps.logicalrelid, chosen, n_id[src], n_id[tgt], ps.size
          FROM pg_temp.steward_plan_shard ps WHERE ps.shardid = chosen;
        UPDATE pg_temp.steward_plan_placement SET node = tgt WHERE shardid = chosen AND node = src;
        n_cost[src] := n_cost[src] - chosen_cost;
        n_cost[tgt] := n_cost[tgt] + chosen_cost;
      END LOOP;
    END LOOP;
  END IF;

  IF ignored > 0 THEN
    IF max_logged < 0 OR ignored <= max_logged THEN
      RAISE NOTICE 'Ignored % moves, all of which are shown in notices above', ignored
        USING HINT = format('If you do want these moves to happen, try changing improvement_threshold to a lower value than what it is now (%s).', steward.format_g(imp));
    ELSE
      RAISE NOTICE 'Ignored % moves, % of which are shown in notices above', ignored, max_logged
        USING HINT = format('If you do want these moves to happen, try changing improvement_threshold to a lower value than what it is now (%s).', steward.format_g(imp));
    END IF;
  END IF;

  RETURN QUERY SELECT m.move_no, m.colocation_id, m.table_name, m.shard_id, m.source_node,
                      m.target_node, m.shard_size
                 FROM pg_temp.steward_plan_move m ORDER BY m.move_no;
END
$fn$;

-- citus-reference §3.10: one row per colocated shard of each planned move.
CREATE FUNCTION steward.get_rebalance_table_shards_plan(relation regclass DEFAULT NULL,
                                                        threshold float4 DEFAULT NULL,
                                                        max_shard_moves integer DEFAULT 1000000,
                                                        excluded_shard_list bigint[] DEFAULT '{}',
                                                        drain_only boolean DEFAULT false,
                                                        rebalance_strategy name DEFAULT NULL,
                                                        improvement_threshold float4 DEFAULT NULL)
  RETURNS TABLE (table_name regclass, shardid bigint, shard_size bigint, sourcename text,
                 sourceport integer, targetname text, targetport integer)
  LANGUAGE sql
  AS $fn$
SELECT cs.logicalrelid, cs.shardid, CASE WHEN cs.shardid = m.shard_id THEN m.shard_size ELSE 0 END,
       src.nodename, src.nodeport, tgt.nodename, tgt.nodeport
  FROM steward.plan_rebalance(relation, threshold, max_shard_moves, excluded_shard_list, drain_only,
                              rebalance_strategy, improvement_threshold) m
  CROSS JOIN LATERAL steward.colocated_shards(m.shard_id) cs
  JOIN steward.pg_dist_node src ON src.nodeid = m.source_node
  JOIN steward.pg_dist_node tgt ON tgt.nodeid = m.target_node
 ORDER BY m.move_no, cs.logicalrelid::oid, cs.shardid
$fn$;
