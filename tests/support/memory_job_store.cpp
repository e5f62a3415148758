#include "tests/support/memory_job_store.hpp"

#include "model/job_derivation.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace steward::test {

using model::job_id;
using model::task_id;
using model::task_record;
using model::task_state;

memory_job_store::memory_job_store(std::string owner) : owner_(std::move(owner)) {}

void memory_job_store::enter() {
  ++calls_;
  if (failures_left_ > 0) {
    --failures_left_;
    throw sql::error(failure_code_, "memory_job_store: injected failure");
  }
}

task_record& memory_job_store::row(task_id id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end())
    throw std::out_of_range("memory_job_store: no task " + std::to_string(id));
  return it->second;
}

void memory_job_store::recompute_job(job_id id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end())
    return;
  std::vector<task_state> states;
  for (const auto& [tid, t] : tasks_)
    if (t.job == id)
      states.push_back(t.status);
  auto derived = model::derive_job_state(states);
  auto& j = it->second;
  auto ts = model::timestamps_for(derived, j.started_at.has_value(), j.finished_at.has_value());
  j.state = derived;
  if (ts.set_started_at)
    j.started_at = now_;
  if (ts.set_finished_at)
    j.finished_at = now_;
}

std::vector<task_record> memory_job_store::reset_orphaned_tasks() {
  std::lock_guard lock{mutex_};
  enter();
  std::vector<task_record> out;
  std::set<job_id> jobs;
  for (auto& [id, t] : tasks_) {
    if (t.status != task_state::running && t.status != task_state::cancelling)
      continue;
    if (t.pid) {
      if (auto holder = task_locks_.find(id); holder != task_locks_.end()) {
        // The recorded pid is terminated, as in Citus; the lock goes with its holder.
        terminated_.push_back(*t.pid);
        task_locks_.erase(holder);
      }
    }
    t.status = t.status == task_state::running ? task_state::runnable : task_state::cancelled;
    t.pid.reset();
    jobs.insert(t.job);
    out.push_back(t);
  }
  for (auto j : jobs)
    recompute_job(j);
  return out;
}

std::vector<model::job_store::candidate> memory_job_store::runnable_tasks() {
  std::lock_guard lock{mutex_};
  enter();
  std::vector<candidate> out;
  for (const auto& [id, t] : tasks_) {
    if (t.status != task_state::runnable)
      continue;
    bool done = std::all_of(t.depends_on.begin(), t.depends_on.end(), [&](task_id d) {
      auto dep = tasks_.find(d);
      return dep != tasks_.end() && dep->second.status == task_state::done;
    });
    out.push_back(candidate{t, done});
  }
  return out;
}

std::optional<model::job_store::job_snapshot> memory_job_store::load_job(job_id id) {
  std::lock_guard lock{mutex_};
  enter();
  auto it = jobs_.find(id);
  if (it == jobs_.end())
    return std::nullopt;
  job_snapshot snap{it->second, {}};
  for (const auto& [tid, t] : tasks_)
    if (t.job == id)
      snap.tasks.push_back(t);
  return snap;
}

std::optional<task_record> memory_job_store::load_task(task_id id) {
  std::lock_guard lock{mutex_};
  enter();
  auto it = tasks_.find(id);
  if (it == tasks_.end())
    return std::nullopt;
  return it->second;
}

std::vector<task_id> memory_job_store::apply(const std::vector<model::task_update>& updates,
                                             const std::optional<model::job_update>& job) {
  std::lock_guard lock{mutex_};
  enter();
  // One transaction: a missing job aborts everything, as the database store does.
  if (job && jobs_.count(job->job) == 0)
    throw sql::error(sql::errc::not_found, "job " + std::to_string(job->job) + " does not exist");
  std::vector<task_id> skipped;
  for (const auto& u : updates) {
    auto it = tasks_.find(u.task);
    if (it == tasks_.end() || it->second.status != u.from) {
      skipped.push_back(u.task);
      continue;
    }
    auto& t = it->second;
    t.status = u.to;
    if (u.clear_pid)
      t.pid.reset();
    else if (u.pid)
      t.pid = u.pid;
    if (u.retry_count)
      t.retry_count = u.retry_count;
    if (u.clear_not_before)
      t.not_before.reset();
    else if (u.not_before)
      t.not_before = u.not_before;
    if (u.message)
      t.message = *u.message;
  }
  if (job) {
    // As the database store: the state follows the task rows.
    auto& j = jobs_.at(job->job);
    std::vector<task_state> states;
    for (const auto& [tid, t] : tasks_)
      if (t.job == job->job)
        states.push_back(t.status);
    j.state = model::derive_job_state(states);
    auto ts = model::timestamps_for(j.state, j.started_at.has_value(), j.finished_at.has_value());
    if (ts.set_started_at)
      j.started_at = now_;
    if (ts.set_finished_at)
      j.finished_at = now_;
  }
  return skipped;
}

std::vector<job_id> memory_job_store::active_jobs() {
  std::lock_guard lock{mutex_};
  enter();
  std::vector<job_id> out;
  for (const auto& [id, j] : jobs_) {
    if (model::is_terminal(j.state))
      continue;
    bool open = std::any_of(tasks_.begin(), tasks_.end(), [&](const auto& kv) {
      return kv.second.job == id && !model::is_terminal(kv.second.status);
    });
    if (open)
      out.push_back(id);
  }
  return out;
}

