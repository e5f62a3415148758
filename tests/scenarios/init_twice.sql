-- `steward init` on an initialised database changes nothing and keeps search_path.
CREATE TEMP TABLE before AS SELECT name, applied_at FROM steward.schema_migrations;
SELECT count(*) > 0 AS has_migrations FROM before;
\! "$STEWARD_BIN_DIR/steward" init --dsn "dbname=$STEWARD_SCENARIO_DB"
SELECT count(*) AS changed_rows FROM (
  (SELECT name, applied_at FROM steward.schema_migrations EXCEPT SELECT * FROM before)
  UNION ALL
  (SELECT * FROM before EXCEPT SELECT name, applied_at FROM steward.schema_migrations)) d;
-- the database's search_path names steward exactly once
SELECT cfg FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase,
       unnest(s.setconfig) cfg
 WHERE d.datname = current_database() AND cfg LIKE 'search_path=%';
-- a new session finds the catalog unqualified
\c
SELECT count(*) FROM pg_dist_background_job;
