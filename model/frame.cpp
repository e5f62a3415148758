#include "model/frame.hpp"

#include <stdexcept>
#include <string_view>
#include <type_traits>

namespace steward::model {

bool operator==(const started_frame& a, const started_frame& b) {
  return a.backend_pid == b.backend_pid;
}
bool operator==(const notice_frame& a, const notice_frame& b) {
  return a.severity == b.severity && a.text == b.text && a.detail == b.detail &&
         a.hint == b.hint && a.context == b.context;
}
bool operator==(const command_complete_frame& a, const command_complete_frame& b) {
  return a.tag == b.tag;
}
bool operator==(const error_frame& a, const error_frame& b) {
  return a.sqlstate == b.sqlstate && a.severity == b.severity && a.text == b.text &&
         a.detail == b.detail && a.hint == b.hint && a.context == b.context;
}
bool operator==(const progress_frame& a, const progress_frame& b) {
  return a.phase == b.phase && a.done == b.done && a.total == b.total;
}
bool operator==(const finished_frame&, const finished_frame&) {
  return true;
}

namespace {

// Each frame type lists its fields once; encoding, sizing, decoding and clamping walk
// that list. `X` is a frame struct, const or not.
template <class X, class F>
void fields(X& x, F&& f) {
  using T = std::remove_const_t<X>;
  if constexpr (std::is_same_v<T, started_frame>) {
    f(x.backend_pid);
  } else if constexpr (std::is_same_v<T, notice_frame>) {
    f(x.severity); f(x.text); f(x.detail); f(x.hint); f(x.context);
  } else if constexpr (std::is_same_v<T, command_complete_frame>) {
    f(x.tag);
  } else if constexpr (std::is_same_v<T, error_frame>) {
    f(x.sqlstate); f(x.severity); f(x.text); f(x.detail); f(x.hint); f(x.context);
  } else if constexpr (std::is_same_v<T, progress_frame>) {
    f(x.phase); f(x.done); f(x.total);
  } else {
    static_assert(std::is_same_v<T, finished_frame>, "every frame type lists its fields");
  }
}

template <class T>
constexpr frame_type type_tag();
template <> constexpr frame_type type_tag<started_frame>() { return frame_type::started; }
template <> constexpr frame_type type_tag<notice_frame>() { return frame_type::notice; }
template <> constexpr frame_type type_tag<command_complete_frame>() { return frame_type::command_complete; }
template <> constexpr frame_type type_tag<error_frame>() { return frame_type::error; }
template <> constexpr frame_type type_tag<progress_frame>() { return frame_type::progress; }
template <> constexpr frame_type type_tag<finished_frame>() { return frame_type::finished; }

template <class T>
void put_le(std::vector<std::uint8_t>& out, T value) {
  auto u = static_cast<std::make_unsigned_t<T>>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<std::uint8_t>((u >> (8 * i)) & 0xFFu));
}

struct sizer {
  std::size_t total = 0;
  void operator()(const std::string& s) { total += 4 + s.size(); }
  void operator()(std::int32_t) { total += 4; }
  void operator()(std::int64_t) { total += 8; }
};

struct writer {
  std::vector<std::uint8_t>& out;
  void operator()(const std::string& s) {
    put_le(out, static_cast<std::uint32_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  void operator()(std::int32_t v) { put_le(out, v); }
  void operator()(std::int64_t v) { put_le(out, v); }
};

/// Reads fields from a payload whose length is already bounds-checked. The first
/// failure sticks; later reads do nothing.
struct reader {
  const std::uint8_t* p;
  std::size_t left;
  const char* failure = nullptr;

  template <class T>
  bool get_le(T& value) {
    if (failure != nullptr)
      return false;
    if (left < sizeof(T)) {
      failure = "field runs past the end of the payload";
      return false;
    }
    std::make_unsigned_t<T> u = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      u |= static_cast<std::make_unsigned_t<T>>(p[i]) << (8 * i);
    value = static_cast<T>(u);
    p += sizeof(T);
    left -= sizeof(T);
    return true;
  }
  void operator()(std::string& s) {
    std::uint32_t n = 0;
    if (!get_le(n))
      return;
    if (n > left) {
      failure = "string length runs past the end of the payload";
      return;
    }
    s.assign(reinterpret_cast<const char*>(p), n);
    p += n;
    left -= n;
  }
  void operator()(std::int32_t& v) { get_le(v); }
  void operator()(std::int64_t& v) { get_le(v); }
};

std::size_t payload_size(const frame& f) {
  sizer s;
  std::visit([&](const auto& x) { fields(x, s); }, f);
  return s.total;
}

template <class T>
std::variant<decoded, decode_error> decode_payload(const std::uint8_t* p, std::size_t n) {
  T value{};
  reader r{p, n};
  fields(value, r);
  if (r.failure != nullptr)
    return decode_error{r.failure, false};
  if (r.left != 0)
    return decode_error{"payload has trailing bytes", false};
  return decoded{frame{std::move(value)}, frame_header_size + n};
}

std::size_t utf8_boundary_at_or_before(const std::string& s, std::size_t pos) {
  while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0u) == 0x80u)
    --pos;
  return pos;
}

void clamp(std::string& s, std::size_t max_bytes) {
  if (s.size() <= max_bytes)
    return;
  static constexpr std::string_view ellipsis = "\xE2\x80\xA6";  // U+2026
  if (max_bytes < ellipsis.size() * 2) {
    s.resize(utf8_boundary_at_or_before(s, max_bytes));
    return;
  }
  s.resize(utf8_boundary_at_or_before(s, max_bytes - ellipsis.size()));
  s.append(ellipsis);
}

}  // namespace

