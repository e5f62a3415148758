#include "model/status_view.hpp"

#include "model/json_writer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>

namespace steward::model {

namespace {

/// Days since 1970-01-01 -> (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's civil_from_days).
struct civil {
  std::int64_t y;
  unsigned m, d;
};
civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

struct broken_down {
  civil date;
  int hour, minute, second, millis;
};
broken_down break_down(epoch_ms t) {
  auto floor_div = [](std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); };
  std::int64_t days = floor_div(t, 86'400'000);
  std::int64_t rest = t - days * 86'400'000;
  return {civil_from_days(days), static_cast<int>(rest / 3'600'000),
          static_cast<int>(rest / 60'000 % 60), static_cast<int>(rest / 1000 % 60),
          static_cast<int>(rest % 1000)};
}

// Display order of task states in the counts line.
constexpr std::array<task_state, 8> count_order{
  task_state::done,       task_state::running, task_state::runnable, task_state::blocked,
  task_state::cancelling, task_state::error,   task_state::cancelled, task_state::unscheduled};

std::map<task_state, std::int64_t> count_states(const std::vector<status_task>& tasks) {
  std::map<task_state, std::int64_t> counts;
  for (const auto& t : tasks)
    ++counts[t.state];
  return counts;
}

struct move_totals {
  std::int64_t done = 0;
  std::int64_t running = 0;
  std::int64_t total = 0;
};
move_totals count_moves(const std::vector<status_task>& tasks, bool all_tasks = false) {
  move_totals m;
  for (const auto& t : tasks)
    if (t.is_move || all_tasks) {
      ++m.total;
      m.done += t.state == task_state::done;
      m.running += t.state == task_state::running;
    }
  return m;
}

std::string pad(std::string s, std::size_t width) {
  // Widths count code points, so that "→" or non-ASCII names do not skew columns.
  std::size_t cps = 0;
  for (unsigned char c : s)
    cps += (c & 0xC0) != 0x80;
  if (cps < width)
    s.append(width - cps, ' ');
  return s;
}

std::string when_line(const job_record& j, epoch_ms now) {
  if (!j.started_at)
    return is_terminal(j.state) ? "never started" : "not started yet";
  std::string line = "started " + format_time_utc(*j.started_at);
  if (j.finished_at)
    line += ", finished " + format_time_utc(*j.finished_at) + " (took " +
            format_duration(*j.finished_at - *j.started_at) + ")";
  else
    line += " (" + format_duration(now - *j.started_at) + " ago)";
  return line;
}

void render_job(std::string& out, const status_job& sj, const status_snapshot& s) {
  const auto& j = sj.job;
  out += fmt::format("job {}  {}  {}\n", j.id, j.job_type, to_string(j.state));
  if (!j.description.empty())
    out += fmt::format("  {}\n", first_line(j.description));
  out += fmt::format("  {}\n", when_line(j, s.now));
  out += fmt::format("  tasks: {}\n", task_state_counts_text(sj.tasks));

  if (j.job_type == "rebalance" && !is_terminal(j.state)) {
    auto m = count_moves(sj.tasks);
    if (m.total == 0)  // no recognisable move task: the tasks stand in for the moves
      m = count_moves(sj.tasks, true);
    out += fmt::format("  moves {} {:>3}%  {}/{} done{}\n", progress_bar(m.done, m.total, 30),
                       percent(m.done, m.total), m.done, m.total,
                       m.running > 0 ? fmt::format(", {} running", m.running) : "");
  }

  auto moves = moves_of(sj, s.progress);
  if (!moves.empty()) {
    std::vector<std::string> names, sizes;
    std::size_t name_w = 0, size_w = 0, phase_w = 0;
    for (const auto& mv : moves) {
      names.push_back(fmt::format("shard {} (task {})", mv.shardid, mv.task));
      sizes.push_back(format_bytes(mv.target_size) + " / " + format_bytes(mv.source_size));
      name_w = std::max(name_w, names.back().size());
      size_w = std::max(size_w, sizes.back().size());
      phase_w = std::max(phase_w, mv.phase.size());
    }
    for (std::size_t i = 0; i < moves.size(); ++i) {
      const auto& mv = moves[i];
      out += fmt::format("    {}  {} {:>3}%  {}  {}  {} \u2192 {}\n", pad(names[i], name_w),
                         progress_bar(mv.target_size, mv.source_size, 20),
                         percent(mv.target_size, mv.source_size), pad(sizes[i], size_w),
                         pad(mv.phase, phase_w), mv.source, mv.target);
    }
  }

  for (const auto& t : sj.tasks) {
    if (!is_failure(t))
      continue;
    std::string what = std::string{to_string(t.state)};
    if (t.retried > 0)
      what += fmt::format(", retried {}", t.retried);
    if (t.state != task_state::error && t.not_before && *t.not_before > s.now)
      what += ", next try in " + format_duration(*t.not_before - s.now);
    auto msg = first_line(t.message);
    out += fmt::format("  task {} {}{}{}\n", t.id, what, msg.empty() ? "" : ": ", msg);
  }
}

}  // namespace

std::vector<move_view> moves_of(const status_job& job, const std::vector<move_progress_row>& rows) {
  std::vector<move_view> moves;
  for (const auto& t : job.tasks) {
    if (t.state != task_state::running || !t.pid)
      continue;
    std::vector<const move_progress_row*> mine;
    for (const auto& r : rows)
      if (r.sessionid == *t.pid)
        mine.push_back(&r);
    if (mine.empty())
      continue;
    std::sort(mine.begin(), mine.end(),
              [](const auto* a, const auto* b) { return a->shardid < b->shardid; });
    move_view mv;
    mv.task = t.id;
    const auto& head = *mine.front();
    mv.shardid = head.shardid;
    mv.table_name = head.table_name;
    mv.phase = head.status;
    mv.source = head.sourcename + ":" + std::to_string(head.sourceport);
    mv.target = head.targetname + ":" + std::to_string(head.targetport);
    for (const auto* r : mine) {
      mv.shards.push_back(r->shardid);
      mv.source_size += r->source_shard_size;
      mv.target_size += r->target_shard_size;
    }
    moves.push_back(std::move(mv));
  }
  return moves;
}

std::string format_bytes(std::int64_t size) {
  struct unit {
    const char* name;
    std::int64_t limit;
    bool round;
    int bits;
  };
  // PostgreSQL 15's size_pretty_units (src/backend/utils/adt/dbsize.c).
  static constexpr std::array<unit, 6> units{{{"bytes", 10 * 1024, false, 0},
                                              {"kB", 20 * 1024 - 1, true, 10},
                                              {"MB", 20 * 1024 - 1, true, 20},
                                              {"GB", 20 * 1024 - 1, true, 30},
                                              {"TB", 20 * 1024 - 1, true, 40},
                                              {"PB", 20 * 1024 - 1, true, 50}}};
  for (std::size_t i = 0; i < units.size(); ++i) {
    const auto& u = units[i];
    bool last = i + 1 == units.size();
    // |size| without overflow for INT64_MIN: compare in the negative range.
    bool below = size < 0 ? size > -u.limit : size < u.limit;
    if (last || below) {
      if (u.round)
        size = (size + (size < 0 ? -1 : 1)) / 2;
      return fmt::format("{} {}", size, u.name);
    }
    const auto& next = units[i + 1];
    int bits = next.bits - u.bits - (next.round ? 1 : 0) + (u.round ? 1 : 0);
    size /= std::int64_t{1} << bits;
  }
  return {};
}

std::string progress_bar(std::int64_t done, std::int64_t total, int width) {
  if (width < 1)
    width = 1;
  int filled = 0;
  if (total > 0 && done > 0)
    filled = done >= total ? width
                           : static_cast<int>(static_cast<long double>(done) * width / total);
  return "[" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(width - filled), '-') + "]";
}

