-- Small Citus read functions over the cluster metadata, for the rebalancer and for
-- operators: citus_shard_sizes() (the sizes of all shard placements, as the by_disk_size
-- strategy uses them) and citus_get_active_worker_nodes().

CREATE FUNCTION steward.citus_shard_sizes(OUT shard_id bigint, OUT size bigint)
  RETURNS SETOF record
  LANGUAGE sql
  AS $fn$ SELECT z.shardid, z.size FROM steward.shard_placement_sizes() z ORDER BY z.shardid, z.groupid $fn$;

CREATE FUNCTION steward.citus_get_active_worker_nodes(OUT node_name text, OUT node_port bigint)
  RETURNS SETOF record
  LANGUAGE sql STABLE STRICT
  AS $fn$
SELECT nodename, nodeport::bigint FROM steward.pg_dist_node
 WHERE isactive AND noderole = 'primary' AND groupid <> 0
 ORDER BY nodename, nodeport
$fn$;
