#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steward::model {

/// The JSON text of a string: quoted, with `"`, `\` and every control character escaped
/// (\n, \t, ... or \u00XX), and any byte sequence that is not valid UTF-8 replaced by
/// U+FFFD, so the result is always valid JSON whatever the database stored.
std::string json_quote(std::string_view s);

/// A small streaming writer of compact JSON. The caller nests begin/end correctly;
/// commas and the key/value colons are placed by the writer.
///   json_writer w; w.begin_object(); w.key("a"); w.value(1); w.end_object(); w.str() == R"({"a":1})"
class json_writer {
public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);

  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view{s}); }
  json_writer& value(const std::string& s) { return value(std::string_view{s}); }
  json_writer& value(std::int64_t n);
  json_writer& value(int n) { return value(static_cast<std::int64_t>(n)); }
  json_writer& value(bool b);
  json_writer& null();
  template <class T>
  json_writer& value(const std::optional<T>& v) {
    return v ? value(*v) : null();
  }

  const std::string& str() const { return out_; }

private:
  void separate();  // the comma before a value or key, unless it follows a key
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace steward::model