void memory_job_store::stop_backend(task_id task, std::int32_t pid) {
  std::lock_guard lock{mutex_};
  enter();
  stopped_.emplace_back(task, pid);
}

std::vector<std::pair<task_id, std::int32_t>> memory_job_store::stopped_backends() const {
  std::lock_guard lock{mutex_};
  return stopped_;
}

void memory_job_store::cancel_job(job_id id) {
  std::lock_guard lock{mutex_};
  enter();
  if (jobs_.count(id) == 0)
    throw sql::error(sql::errc::sql_failed, "job " + std::to_string(id) + " does not exist",
                     "42704");
  for (auto& [tid, t] : tasks_) {
    if (t.job != id || model::is_terminal(t.status))
      continue;
    if (t.status == task_state::running && t.pid) {
      t.status = task_state::cancelling;
      cancelled_.push_back(*t.pid);
    } else {
      t.status = task_state::cancelled;
    }
  }
  recompute_job(id);
}

job_id memory_job_store::add_job(std::string type, std::string description) {
  std::lock_guard lock{mutex_};
  model::job_record j;
  j.id = next_job_++;
  j.job_type = std::move(type);
  j.description = std::move(description);
  jobs_.emplace(j.id, j);
  return j.id;
}

task_id memory_job_store::add_task(job_id job, std::string command,
                                   std::vector<task_id> depends_on,
                                   std::optional<std::vector<model::node_id>> nodes,
                                   std::optional<task_state> status) {
  std::lock_guard lock{mutex_};
  if (jobs_.count(job) == 0)
    throw std::invalid_argument("memory_job_store: no job " + std::to_string(job));
  std::sort(depends_on.begin(), depends_on.end());
  depends_on.erase(std::unique(depends_on.begin(), depends_on.end()), depends_on.end());
  for (auto d : depends_on) {
    auto it = tasks_.find(d);
    if (it == tasks_.end() || it->second.job != job)
      throw std::invalid_argument("memory_job_store: dependency " + std::to_string(d) +
                                  " is not a task of job " + std::to_string(job));
  }
  task_record t;
  t.job = job;
  t.id = next_task_++;
  t.owner = owner_;
  t.status = status.value_or(depends_on.empty() ? task_state::runnable : task_state::blocked);
  t.command = std::move(command);
  t.nodes_involved = std::move(nodes);
  t.depends_on = std::move(depends_on);
  tasks_.emplace(t.id, t);
  return t.id;
}

task_record memory_job_store::task(task_id id) const {
  std::lock_guard lock{mutex_};
  auto it = tasks_.find(id);
  if (it == tasks_.end())
    throw std::out_of_range("memory_job_store: no task " + std::to_string(id));
  return it->second;
}

model::job_record memory_job_store::job(job_id id) const {
  std::lock_guard lock{mutex_};
  auto it = jobs_.find(id);
  if (it == jobs_.end())
    throw std::out_of_range("memory_job_store: no job " + std::to_string(id));
  return it->second;
}

std::vector<task_record> memory_job_store::tasks() const {
  std::lock_guard lock{mutex_};
  std::vector<task_record> out;
  for (const auto& [id, t] : tasks_)
    out.push_back(t);
  return out;
}

std::vector<model::job_record> memory_job_store::jobs() const {
  std::lock_guard lock{mutex_};
  std::vector<model::job_record> out;
  for (const auto& [id, j] : jobs_)
    out.push_back(j);
  return out;
}

void memory_job_store::put_task(const task_record& t) {
  std::lock_guard lock{mutex_};
  auto& r = row(t.id);
  r = t;
  std::sort(r.depends_on.begin(), r.depends_on.end());
}

void memory_job_store::put_job(const model::job_record& j) {
  std::lock_guard lock{mutex_};
  auto it = jobs_.find(j.id);
  if (it == jobs_.end())
    throw std::out_of_range("memory_job_store: no job " + std::to_string(j.id));
  it->second = j;
}

void memory_job_store::set_now(model::epoch_ms now) {
  std::lock_guard lock{mutex_};
  now_ = now;
}

model::epoch_ms memory_job_store::now() const {
  std::lock_guard lock{mutex_};
  return now_;
}

void memory_job_store::hold_task_lock(task_id task, std::int32_t pid) {
  std::lock_guard lock{mutex_};
  task_locks_[task] = pid;
}

std::vector<std::int32_t> memory_job_store::terminated_backends() const {
  std::lock_guard lock{mutex_};
  return terminated_;
}

std::vector<std::int32_t> memory_job_store::cancelled_backends() const {
  std::lock_guard lock{mutex_};
  return cancelled_;
}

void memory_job_store::fail_next(int calls, sql::errc code) {
  std::lock_guard lock{mutex_};
  failures_left_ = calls;
  failure_code_ = code;
}

std::size_t memory_job_store::calls() const {
  std::lock_guard lock{mutex_};
  return calls_;
}

}  // namespace steward::test