int percent(std::int64_t done, std::int64_t total) {
  if (total <= 0 || done <= 0)
    return 0;
  if (done >= total)
    return 100;
  return static_cast<int>(static_cast<long double>(done) * 100 / total);
}

std::string format_time_utc(epoch_ms t) {
  auto b = break_down(t);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", b.date.y, b.date.m, b.date.d, b.hour,
                     b.minute, b.second);
}

std::string format_iso8601(epoch_ms t) {
  auto b = break_down(t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", b.date.y, b.date.m, b.date.d,
                     b.hour, b.minute, b.second, b.millis);
}

std::string format_duration(epoch_ms ms) {
  std::int64_t s = ms > 0 ? ms / 1000 : 0;
  if (s < 60)
    return fmt::format("{}s", s);
  if (s < 3600)
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400)
    return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
  return fmt::format("{}d{:02}h", s / 86400, s / 3600 % 24);
}

std::string first_line(std::string_view message) {
  auto end = message.find('\n');
  std::string line{message.substr(0, end)};
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
    line.pop_back();
  return line;
}

std::string task_state_counts_text(const std::vector<status_task>& tasks) {
  if (tasks.empty())
    return "no tasks";
  auto counts = count_states(tasks);
  std::string out;
  for (auto st : count_order) {
    auto it = counts.find(st);
    if (it == counts.end())
      continue;
    if (!out.empty())
      out += ", ";
    out += fmt::format("{} {}", to_string(st), it->second);
  }
  return out;
}

