// libFuzzer target for the statement splitter the executor runs on every task command:
// arbitrary text must never crash or over-read, and every statement it returns must be a
// piece of the input, in order and without overlap.
#include "model/statement_splitter.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view sql(reinterpret_cast<const char*>(data), size);
  const char* previous_end = sql.data();
  for (auto statement : steward::model::split_statements(sql)) {
    if (statement.data() < previous_end || statement.data() + statement.size() > sql.data() + sql.size())
      std::abort();
    previous_end = statement.data() + statement.size();
  }
  (void)steward::model::find_transaction_control(sql);
  return 0;
}
