#include "model/task_message.hpp"

#include <type_traits>

namespace steward::model {

void task_message_builder::add(const frame& f) {
  std::visit(
    [this](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, started_frame>) {
        backend_pid_ = x.backend_pid;
      } else if constexpr (std::is_same_v<T, notice_frame>) {
        replace(x.severity.empty() ? "NOTICE" : x.severity, x.text, x.detail, x.hint, x.context);
      } else if constexpr (std::is_same_v<T, command_complete_frame>) {
        text_ += x.tag;
        text_ += '\n';
      } else if constexpr (std::is_same_v<T, error_frame>) {
        had_error_ = true;
        replace(x.severity.empty() ? "ERROR" : x.severity, x.text, x.detail, x.hint, x.context);
      } else if constexpr (std::is_same_v<T, progress_frame>) {
        progress_ = x;
      } else {
        static_assert(std::is_same_v<T, finished_frame>);
        finished_ = true;
      }
    },
    f);
}

void task_message_builder::replace(const std::string& severity, const std::string& message,
                                   const std::string& detail, const std::string& hint,
                                   const std::string& context) {
  text_ = severity;
  text_ += ": ";
  text_ += message;
  if (!detail.empty())
    text_ += "\nDETAIL: " + detail;
  if (!hint.empty())
    text_ += "\nHINT: " + hint;
  if (!context.empty())
    text_ += "\nCONTEXT: " + context;
  text_ += '\n';
}

}  // namespace steward::model
