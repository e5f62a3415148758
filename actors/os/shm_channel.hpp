#pragma once

// The executor → proxy channel (DESIGN.md "Shared-memory channel"): one POSIX
// shared-memory segment per running task, holding a single-producer/single-consumer
// ring of frames (model/frame.hpp). The executor writes, the proxy reads; neither side
// ever blocks inside this class.
//
// Segment layout: shm_ring_header, then `capacity` data bytes at shm_ring_data_offset.
// head/tail are byte positions that only grow (position % capacity indexes the data);
// the consumer owns head, the producer owns tail, both published with release and read
// with acquire. A frame is published whole: tail moves past it only once every byte is
// in place, so the reader never sees half a frame from a correct writer.

#include "model/frame.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace steward {

struct shm_ring_header {
  static constexpr std::uint64_t magic_value = 0x4e41484344575453ull;  // "STWDCHAN"
  static constexpr std::uint32_t version_value = 1;

  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t reserved;
  std::uint64_t capacity;                    ///< data bytes after the header
  alignas(64) std::atomic<std::uint64_t> head;  ///< bytes consumed (written by the proxy)
  alignas(64) std::atomic<std::uint64_t> tail;  ///< bytes produced (written by the executor)
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the ring positions must be lock-free to live in shared memory");

inline constexpr std::size_t shm_ring_data_offset = 192;
static_assert(sizeof(shm_ring_header) <= shm_ring_data_offset);

class shm_channel {
public:
  /// Proxy side: creates the segment (replacing a leftover of the same name) and owns it;
  /// the destructor unlinks it. Throws std::system_error / std::invalid_argument.
  static shm_channel create(const std::string& name, std::size_t capacity = 256 * 1024);

  /// Executor side: maps an existing segment after checking its magic, version and size.
  /// Throws std::system_error, or std::runtime_error for a segment that is not a channel.
  static shm_channel open(const std::string& name);

  shm_channel(shm_channel&& other) noexcept;
  shm_channel& operator=(shm_channel&& other) noexcept;
  shm_channel(const shm_channel&) = delete;
  shm_channel& operator=(const shm_channel&) = delete;
  ~shm_channel();

  /// Producer: appends one frame. Non-blocking; false when the ring has no room for it
  /// right now, or when the frame could never fit (larger than the ring or max_frame_size).
  bool write(const model::frame& f);

  /// Producer, for tests of the reader: appends raw bytes as if they were frames.
  bool write_raw(const std::uint8_t* data, std::size_t size);

  /// Consumer: takes every complete frame written so far. Non-blocking. Bytes that do not
  /// decode (a corrupt or hostile writer) are discarded up to the current tail and
  /// described in `*error` (if given; cleared otherwise); frames before them are returned.
  std::vector<model::frame> read_available(std::string* error = nullptr);

  /// Bytes written and not yet consumed (as far as this side can tell).
  std::size_t pending_bytes() const;

  const std::string& name() const { return name_; }
  std::size_t capacity() const { return capacity_; }
  bool is_owner() const { return owner_; }

  /// "/steward.<daemon_pid>.<task_id>".
  static std::string name_for(int daemon_pid, std::int64_t task_id);

  /// The daemon pid encoded in a name made by name_for, if it is one.
  static std::optional<int> owner_pid_of(const std::string& name);

  /// Removes every /dev/shm/steward.<pid>.* whose pid is no longer alive; returns the
  /// names removed (with their leading '/').
  static std::vector<std::string> sweep_stale();

private:
  shm_channel(std::string name, void* base, std::size_t map_size, std::size_t capacity, bool owner);
  shm_ring_header& header() const { return *static_cast<shm_ring_header*>(base_); }
  std::uint8_t* data() const { return static_cast<std::uint8_t*>(base_) + shm_ring_data_offset; }
  void release() noexcept;

  std::string name_;
  void* base_ = nullptr;
  std::size_t map_size_ = 0;
  std::size_t capacity_ = 0;
  bool owner_ = false;
  std::uint64_t position_ = 0;  ///< our own side's position: head (owner) or tail (executor)
  std::vector<std::uint8_t> scratch_;
};

}  // namespace steward
