#include "sql/migrations.hpp"

#include "sql/error.hpp"
#include "sql/locks.hpp"

#include <pqxx/pqxx>

namespace steward::sql {

namespace {

constexpr const char* create_version_table = R"(
CREATE SCHEMA IF NOT EXISTS steward;
CREATE TABLE IF NOT EXISTS steward.schema_migrations (
  name text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
))";

// Appends `steward` to the database's default search_path unless it is there already.
constexpr const char* set_search_path = R"(
DO $$
DECLARE
  current_path text;
BEGIN
  SELECT split_part(cfg, '=', 2) INTO current_path
    FROM pg_db_role_setting s
    JOIN pg_database d ON d.oid = s.setdatabase,
         unnest(s.setconfig) AS cfg
   WHERE d.datname = current_database() AND s.setrole = 0 AND cfg LIKE 'search_path=%';
  IF current_path IS NULL THEN
    current_path := '"$user", public';
  END IF;
  IF NOT ('steward' = ANY (string_to_array(replace(current_path, ' ', ''), ','))) THEN
    EXECUTE format('ALTER DATABASE %I SET search_path = %s, steward',
                   current_database(), current_path);
  END IF;
END
$$)";

}  // namespace

migrate_result apply_migrations(const std::string& dsn) {
  return translate_errors([&] {
    pqxx::connection conn{dsn};
    migrate_result result;
    {
      pqxx::nontransaction n{conn};
      n.exec_params("SELECT pg_advisory_lock($1, $2)", migrate_lock_key1, migrate_lock_key2);
      n.exec(create_version_table);
    }
    for (const auto& m : migrations()) {
      pqxx::work w{conn};
      auto seen = w.exec_params("SELECT 1 FROM steward.schema_migrations WHERE name = $1", m.name);
      if (!seen.empty()) {
        ++result.already;
        continue;
      }
      try {
        w.exec(m.text);
      } catch (const pqxx::sql_error& e) {
        throw error(errc::sql_failed, "migration " + m.name + " failed: " + e.what(), e.sqlstate());
      }
      w.exec_params("INSERT INTO steward.schema_migrations(name) VALUES ($1)", m.name);
      w.commit();
      result.applied.push_back(m.name);
    }
    {
      pqxx::nontransaction n{conn};
      n.exec(set_search_path);
      n.exec_params("SELECT pg_advisory_unlock($1, $2)", migrate_lock_key1, migrate_lock_key2);
    }
    return result;
  });
}

}  // namespace steward::sql
