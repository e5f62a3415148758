// steward-executor: runs one task's command for the coordinator daemon (DESIGN.md
// "Executor", citus-reference §4.5) and reports over the task's shared-memory channel.
//
//   steward-executor --channel NAME --job J --task T --owner ROLE
//   environment: STEWARD_EXECUTOR_DSN = the daemon's libpq connection string
//
// It connects as ROLE, reports `started`, takes the task's advisory lock, reads the
// task's command from steward.pg_dist_background_task (so the command never travels on
// a command line), rejects transaction control, and runs the command in one transaction,
// forwarding notices and command tags; then `finished`, or one error frame.
//
// Exit status: 0 after `finished` (committed), 1 when the task failed, was cancelled or
// the executor was terminated (an error frame says which), 2 on a usage or set-up error
// (reported on stderr, and on the channel when it could be opened).
#include "actors/os/shm_channel.hpp"
#include "apps/steward-executor/libpq_api.hpp"
#include "model/frame.hpp"
#include "model/statement_splitter.hpp"
#include "sql/executor_queries.hpp"
#include "sql/locks.hpp"

#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace steward;
using steward::executor::libpq_api;
using clock_type = std::chrono::steady_clock;

constexpr int exit_ok = 0;
constexpr int exit_task_failed = 1;
constexpr int exit_usage = 2;

/// Every text field of a frame is cut to this size, so that even an error frame with
/// six long fields fits into the default 256 KiB ring.
constexpr std::size_t max_field_bytes = 16 * 1024;

/// How often a cancel is sent again while a cancelled statement keeps running (a cancel
/// that reaches the backend between statements is ignored by the server).
constexpr auto cancel_resend_interval = std::chrono::milliseconds(250);

/// After SIGTERM, how long the executor waits for the cancelled statement to end before
/// it closes the connection anyway.
constexpr auto terminate_wait = std::chrono::seconds(2);

const char* const dsn_variable = "STEWARD_EXECUTOR_DSN";
const char* const usage_text =
  "usage: steward-executor --channel NAME --job JOB_ID --task TASK_ID --owner ROLE\n"
  "       (the connection string comes in the environment variable STEWARD_EXECUTOR_DSN)\n";

libpq_api pq;

struct options {
  std::string channel;
  std::int64_t job = 0;
  std::int64_t task = 0;
  std::string owner;
};

std::optional<std::int64_t> parse_id(const std::string& text) {
  if (text.empty() || text.size() > 19)
    return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    if (value > (INT64_MAX - (c - '0')) / 10)
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::optional<options> parse_arguments(int argc, char** argv, std::string& problem) {
  std::map<std::string, std::string> values;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string key, value;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      key = arg.substr(2, eq - 2);
      value = arg.substr(eq + 1);
    } else if (arg.rfind("--", 0) == 0 && i + 1 < argc) {
      key = arg.substr(2);
      value = argv[++i];
    } else {
      problem = "unexpected argument '" + arg + "'";
      return std::nullopt;
    }
    if (key != "channel" && key != "job" && key != "task" && key != "owner") {
      problem = "unknown option --" + key;
      return std::nullopt;
    }
    if (!values.emplace(key, value).second) {
      problem = "--" + key + " given twice";
      return std::nullopt;
    }
  }
  for (const char* key : {"channel", "job", "task", "owner"}) {
    if (values.count(key) == 0 || values[key].empty()) {
      problem = std::string("missing --") + key;
      return std::nullopt;
    }
  }
  options o;
  o.channel = values["channel"];
  o.owner = values["owner"];
  auto job = parse_id(values["job"]);
  auto task = parse_id(values["task"]);
  if (!job || !task) {
    problem = "--job and --task take non-negative integers";
    return std::nullopt;
  }
  o.job = *job;
  o.task = *task;
  return o;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.pop_back();
  return s;
}

std::string or_empty(const char* s) {
  return s != nullptr ? s : std::string();
}

/// Writes frames to the channel. Notices and progress are dropped when the ring stays
/// full (the proxy is busy or gone); everything else waits for room, since the proxy
/// needs the pid, the tags and the final error or finished frame. Blocking is fine here:
/// the executor is a plain process, and PR_SET_PDEATHSIG ends it if the daemon dies.
class reporter {
public:
  explicit reporter(shm_channel channel) : channel_(std::move(channel)) {}

