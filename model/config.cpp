#include "model/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

namespace steward::model {

namespace {

constexpr std::int64_t int_max = std::numeric_limits<int>::max();

constexpr std::string_view known_keys[] = {
  "dsn",         "max_executors",      "max_executors_per_node", "poll_interval_ms",
  "retry_delays_s", "max_retries",     "terminate_grace_ms",     "log_level"};

/// How a TOML value reads in an error message: integers as written, strings quoted,
/// anything else by its kind.
std::string describe_value(const toml::node& n) {
  if (auto i = n.as_integer())
    return std::to_string(i->get());
  if (auto s = n.as_string())
    return fmt::format("\"{}\"", s->get());
  if (auto f = n.as_floating_point())
    return fmt::format("the floating-point number {}", f->get());
  if (auto b = n.as_boolean())
    return b->get() ? "true" : "false";
  if (n.is_array())
    return "an array";
  if (n.is_table())
    return "a table";
  if (n.is_date())
    return "a date";
  if (n.is_time())
    return "a time";
  if (n.is_date_time())
    return "a date-time";
  return "an unsupported value";
}

std::string int_requirement(std::int64_t lo, std::int64_t hi) {
  if (hi >= int_max)
    return lo == 0 ? "must be a non-negative integer"
                   : fmt::format("must be an integer of at least {}", lo);
  return fmt::format("must be an integer between {} and {}", lo, hi);
}

/// Reads an integer within [lo, hi] into `out`; an error otherwise.
std::optional<config_error> read_int(const toml::node& n, std::string_view key, std::int64_t lo,
                                     std::int64_t hi, int& out) {
  auto i = n.as_integer();
  if (!i || i->get() < lo || i->get() > hi)
    return config_error{std::string(key),
                        fmt::format("{}, got {}", int_requirement(lo, hi), describe_value(n))};
  out = static_cast<int>(i->get());
  return std::nullopt;
}

std::optional<config_error> read_delays(const toml::node& n, std::vector<int>& out) {
  constexpr std::string_view requirement = "must be a non-empty array of non-negative integers";
  auto arr = n.as_array();
  if (!arr)
    return config_error{"retry_delays_s",
                        fmt::format("{}, got {}", requirement, describe_value(n))};
  if (arr->empty())
    return config_error{"retry_delays_s", fmt::format("{}, got an empty array", requirement)};
  std::vector<int> delays;
  for (std::size_t k = 0; k < arr->size(); ++k) {
    const auto& e = *arr->get(k);
    auto i = e.as_integer();
    if (!i || i->get() < 0 || i->get() > int_max)
      return config_error{"retry_delays_s", fmt::format("{}, element {} is {}", requirement, k + 1,
                                                        describe_value(e))};
    delays.push_back(static_cast<int>(i->get()));
  }
  out = std::move(delays);
  return std::nullopt;
}

std::optional<config_error> read_key(std::string_view key, const toml::node& n, config& c) {
  if (key == "dsn") {
    auto s = n.as_string();
    if (!s)
      return config_error{"dsn", fmt::format("must be a string, got {}", describe_value(n))};
    c.dsn = s->get();
    return std::nullopt;
  }
  if (key == "max_executors")
    return read_int(n, key, 1, 1000, c.max_executors);
  if (key == "max_executors_per_node")
    return read_int(n, key, 1, 128, c.max_executors_per_node);
  if (key == "poll_interval_ms")
    return read_int(n, key, 10, int_max, c.poll_interval_ms);
  if (key == "retry_delays_s")
    return read_delays(n, c.retry_delays_s);
  if (key == "max_retries")
    return read_int(n, key, 0, int_max, c.max_retries);
  if (key == "terminate_grace_ms")
    return read_int(n, key, 0, int_max, c.terminate_grace_ms);
  if (key == "log_level") {
    auto s = n.as_string();
    bool ok = s && std::find(std::begin(log_levels), std::end(log_levels), s->get())
                       != std::end(log_levels);
    if (!ok)
      return config_error{
        "log_level", fmt::format("must be one of trace, debug, info, warn, error, critical, off, got {}",
                                 describe_value(n))};
    c.log_level = s->get();
    return std::nullopt;
  }
  return config_error{std::string(key), "unknown key"};
}

bool is_password_key(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return lower == "password" || lower == "sslpassword";
}

constexpr std::string_view mask = "********";

bool is_space(char ch) {
  return std::isspace(static_cast<unsigned char>(ch)) != 0;
}

/// libpq "key = value" syntax: values are bare words or single-quoted, with backslash escapes.
std::string redact_keywords(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  auto copy_spaces = [&] {
    while (i < s.size() && is_space(s[i]))
      out += s[i++];
  };
  while (i < s.size()) {
    copy_spaces();
    auto key_start = i;
    while (i < s.size() && s[i] != '=' && !is_space(s[i]))
      ++i;
    auto key = s.substr(key_start, i - key_start);
    out += key;
    copy_spaces();
    if (i >= s.size() || s[i] != '=')
      continue;  // malformed; libpq will refuse it
    out += s[i++];
    copy_spaces();
    auto value_start = i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'')
        i += (s[i] == '\\' && i + 1 < s.size()) ? 2 : 1;
      if (i < s.size())
        ++i;  // closing quote
    } else {
      while (i < s.size() && !is_space(s[i]))
        i += (s[i] == '\\' && i + 1 < s.size()) ? 2 : 1;
    }
    i = std::min(i, s.size());
    if (is_password_key(key))
      out += mask;
    else
      out += s.substr(value_start, i - value_start);
  }
  return out;
}

