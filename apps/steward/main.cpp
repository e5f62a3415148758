// steward: the coordinator daemon and its command-line tools.
#include "sql/error.hpp"
#include "sql/migrations.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <string>

namespace {

int run_init(const std::string& dsn) {
  try {
    auto result = steward::sql::apply_migrations(dsn);
    for (const auto& name : result.applied)
      fmt::print("applied {}\n", name);
    fmt::print("steward schema is up to date\n");
    return 0;
  } catch (const steward::sql::error& e) {
    fmt::print(stderr, "steward init: {}\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"steward: background jobs and shard rebalancing for sharded PostgreSQL"};
  app.require_subcommand(1);

  std::string init_dsn;
  auto* init = app.add_subcommand("init", "install or upgrade the steward schema in a database");
  init->add_option("--dsn", init_dsn, "libpq connection string of the coordinator database")
    ->required();

  CLI11_PARSE(app, argc, argv);

  if (init->parsed())
    return run_init(init_dsn);
  return 2;
}