bool is_failure(const status_task& t) {
  return t.state == task_state::error || (t.retried > 0 && !is_terminal(t.state));
}

std::string render_text(const status_snapshot& s) {
  std::string out;
  if (s.progress_error)
    out += fmt::format("(shard move progress unavailable: {})\n\n", first_line(*s.progress_error));
  if (s.jobs.empty() && s.hidden_terminal_jobs == 0)
    out += "no jobs\n";
  bool first = true;
  for (const auto& j : s.jobs) {
    if (!first)
      out += '\n';
    first = false;
    render_job(out, j, s);
  }
  if (s.hidden_terminal_jobs > 0)
    out += fmt::format("{}{} older finished, failed or cancelled job{} not shown (--all shows them)\n",
                       s.jobs.empty() ? "" : "\n", s.hidden_terminal_jobs,
                       s.hidden_terminal_jobs == 1 ? "" : "s");
  return out;
}

std::string render_json(const status_snapshot& s) {
  json_writer w;
  w.begin_object();
  w.key("now").value(format_iso8601(s.now));
  w.key("jobs").begin_array();
  for (const auto& sj : s.jobs) {
    const auto& j = sj.job;
    w.begin_object();
    w.key("job_id").value(j.id);
    w.key("state").value(to_string(j.state));
    w.key("job_type").value(j.job_type);
    w.key("description").value(j.description);
    w.key("started_at");
    j.started_at ? w.value(format_iso8601(*j.started_at)) : w.null();
    w.key("finished_at");
    j.finished_at ? w.value(format_iso8601(*j.finished_at)) : w.null();

    w.key("task_state_counts").begin_object();
    auto counts = count_states(sj.tasks);
    for (auto st : count_order)
      if (auto it = counts.find(st); it != counts.end())
        w.key(to_string(st)).value(it->second);
    w.end_object();

    auto m = count_moves(sj.tasks);
    w.key("move_counts").begin_object();
    w.key("done").value(m.done);
    w.key("total").value(m.total);
    w.end_object();

    w.key("tasks").begin_array();
    for (const auto& t : sj.tasks) {
      w.begin_object();
      w.key("task_id").value(t.id);
      w.key("state").value(to_string(t.state));
      w.key("retried").value(t.retried);
      w.key("pid").value(t.pid);
      w.key("not_before");
      t.not_before ? w.value(format_iso8601(*t.not_before)) : w.null();
      w.key("is_move").value(t.is_move);
      w.key("message").value(t.message);
      w.key("command").value(t.command);
      w.end_object();
    }
    w.end_array();

    w.key("moves").begin_array();
    for (const auto& mv : moves_of(sj, s.progress)) {
      w.begin_object();
      w.key("task_id").value(mv.task);
      w.key("shardid").value(mv.shardid);
      w.key("shards").begin_array();
      for (auto id : mv.shards)
        w.value(id);
      w.end_array();
      w.key("table_name").value(mv.table_name);
      w.key("phase").value(mv.phase);
      w.key("source").value(mv.source);
      w.key("target").value(mv.target);
      w.key("source_size").value(mv.source_size);
      w.key("target_size").value(mv.target_size);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.key("hidden_terminal_jobs").value(s.hidden_terminal_jobs);
  w.key("move_progress").begin_object();
  w.key("available").value(s.progress_available);
  w.key("error").value(s.progress_error);
  w.end_object();
  w.end_object();
  return w.str();
}

std::string render_json_error(std::string_view message) {
  json_writer w;
  w.begin_object().key("error").value(message).end_object();
  return w.str();
}

}  // namespace steward::model
