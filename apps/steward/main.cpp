// steward: the coordinator daemon and its command-line tools.
#include "actors/actors.hpp"
#include "actors/catalog.hpp"
#include "actors/executor_proxy.hpp"
#include "actors/job.hpp"
#include "actors/leader.hpp"
#include "actors/os/process_launcher.hpp"
#include "actors/os/shm_channel.hpp"
#include "actors/signal_bridge.hpp"
#include "actors/supervisor.hpp"
#include "model/config.hpp"
#include "sql/error.hpp"
#include "sql/migrations.hpp"
#include "sql/pg_job_store.hpp"
#include "status_command.hpp"

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <fmt/core.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <unistd.h>
#include <variant>

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

/// steward-executor next to this binary, unless STEWARD_EXECUTOR names another.
std::string executor_path() {
  if (const char* env = std::getenv("STEWARD_EXECUTOR"); env != nullptr && *env != '\0')
    return env;
  char buf[PATH_MAX];
  auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return "steward-executor";
  std::string self{buf, static_cast<std::size_t>(n)};
  return self.substr(0, self.rfind('/') + 1) + "steward-executor";
}

/// The configuration file with --dsn applied on top.
std::variant<steward::model::config, steward::model::config_error>
load_config(const std::string& path, const std::string& dsn_override) {
  auto loaded = steward::model::load_config_file(path);
  if (auto* cfg = std::get_if<steward::model::config>(&loaded)) {
    if (!dsn_override.empty())
      cfg->dsn = dsn_override;
    if (cfg->dsn.empty())
      return steward::model::config_error{"dsn", "is required (in the file or with --dsn)"};
  }
  return loaded;
}

int run_daemon(const std::string& config_path, const std::string& dsn_override) {
  using namespace steward;
  // Before any thread exists: every thread, CAF's included, inherits the blocked mask
  // and the signals are read by the signal bridge only (TOOLCHAIN pitfall 1).
  signal_bridge::block_signals();

  spdlog::set_default_logger(spdlog::stderr_color_mt("steward"));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");

  auto loaded = load_config(config_path, dsn_override);
  if (auto* err = std::get_if<model::config_error>(&loaded)) {
    fmt::print(stderr, "steward run: {}: {}\n", config_path, err->message());
    return 2;
  }
  auto cfg = std::get<model::config>(std::move(loaded));
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));

  auto executable = executor_path();
  if (::access(executable.c_str(), X_OK) != 0) {
    fmt::print(stderr, "steward run: executor {} is missing or not executable (set STEWARD_EXECUTOR)\n",
               executable);
    return 2;
  }

  // The first catalog connection doubles as the reachability check.
  std::shared_ptr<model::job_store> first_store;
  try {
    first_store = std::make_shared<sql::pg_job_store>(cfg.dsn);
  } catch (const std::exception& e) {
    fmt::print(stderr, "steward run: cannot connect to the coordinator database: {}\n", e.what());
    return 1;
  }

  spdlog::info("steward {} starting (pid {}): {}", "0.1.0", ::getpid(), model::describe(cfg));
  for (const auto& name : shm_channel::sweep_stale())
    spdlog::info("removed the channel {} of a coordinator that is gone", name);

  int exit_code = 0;
  {
    caf::actor_system_config sys_cfg;
    sys_cfg.add_message_types<caf::id_block::steward>();
    add_error_rendering(sys_cfg);
    sys_cfg.set("logger.file-verbosity", caf::atom("quiet"));
    caf::actor_system sys{sys_cfg};

    auto dsn = cfg.dsn;
    auto pick_catalog = sys.spawn<caf::detached>(catalog, store_factory{[first_store] {
                                                   return first_store;
                                                 }});
    auto write_catalog = sys.spawn<caf::detached>(catalog, store_factory{[dsn] {
                                                    return std::shared_ptr<model::job_store>(
                                                      std::make_shared<sql::pg_job_store>(dsn));
                                                  }});

    auto proxies = std::make_shared<executor_environment>();
    proxies->launcher = std::make_shared<boost_process_launcher>();
    proxies->open_channel = shm_channel_factory();
    proxies->executable = executable;
    proxies->dsn = cfg.dsn;

    auto jobs = std::make_shared<job_environment>();
    jobs->catalog = write_catalog;
    jobs->spawn_proxy = [proxies](caf::actor_system& sys, job_actor parent,
                                  const model::task_record& task, const run_options& opts) {
      return sys.spawn(executor_proxy, std::move(parent), task, opts,
                       std::shared_ptr<const executor_environment>(proxies));
    };

    auto env = std::make_shared<supervisor_environment>();
    env->catalog = pick_catalog;
    env->spawn_job = [jobs](caf::actor_system& sys, model::job_id id) {
      return sys.spawn(job, id, std::shared_ptr<const job_environment>(jobs));
    };
    env->spawn_leader = [dsn](caf::actor_system& sys, supervisor_actor sup) {
      return spawn_leader(sys, dsn, std::move(sup));
    };
    env->config_path = config_path;
    env->load_config = [config_path, dsn_override] {
      return load_config(config_path, dsn_override);
    };

    auto sup = sys.spawn(supervisor, cfg, std::shared_ptr<const supervisor_environment>(env));
    {
      signal_bridge bridge{sup};
      caf::scoped_actor self{sys};
      self->monitor(sup);
      self->receive([&](caf::down_msg& dm) {
        if (dm.reason && dm.reason != caf::exit_reason::normal) {
          spdlog::error("coordinator stopped: {}", sys.render(dm.reason));
          exit_code = 1;
        }
      });
    }
    caf::anon_send_exit(pick_catalog, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(write_catalog, caf::exit_reason::user_shutdown);
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"steward: background jobs and shard rebalancing for sharded PostgreSQL"};
  app.require_subcommand(1);

  std::string init_dsn;
  auto* init = app.add_subcommand("init", "install or upgrade the steward schema in a database");
  init->add_option("--dsn", init_dsn, "libpq connection string of the coordinator database")
    ->required();

  std::string run_config;
  std::string run_dsn;
  auto* run = app.add_subcommand("run", "run the coordinator daemon in the foreground");
  run->add_option("--config", run_config, "configuration file (TOML)")->required();
  run->add_option("--dsn", run_dsn, "connection string (overrides dsn in the file)");

  steward::app::status_options status_opts;
  auto* status = app.add_subcommand("status", "show jobs, task counts and shard-move progress");
  status->add_option("--dsn", status_opts.dsn,
                     "connection string (default: $STEWARD_DSN, else libpq's PG* variables)");
  status->add_flag("--watch", status_opts.watch, "redraw every --interval ms until interrupted");
  status->add_flag("--json", status_opts.json, "print a JSON document (one per line with --watch)");
  status->add_flag("--all", status_opts.all,
                   fmt::format("show every finished, failed or cancelled job, not only the last {}",
                               steward::app::recent_terminal_jobs));
  status->add_option("--interval", status_opts.interval_ms, "redraw period of --watch in ms")
    ->check(CLI::Range(50, 3'600'000));

  CLI11_PARSE(app, argc, argv);

  if (init->parsed())
    return run_init(init_dsn);
  if (run->parsed())
    return run_daemon(run_config, run_dsn);
  if (status->parsed())
    return steward::app::run_status(status_opts);
  return 2;
}
