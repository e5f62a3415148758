#pragma once

// The text stored in pg_dist_background_task.message, built from what the executor
// reports (citus-reference §4.6): a notice or error replaces the text, a command tag is
// appended to it. One builder per execution attempt, starting empty.

#include "model/frame.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace steward::model {

class task_message_builder {
public:
  /// Takes one frame, in the order the executor sent them.
  void add(const frame& f);

  /// An error frame arrived.
  bool had_error() const { return had_error_; }

  /// The finished frame arrived (the task committed).
  bool finished() const { return finished_; }

  /// The executor's backend pid, once its started frame arrived.
  std::optional<std::int32_t> backend_pid() const { return backend_pid_; }

  /// The message so far, e.g. "INSERT 0 1\n" or "ERROR: division by zero\nCONTEXT: …\n".
  const std::string& text() const { return text_; }

  /// The last progress report, if any.
  const std::optional<progress_frame>& progress() const { return progress_; }

private:
  void replace(const std::string& severity, const std::string& message, const std::string& detail,
               const std::string& hint, const std::string& context);

  std::string text_;
  bool had_error_ = false;
  bool finished_ = false;
  std::optional<std::int32_t> backend_pid_;
  std::optional<progress_frame> progress_;
};

}  // namespace steward::model
