#include "actors/catalog.hpp"

#include "sql/error.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <exception>
#include <string>
#include <utility>

namespace steward {

namespace {

using self_ptr = catalog_actor::stateful_pointer<catalog_state>;

/// Runs `fn` on the store, turning exceptions into steward errors.
template <class T, class F>
caf::result<T> with_store(self_ptr self, const char* what, F fn) {
  auto& st = self->state;
  try {
    if (!st.store)
      st.store = st.make_store();
    return fn(*st.store);
  } catch (const sql::error& e) {
    if (e.code() == sql::errc::unavailable) {
      spdlog::warn("catalog: {}: database unavailable: {}", what, e.what());
      return caf::make_error(ec::db_unavailable, std::string{e.what()});
    }
    if (e.code() == sql::errc::not_found)
      return caf::make_error(ec::not_found, std::string{e.what()});
    spdlog::error("catalog: {}: {}", what, e.what());
    return caf::make_error(ec::db_failed, std::string{e.what()});
  } catch (const std::exception& e) {
    spdlog::error("catalog: {}: {}", what, e.what());
    return caf::make_error(ec::db_failed, std::string{e.what()});
  }
}

}  // namespace

catalog_actor::behavior_type catalog(catalog_actor::stateful_pointer<catalog_state> self,
                                     store_factory make_store) {
  self->state.make_store = std::move(make_store);
  return {
    [=](atom::reset) {
      return with_store<std::vector<model::task_record>>(
        self, "reset orphaned tasks", [](model::job_store& s) { return s.reset_orphaned_tasks(); });
    },
    [=](atom::runnable) {
      return with_store<std::vector<model::job_store::candidate>>(
        self, "runnable tasks", [](model::job_store& s) { return s.runnable_tasks(); });
    },
    [=](atom::load, atom::job, model::job_id id) -> caf::result<model::job_store::job_snapshot> {
      return with_store<model::job_store::job_snapshot>(
        self, "load job", [id](model::job_store& s) -> caf::result<model::job_store::job_snapshot> {
          auto snap = s.load_job(id);
          if (!snap)
            return caf::make_error(ec::not_found, "job " + std::to_string(id) + " does not exist");
          return std::move(*snap);
        });
    },
    [=](atom::load, atom::task, model::task_id id) -> caf::result<model::task_record> {
      return with_store<model::task_record>(
        self, "load task", [id](model::job_store& s) -> caf::result<model::task_record> {
          auto task = s.load_task(id);
          if (!task)
            return caf::make_error(ec::not_found, "task " + std::to_string(id) + " does not exist");
          return std::move(*task);
        });
    },
    [=](atom::apply, const std::vector<model::task_update>& tasks) {
      return with_store<std::vector<model::task_id>>(
        self, "apply", [&](model::job_store& s) { return s.apply(tasks, std::nullopt); });
    },
    [=](atom::apply, const std::vector<model::task_update>& tasks, const model::job_update& job) {
      return with_store<std::vector<model::task_id>>(
        self, "apply", [&](model::job_store& s) { return s.apply(tasks, job); });
    },
    [=](atom::active) {
      return with_store<std::vector<model::job_id>>(
        self, "active jobs", [](model::job_store& s) { return s.active_jobs(); });
    },
    [=](atom::cancel, model::job_id id) {
      return with_store<atom::ok>(self, "cancel job", [id](model::job_store& s) {
        s.cancel_job(id);
        return atom::ok_v;
      });
    },
    [=](atom::kill, model::task_id task, std::int32_t pid) {
      return with_store<atom::ok>(self, "stop an executor backend", [=](model::job_store& s) {
        s.stop_backend(task, pid);
        return atom::ok_v;
      });
    },
  };
}

}  // namespace steward
