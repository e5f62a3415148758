#include "status_command.hpp"

#include "model/status_view.hpp"
#include "sql/error.hpp"
#include "sql/status_query.hpp"

#include <fmt/core.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <unistd.h>

namespace steward::app {

namespace {

std::string effective_dsn(const std::string& flag) {
  if (!flag.empty())
    return flag;
  if (const char* env = std::getenv("STEWARD_DSN"); env != nullptr)
    return env;
  return {};  // libpq's defaults: PGHOST, PGPORT, PGDATABASE, PGUSER, ...
}

std::string render(const model::status_snapshot& s, bool json) {
  return json ? model::render_json(s) + "\n" : model::render_text(s);
}

/// Waits up to `ms` for SIGINT or SIGTERM (blocked beforehand); true when one came.
bool interrupted_within(const sigset_t& signals, int ms) {
  timespec ts{ms / 1000, static_cast<long>(ms % 1000) * 1'000'000L};
  for (;;) {
    int sig = ::sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0)
      return true;
    if (errno == EAGAIN)
      return false;
    if (errno != EINTR)
      return false;
  }
}

}  // namespace

int run_status(const status_options& opts) {
  auto limit = opts.all ? std::int64_t{-1} : recent_terminal_jobs;
  std::unique_ptr<sql::status_reader> reader;
  try {
    reader = std::make_unique<sql::status_reader>(effective_dsn(opts.dsn));
    if (!opts.watch) {
      auto text = render(reader->read(limit), opts.json);
      std::fwrite(text.data(), 1, text.size(), stdout);
      return 0;
    }
  } catch (const sql::error& e) {
    fmt::print(stderr, "steward status: {}\n", e.what());
    return 1;
  }

  // --watch: SIGINT/SIGTERM end the loop (read synchronously, no handler).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  do {
    std::string frame;
    try {
      auto snapshot = reader->read(limit);
      if (opts.json) {
        frame = render(snapshot, true);  // one document per line (JSON Lines)
      } else {
        frame = fmt::format("steward status at {} (every {} ms, Ctrl-C ends)\n\n",
                            model::format_time_utc(snapshot.now), opts.interval_ms) +
                render(snapshot, false);
      }
    } catch (const sql::error& e) {
      // Keep watching: libpqxx reconnects on the next read.
      frame = opts.json ? model::render_json_error(e.what()) + "\n"
                        : fmt::format("steward status: {} (retrying)\n", e.what());
    }
    if (terminal && !opts.json)
      frame = "\x1b[H\x1b[2J" + frame;  // home, clear screen
    else if (!opts.json)
      frame += "\n";
    std::fwrite(frame.data(), 1, frame.size(), stdout);
    std::fflush(stdout);
  } while (!interrupted_within(signals, opts.interval_ms));
  return 0;
}

}  // namespace steward::app