  void essential(model::frame f) {
    model::clamp_fields(f, max_field_bytes);
    while (!channel_.write(f))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  void optional(model::frame f) {
    model::clamp_fields(f, max_field_bytes);
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (channel_.write(f))
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ++dropped_;
  }

  std::size_t dropped() const { return dropped_; }

private:
  shm_channel channel_;
  std::size_t dropped_ = 0;
};

/// SIGINT and SIGTERM arrive through a signalfd and are looked at between waits: no
/// work ever happens in a signal handler.
class signal_watch {
public:
  signal_watch() {
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, SIGINT);
    ::sigaddset(&set, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    fd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  }
  ~signal_watch() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  int fd() const { return fd_; }

  /// Reads pending signals; true when one arrived since the last call.
  bool drain() {
    bool any = false;
    signalfd_siginfo info{};
    while (fd_ >= 0 && ::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      any = true;
      if (info.ssi_signo == SIGINT)
        cancel = true;
      else if (info.ssi_signo == SIGTERM)
        terminate = true;
    }
    return any;
  }

  bool cancel = false;
  bool terminate = false;

private:
  int fd_ = -1;
};

/// Converts a libpq error or notice result into frame fields; `context_line` is added
/// as the outermost CONTEXT line, as Citus's executor does with its error context.
struct diagnostics {
  std::string sqlstate, severity, text, detail, hint, context;

  static diagnostics from(const PGresult* r, const std::string& context_line) {
    diagnostics d;
    d.sqlstate = or_empty(pq.PQresultErrorField(r, PG_DIAG_SQLSTATE));
    d.severity = or_empty(pq.PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED));
    if (d.severity.empty())
      d.severity = or_empty(pq.PQresultErrorField(r, PG_DIAG_SEVERITY));
    d.text = or_empty(pq.PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
    d.detail = or_empty(pq.PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL));
    d.hint = or_empty(pq.PQresultErrorField(r, PG_DIAG_MESSAGE_HINT));
    d.context = or_empty(pq.PQresultErrorField(r, PG_DIAG_CONTEXT));
    d.context = d.context.empty() ? context_line : d.context + "\n" + context_line;
    return d;
  }

  model::error_frame error() const {
    return {sqlstate, severity.empty() ? "ERROR" : severity, text, detail, hint, context};
  }
  model::notice_frame notice() const {
    return {severity.empty() ? "NOTICE" : severity, text, detail, hint, context};
  }
};

class task_executor {
public:
  task_executor(options opts, reporter& out, signal_watch& signals)
    : opts_(std::move(opts)), out_(out), signals_(signals) {}

  ~task_executor() {
    if (cancel_ != nullptr)
      pq.PQfreeCancel(cancel_);
    if (conn_ != nullptr)
      pq.PQfinish(conn_);
  }

  int run(const std::string& dsn) {
    if (!connect(dsn))
      return exit_task_failed;
    out_.essential(model::started_frame{pq.PQbackendPID(conn_)});
    if (stop_requested())
      return stopped();

    if (!take_task_lock())
      return exit_task_failed;
    if (stop_requested())
      return stopped();
    if (!read_command())
      return exit_task_failed;
    if (stop_requested())
      return stopped();

    if (model::find_transaction_control(command_)) {
      report_error("0A000", "transaction control statements are not allowed in background job");
      return exit_task_failed;
    }
    return run_command();
  }

private:
  // --- connection -------------------------------------------------------------------