/// postgresql://[user[:password]@][hosts][/dbname][?key=value&...]
std::string redact_uri(std::string_view s, std::size_t scheme_end) {
  auto query = s.find('?', scheme_end);
  auto before_query = s.substr(0, query);
  std::string out;
  auto at = before_query.rfind('@');
  if (at != std::string_view::npos && at >= scheme_end) {
    auto userinfo = s.substr(scheme_end, at - scheme_end);
    auto colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      out += s.substr(0, scheme_end + colon + 1);
      out += mask;
      out += before_query.substr(at);
    } else {
      out += before_query;
    }
  } else {
    out += before_query;
  }
  if (query == std::string_view::npos)
    return out;
  out += '?';
  auto params = s.substr(query + 1);
  std::size_t pos = 0;
  while (true) {
    auto amp = params.find('&', pos);
    auto param = params.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    auto eq = param.find('=');
    if (eq != std::string_view::npos && is_password_key(param.substr(0, eq))) {
      out += param.substr(0, eq + 1);
      out += mask;
    } else {
      out += param;
    }
    if (amp == std::string_view::npos)
      break;
    out += '&';
    pos = amp + 1;
  }
  return out;
}

}  // namespace

retry_policy config::retry() const {
  return retry_policy{retry_delays_s, max_retries};
}

pick_limits config::limits() const {
  return pick_limits{max_executors, max_executors_per_node};
}

std::string config_error::message() const {
  return key.empty() ? problem : fmt::format("{}: {}", key, problem);
}

std::variant<config, config_error> parse_config(std::string_view toml_text) {
  toml::table table;
  try {
    table = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    return config_error{"", fmt::format("syntax error at line {}, column {}: {}", e.source().begin.line,
                                        e.source().begin.column, e.description())};
  }
  // Unknown keys first, in file order, so a misspelt key is named even when a known key
  // also has a bad value.
  std::optional<config_error> unknown;
  std::optional<toml::source_position> unknown_at;
  for (auto&& [key, node] : table) {
    auto k = key.str();
    if (std::find(std::begin(known_keys), std::end(known_keys), k) != std::end(known_keys))
      continue;
    auto at = key.source().begin;
    if (!unknown_at || at < *unknown_at) {
      unknown_at = at;
      unknown = config_error{std::string(k), "unknown key"};
    }
  }
  if (unknown)
    return *unknown;
  config c;
  for (auto key : known_keys)
    if (auto node = table.get(key))
      if (auto err = read_key(key, *node, c))
        return *err;
  return c;
}

std::variant<config, config_error> load_config_file(const std::string& path) {
  auto cant_read = [&](int err) {
    return config_error{"", fmt::format("cannot read config file {}: {}", path, std::strerror(err))};
  };
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    return cant_read(errno);
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    text.append(buf, n);
  int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err != 0)
    return cant_read(err);
  return parse_config(text);
}

std::string redact_dsn(std::string_view dsn) {
  std::size_t start = 0;
  while (start < dsn.size() && is_space(dsn[start]))
    ++start;
  for (std::string_view scheme : {"postgresql://", "postgres://"})
    if (dsn.substr(start, scheme.size()) == scheme)
      return redact_uri(dsn, start + scheme.size());
  return redact_keywords(dsn);
}

std::string describe(const config& c) {
  return fmt::format(
    "dsn='{}' max_executors={} max_executors_per_node={} poll_interval_ms={} retry_delays_s=[{}] "
    "max_retries={} terminate_grace_ms={} log_level={}",
    redact_dsn(c.dsn), c.max_executors, c.max_executors_per_node, c.poll_interval_ms,
    fmt::join(c.retry_delays_s, ", "), c.max_retries, c.terminate_grace_ms, c.log_level);
}

}  // namespace steward::model
