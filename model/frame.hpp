#pragma once

// Frames of the executor → proxy channel (DESIGN.md "Shared-memory channel").
//
// Wire format of one frame, all integers little-endian:
//   u8  type            (frame_type)
//   u32 payload length  (bytes that follow)
//   payload             fields in declaration order; a string is u32 length + bytes,
//                       an integer is its fixed-width little-endian form
// The decoder trusts nothing: every length is bounds-checked against the input and
// against max_frame_size, unknown types and trailing payload bytes are errors.

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace steward::model {

enum class frame_type : std::uint8_t {
  started = 1,
  notice = 2,
  command_complete = 3,
  error = 4,
  progress = 5,
  finished = 6,
};

/// The executor connected; the backend pid goes into pg_dist_background_task.pid.
struct started_frame {
  std::int32_t backend_pid = 0;
};

/// A NoticeResponse (or a RAISE NOTICE/WARNING…) of the task's session.
struct notice_frame {
  std::string severity;
  std::string text;
  std::string detail;
  std::string hint;
  std::string context;
};

/// The command tag of one statement of the task, e.g. "INSERT 0 1".
struct command_complete_frame {
  std::string tag;
};

/// The task failed (server error, lock not taken, cancel, shutdown…).
struct error_frame {
  std::string sqlstate;
  std::string severity;
  std::string text;
  std::string detail;
  std::string hint;
  std::string context;
};

/// Progress of a long task, for status views.
struct progress_frame {
  std::string phase;
  std::int64_t done = 0;
  std::int64_t total = 0;
};

/// The task committed; nothing follows.
struct finished_frame {};

using frame = std::variant<started_frame, notice_frame, command_complete_frame, error_frame,
                           progress_frame, finished_frame>;

bool operator==(const started_frame& a, const started_frame& b);
bool operator==(const notice_frame& a, const notice_frame& b);
bool operator==(const command_complete_frame& a, const command_complete_frame& b);
bool operator==(const error_frame& a, const error_frame& b);
bool operator==(const progress_frame& a, const progress_frame& b);
bool operator==(const finished_frame& a, const finished_frame& b);

/// Bytes before the payload: type (1) + payload length (4).
inline constexpr std::size_t frame_header_size = 5;

/// Largest encoded frame (header + payload) the decoder accepts.
inline constexpr std::size_t max_frame_size = 1024 * 1024;

/// The type tag a frame is encoded with.
frame_type type_of(const frame& f);

/// Size of `encode(f)` without building it.
std::size_t encoded_size(const frame& f);

/// Encodes one frame. Throws std::length_error when it would exceed max_frame_size
/// (use `clamp_fields` first for text of unbounded length).
std::vector<std::uint8_t> encode(const frame& f);

/// Appends the encoding of `f` to `out` (same rules as `encode`).
void encode_to(const frame& f, std::vector<std::uint8_t>& out);

struct decode_error {
  std::string message;
  /// True when the input ends before the frame does (more bytes could complete it);
  /// false when the bytes can never form a valid frame.
  bool incomplete = false;
};

struct decoded {
  frame value;
  std::size_t consumed = 0;  ///< bytes of the input this frame took
};

/// Decodes the frame at the start of [data, data + size). Never reads past `size`.
std::variant<decoded, decode_error> decode(const std::uint8_t* data, std::size_t size);

/// Cuts every string field of `f` to at most `max_bytes` bytes (at a UTF-8 character
/// boundary, marking the cut with "…"), so that frames built from unbounded server text
/// stay within a channel's capacity.
void clamp_fields(frame& f, std::size_t max_bytes);

}  // namespace steward::model