  bool connect(const std::string& dsn) {
    char* parse_error = nullptr;
    PQconninfoOption* parsed = pq.PQconninfoParse(dsn.c_str(), &parse_error);
    if (parsed == nullptr) {
      std::string why = parse_error != nullptr ? trim(parse_error) : "out of memory";
      if (parse_error != nullptr)
        pq.PQfreemem(parse_error);
      report_error("08000", "invalid connection string for the task: " + why);
      return false;
    }
    std::vector<std::pair<std::string, std::string>> params;
    std::string dsn_user, dbname;
    for (auto* o = parsed; o->keyword != nullptr; ++o) {
      if (o->val == nullptr)
        continue;
      std::string key = o->keyword;
      if (key == "user")
        dsn_user = o->val;
      if (key == "dbname")
        dbname = o->val;
      if (key != "user" && key != "application_name" && key != "fallback_application_name")
        params.emplace_back(key, o->val);
    }
    pq.PQconninfoFree(parsed);

    if (dsn_user.empty())
      dsn_user = default_user();
    if (opts_.owner != dsn_user) {
      // The daemon's password is for the daemon's role only; the server authenticates
      // the owner by its own means (peer, cert, trust, a passfile).
      std::vector<std::pair<std::string, std::string>> kept;
      for (auto& p : params)
        if (p.first != "password")
          kept.push_back(std::move(p));
      params = std::move(kept);
      ::unsetenv("PGPASSWORD");
    }
    params.emplace_back("user", opts_.owner);
    params.emplace_back("application_name", "steward executor job=" + std::to_string(opts_.job) +
                                              " task=" + std::to_string(opts_.task));
    context_line_ = make_context_line(dbname.empty() ? opts_.owner : dbname, opts_.owner);

    std::vector<const char*> keys, values;
    for (const auto& p : params) {
      keys.push_back(p.first.c_str());
      values.push_back(p.second.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = pq.PQconnectStartParams(keys.data(), values.data(), 0);
    if (conn_ == nullptr) {
      report_error("08000", "out of memory while connecting");
      return false;
    }
    auto state = PGRES_POLLING_WRITING;
    while (pq.PQstatus(conn_) != CONNECTION_BAD && state != PGRES_POLLING_OK &&
           state != PGRES_POLLING_FAILED) {
      const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
      if (wait_for_socket(events, -1))
        state = pq.PQconnectPoll(conn_);
      if (stop_requested())
        return stopped_bool();
    }
    if (pq.PQstatus(conn_) != CONNECTION_OK) {
      report_error("08006", trim(pq.PQerrorMessage(conn_)));
      return false;
    }
    context_line_ = make_context_line(or_empty(pq.PQdb(conn_)), or_empty(pq.PQuser(conn_)));
    pq.PQsetNoticeReceiver(conn_, &task_executor::on_notice, this);
    cancel_ = pq.PQgetCancel(conn_);
    return true;
  }

  static std::string default_user() {
    if (const char* env = std::getenv("PGUSER"); env != nullptr && *env != '\0')
      return env;
    if (const auto* pw = ::getpwuid(::geteuid()); pw != nullptr)
      return pw->pw_name;
    return {};
  }

  std::string make_context_line(const std::string& db, const std::string& user) const {
    return "Steward Background Task Executor: " + db + "/" + user + " for (" +
           std::to_string(opts_.job) + "/" + std::to_string(opts_.task) + ")";
  }

  static void on_notice(void* self, const PGresult* r) {
    auto* ex = static_cast<task_executor*>(self);
    ex->out_.optional(diagnostics::from(r, ex->context_line_).notice());
  }

  // --- signals ----------------------------------------------------------------------

  bool stop_requested() {
    signals_.drain();
    return signals_.cancel || signals_.terminate;
  }

  /// Reports why the executor stops without having run (more of) the command.
  int stopped() {
    if (signals_.terminate)
      report_terminated();
    else
      report_error("57014", "canceling statement due to user request");
    return exit_task_failed;
  }
  bool stopped_bool() {
    stopped();
    return false;
  }

  void report_terminated() {
    out_.essential(model::error_frame{"57P01", "FATAL",
                                      "terminating executor due to coordinator shutdown", "",
                                      "", context_line_});
  }

  void send_cancel() {
    if (cancel_ == nullptr)
      return;
    char buffer[256];
    pq.PQcancel(cancel_, buffer, sizeof buffer);
    last_cancel_ = clock_type::now();
  }

  /// Waits until the connection's socket is ready for `events` or a signal arrives;
  /// true when the socket is ready. `timeout_ms` < 0 waits without limit.
  bool wait_for_socket(short events, int timeout_ms) {
    pollfd fds[2] = {{pq.PQsocket(conn_), events, 0}, {signals_.fd(), POLLIN, 0}};
    const int n = ::poll(fds, signals_.fd() >= 0 ? 2 : 1, timeout_ms);
    return n > 0 && (fds[0].revents & (events | POLLERR | POLLHUP)) != 0;
  }

  // --- queries ----------------------------------------------------------------------

  /// What one query round ended with.
  struct outcome {
    bool failed = false;          ///< an error result arrived (already reported unless quiet)
    bool connection_lost = false;
    bool abandoned = false;       ///< terminated and the statement did not end in time
    std::vector<std::string> first_row;
  };

  /// Sends a query (via `send`) and consumes all its results, answering SIGINT/SIGTERM
  /// with PQcancel meanwhile. Errors are reported as error frames unless the executor
  /// is terminating (the FATAL frame then tells the story). With `report_tags`, each
  /// statement's command tag goes out as command_complete.
  template <class Send>
  outcome run_query(Send&& send, bool report_tags) {
    outcome result;
    if (send() == 0) {
      result.connection_lost = true;
      report_connection_error();
      return result;
    }
    bool cancelling = signals_.cancel || signals_.terminate;
    if (cancelling)
      send_cancel();
    std::optional<clock_type::time_point> terminate_deadline;
    bool in_copy_out = false;
    for (;;) {
      if (signals_.drain() && (signals_.cancel || signals_.terminate) && !cancelling) {
        cancelling = true;
        send_cancel();
      }
      if (signals_.terminate && !terminate_deadline)
        terminate_deadline = clock_type::now() + terminate_wait;
      if (terminate_deadline && clock_type::now() >= *terminate_deadline) {
        result.abandoned = true;
        return result;
      }
      if (cancelling && clock_type::now() - last_cancel_ >= cancel_resend_interval)
        send_cancel();

      if (pq.PQconsumeInput(conn_) == 0) {
        result.connection_lost = true;
        if (!signals_.terminate)
          report_connection_error();
        return result;
      }
      if (in_copy_out) {
        char* buffer = nullptr;
        int n;
        while ((n = pq.PQgetCopyData(conn_, &buffer, 1)) > 0)
          pq.PQfreemem(buffer);
        if (n == 0) {
          wait(cancelling);
          continue;
        }
        in_copy_out = false;  // -1: done, -2: error; the result follows either way
      }
      while (!pq.PQisBusy(conn_)) {
        PGresult* r = pq.PQgetResult(conn_);
        if (r == nullptr)
          return result;
        switch (pq.PQresultStatus(r)) {
          case PGRES_COMMAND_OK:
          case PGRES_TUPLES_OK:
            if (report_tags)
              out_.essential(model::command_complete_frame{or_empty(pq.PQcmdStatus(r))});
            if (result.first_row.empty() && pq.PQntuples(r) > 0)
              for (int c = 0; c < pq.PQnfields(r); ++c)
                result.first_row.emplace_back(or_empty(pq.PQgetvalue(r, 0, c)));
            break;
          case PGRES_SINGLE_TUPLE:
            break;
          case PGRES_COPY_IN:
            pq.PQputCopyEnd(conn_, "COPY FROM STDIN is not supported in a background task");
            break;
          case PGRES_COPY_OUT:
            in_copy_out = true;
            break;
          case PGRES_EMPTY_QUERY:
            break;
          default:
            if (!result.failed && !signals_.terminate)
              report_result_error(r);
            result.failed = true;
            break;
        }
        pq.PQclear(r);
        if (in_copy_out)
          break;
      }
      if (in_copy_out)
        continue;  // rows may already be buffered: read them before waiting on the socket
      wait(cancelling);
    }
  }

  void wait(bool cancelling) {
    const int timeout = cancelling ? static_cast<int>(cancel_resend_interval.count()) : -1;
    wait_for_socket(POLLIN, signals_.terminate ? 50 : timeout);
  }

  outcome simple(const char* sql, bool report_tags = false) {
    return run_query([&] { return pq.PQsendQuery(conn_, sql); }, report_tags);
  }

  bool take_task_lock() {
    auto [key1, key2] = sql::task_lock_keys(opts_.task);
    auto k1 = std::to_string(key1), k2 = std::to_string(key2);
    const char* values[] = {k1.c_str(), k2.c_str()};
    auto result = run_query(
      [&] {
        return pq.PQsendQueryParams(conn_, sql::executor_queries::try_task_lock, 2, nullptr,
                                    values, nullptr, nullptr, 0);
      },
      false);
    if (result.abandoned || (signals_.terminate && (result.failed || result.connection_lost))) {
      report_terminated();
      return false;
    }
    if (result.failed || result.connection_lost)
      return false;
    if (result.first_row.empty() || result.first_row[0] != "t") {
      report_error("55006",
                   "unable to acquire background task lock for taskId: " + std::to_string(opts_.task),
                   "this indicates that an other backend is already executing this task");
      return false;
    }
    return true;
  }

  /// The command comes from the catalog, read as the owner: it never travels on a
  /// command line, and the executor runs exactly what the catalog holds.
  bool read_command() {
    auto job = std::to_string(opts_.job), task = std::to_string(opts_.task);
    const char* values[] = {job.c_str(), task.c_str()};
    bool found = false;
    auto result = run_query(
      [&] {
        return pq.PQsendQueryParams(conn_, sql::executor_queries::task_command, 2, nullptr,
                                    values, nullptr, nullptr, 0);
      },
      false);
    if (result.abandoned || (signals_.terminate && (result.failed || result.connection_lost))) {
      report_terminated();
      return false;
    }
    if (result.failed || result.connection_lost)
      return false;
    found = result.first_row.size() == 2;
    if (!found) {
      report_error("P0002", "background task " + task + " of job " + job + " does not exist");
      return false;
    }
    if (result.first_row[1] != "t") {
      report_error("42501", "background task " + task + " is not owned by role " + opts_.owner);
      return false;
    }
    command_ = result.first_row[0];
    return true;
  }

  int run_command() {
    auto begin = simple(sql::executor_queries::begin);
    if (begin.failed || begin.connection_lost || begin.abandoned)
      return finish_failed(begin);
    // Rows are discarded as they arrive (single-row mode), so a task that selects much
    // does not hold its whole result in memory.
    auto command = run_query(
      [&] {
        const int sent = pq.PQsendQuery(conn_, command_.c_str());
        if (sent != 0)
          pq.PQsetSingleRowMode(conn_);
        return sent;
      },
      true);
    if (command.failed || command.connection_lost || command.abandoned)
      return finish_failed(command);
    if (signals_.terminate)
      return finish_failed(command);
    if (pq.PQtransactionStatus(conn_) != PQTRANS_INTRANS) {
      // The lexer let a transaction statement through: whatever it did, do not commit.
      report_error("0A000", "transaction control statements are not allowed in background job");
      simple(sql::executor_queries::rollback);
      return exit_task_failed;
    }
    auto commit = simple(sql::executor_queries::commit);
    if (commit.failed || commit.connection_lost || commit.abandoned)
      return finish_failed(commit);
    out_.essential(model::finished_frame{});
    return exit_ok;
  }

  int finish_failed(const outcome& o) {
    if (signals_.terminate) {
      report_terminated();
      return exit_task_failed;
    }
    if (!o.connection_lost)
      simple(sql::executor_queries::rollback);
    return exit_task_failed;
  }

  // --- reporting --------------------------------------------------------------------

  void report_error(const std::string& sqlstate, const std::string& text,
                    const std::string& detail = {}) {
    out_.essential(model::error_frame{sqlstate, "ERROR", text, detail, "", context_line_});
  }

  void report_result_error(const PGresult* r) {
    auto d = diagnostics::from(r, context_line_);
    if (d.text.empty()) {  // a client-side failure: libpq put the reason on the connection
      d.text = trim(pq.PQerrorMessage(conn_));
      if (d.sqlstate.empty())
        d.sqlstate = pq.PQstatus(conn_) == CONNECTION_BAD ? "08006" : "XX000";
    }
    out_.essential(d.error());
  }

  void report_connection_error() {
    report_error("08006", trim(pq.PQerrorMessage(conn_)));
  }

  options opts_;
  reporter& out_;
  signal_watch& signals_;
  std::string command_;
  std::string context_line_;
  PGconn* conn_ = nullptr;
  PGcancel* cancel_ = nullptr;
  clock_type::time_point last_cancel_{};
};

}  // namespace

int main(int argc, char** argv) {
  // Die with the daemon. If it is already gone, there is nobody to report to.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // From here on SIGINT/SIGTERM wait in a signalfd: a signal that arrives while the
  // executor starts up is answered once it can be (nothing is running yet to cancel).
  signal_watch signals;

  std::string problem;
  auto opts = parse_arguments(argc, argv, problem);
  if (!opts) {
    std::fprintf(stderr, "steward-executor: %s\n%s", problem.c_str(), usage_text);
    return exit_usage;
  }
  if (auto daemon = shm_channel::owner_pid_of(opts->channel); daemon && ::getppid() != *daemon) {
    std::fprintf(stderr, "steward-executor: the coordinator (pid %d) is gone\n", *daemon);
    return exit_task_failed;
  }

  std::optional<reporter> out;
  try {
    pq = libpq_api::load();
    out.emplace(shm_channel::open(opts->channel));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "steward-executor: %s\n", e.what());
    return exit_usage;
  }

  const char* dsn = std::getenv(dsn_variable);
  if (dsn == nullptr) {
    std::fprintf(stderr, "steward-executor: %s is not set\n", dsn_variable);
    out->essential(model::error_frame{"22023", "ERROR",
                                      std::string("executor started without ") + dsn_variable,
                                      "", "", ""});
    return exit_usage;
  }
  std::string conninfo = dsn;
  ::unsetenv(dsn_variable);
  task_executor ex(*opts, *out, signals);
  return ex.run(conninfo);
}