frame_type type_of(const frame& f) {
  return std::visit([](const auto& x) { return type_tag<std::decay_t<decltype(x)>>(); }, f);
}

std::size_t encoded_size(const frame& f) {
  return frame_header_size + payload_size(f);
}

void encode_to(const frame& f, std::vector<std::uint8_t>& out) {
  auto payload = payload_size(f);
  if (frame_header_size + payload > max_frame_size)
    throw std::length_error("channel frame exceeds the maximum frame size");
  out.reserve(out.size() + frame_header_size + payload);
  out.push_back(static_cast<std::uint8_t>(type_of(f)));
  put_le(out, static_cast<std::uint32_t>(payload));
  writer w{out};
  std::visit([&](const auto& x) { fields(x, w); }, f);
}

std::vector<std::uint8_t> encode(const frame& f) {
  std::vector<std::uint8_t> out;
  encode_to(f, out);
  return out;
}

std::variant<decoded, decode_error> decode(const std::uint8_t* data, std::size_t size) {
  if (data == nullptr || size < frame_header_size)
    return decode_error{"input ends inside the frame header", true};
  std::uint32_t payload = 0;
  for (std::size_t i = 0; i < 4; ++i)
    payload |= static_cast<std::uint32_t>(data[1 + i]) << (8 * i);
  if (payload > max_frame_size - frame_header_size)
    return decode_error{"frame exceeds the maximum frame size", false};
  const auto type = data[0];
  if (type < static_cast<std::uint8_t>(frame_type::started) ||
      type > static_cast<std::uint8_t>(frame_type::finished))
    return decode_error{"unknown frame type " + std::to_string(type), false};
  if (size - frame_header_size < payload)
    return decode_error{"input ends inside the frame payload", true};
  const auto* p = data + frame_header_size;
  switch (static_cast<frame_type>(type)) {
    case frame_type::started: return decode_payload<started_frame>(p, payload);
    case frame_type::notice: return decode_payload<notice_frame>(p, payload);
    case frame_type::command_complete: return decode_payload<command_complete_frame>(p, payload);
    case frame_type::error: return decode_payload<error_frame>(p, payload);
    case frame_type::progress: return decode_payload<progress_frame>(p, payload);
    case frame_type::finished: return decode_payload<finished_frame>(p, payload);
  }
  return decode_error{"unknown frame type " + std::to_string(type), false};
}

void clamp_fields(frame& f, std::size_t max_bytes) {
  struct clamper {
    std::size_t max;
    void operator()(std::string& s) const { clamp(s, max); }
    void operator()(std::int32_t) const {}
    void operator()(std::int64_t) const {}
  };
  std::visit([&](auto& x) { fields(x, clamper{max_bytes}); }, f);
}

}  // namespace steward::model
