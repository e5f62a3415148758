#include "actors/os/shm_channel.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <system_error>

namespace steward {

namespace {

constexpr std::size_t min_capacity = 64;
constexpr std::size_t max_capacity = std::size_t{1} << 30;
constexpr const char* name_prefix = "steward.";

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

void check_name(const std::string& name) {
  if (name.size() < 2 || name[0] != '/' || name.find('/', 1) != std::string::npos ||
      name.size() > 255)
    throw std::invalid_argument("shared-memory channel name must be '/' + a file name: " + name);
}

/// Copies `n` bytes into the ring at `pos`, wrapping around its end.
void copy_in(std::uint8_t* ring, std::size_t capacity, std::uint64_t pos, const std::uint8_t* src,
             std::size_t n) {
  auto offset = static_cast<std::size_t>(pos % capacity);
  auto first = std::min(n, capacity - offset);
  std::memcpy(ring + offset, src, first);
  std::memcpy(ring, src + first, n - first);
}

void copy_out(const std::uint8_t* ring, std::size_t capacity, std::uint64_t pos, std::uint8_t* dst,
              std::size_t n) {
  auto offset = static_cast<std::size_t>(pos % capacity);
  auto first = std::min(n, capacity - offset);
  std::memcpy(dst, ring + offset, first);
  std::memcpy(dst + first, ring, n - first);
}

/// Parses "<digits>" fully; nullopt for anything else or a value out of range.
std::optional<long long> parse_number(const std::string& s) {
  if (s.empty() || s.size() > 18)
    return std::nullopt;
  long long value = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

shm_channel::shm_channel(std::string name, void* base, std::size_t map_size, std::size_t capacity,
                         bool owner)
  : name_(std::move(name)), base_(base), map_size_(map_size), capacity_(capacity), owner_(owner) {}

shm_channel::shm_channel(shm_channel&& other) noexcept
  : name_(std::move(other.name_)),
    base_(other.base_),
    map_size_(other.map_size_),
    capacity_(other.capacity_),
    owner_(other.owner_),
    position_(other.position_),
    scratch_(std::move(other.scratch_)) {
  other.base_ = nullptr;
  other.owner_ = false;
}

shm_channel& shm_channel::operator=(shm_channel&& other) noexcept {
  if (this != &other) {
    release();
    name_ = std::move(other.name_);
    base_ = other.base_;
    map_size_ = other.map_size_;
    capacity_ = other.capacity_;
    owner_ = other.owner_;
    position_ = other.position_;
    scratch_ = std::move(other.scratch_);
    other.base_ = nullptr;
    other.owner_ = false;
  }
  return *this;
}

shm_channel::~shm_channel() {
  release();
}

void shm_channel::release() noexcept {
  if (base_ != nullptr) {
    ::munmap(base_, map_size_);
    base_ = nullptr;
  }
  if (owner_) {
    ::shm_unlink(name_.c_str());
    owner_ = false;
  }
}

shm_channel shm_channel::create(const std::string& name, std::size_t capacity) {
  check_name(name);
  if (capacity < min_capacity || capacity > max_capacity)
    throw std::invalid_argument("shared-memory channel capacity out of range");
  int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 && errno == EEXIST) {
    // The name holds our own pid, so a leftover belongs to a dead process that had it.
    ::shm_unlink(name.c_str());
    fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  }
  if (fd < 0)
    throw_errno("shm_open " + name);
  fd_guard guard{fd};
  const auto map_size = shm_ring_data_offset + capacity;
  if (::ftruncate(fd, static_cast<off_t>(map_size)) != 0) {
    auto saved = errno;
    ::shm_unlink(name.c_str());
    errno = saved;
    throw_errno("ftruncate " + name);
  }
  void* base = ::mmap(nullptr, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    auto saved = errno;
    ::shm_unlink(name.c_str());
    errno = saved;
    throw_errno("mmap " + name);
  }
  auto* h = new (base) shm_ring_header{};
  h->capacity = capacity;
  h->head.store(0, std::memory_order_relaxed);
  h->tail.store(0, std::memory_order_relaxed);
  h->version = shm_ring_header::version_value;
  // The magic goes last: a peer that sees it sees an initialised header.
  std::atomic_thread_fence(std::memory_order_release);
  h->magic = shm_ring_header::magic_value;
  return shm_channel{name, base, map_size, capacity, true};
}

shm_channel shm_channel::open(const std::string& name) {
  check_name(name);
  int fd = ::shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0)
    throw_errno("shm_open " + name);
  fd_guard guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw_errno("fstat " + name);
  const auto map_size = static_cast<std::size_t>(st.st_size);
  if (map_size < shm_ring_data_offset + min_capacity)
    throw std::runtime_error("shared-memory segment " + name + " is too small to be a channel");
  void* base = ::mmap(nullptr, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED)
    throw_errno("mmap " + name);
  auto* h = static_cast<shm_ring_header*>(base);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (h->magic != shm_ring_header::magic_value || h->version != shm_ring_header::version_value ||
      h->capacity + shm_ring_data_offset != map_size) {
    ::munmap(base, map_size);
    throw std::runtime_error("shared-memory segment " + name +
                             " has a bad magic number, version or size");
  }
  shm_channel ch{name, base, map_size, static_cast<std::size_t>(h->capacity), false};
  ch.position_ = h->tail.load(std::memory_order_acquire);
  return ch;
}

bool shm_channel::write(const model::frame& f) {
  const auto size = model::encoded_size(f);
  if (size > capacity_ || size > model::max_frame_size)
    return false;
  // Check for room before encoding: a full ring is the common refusal.
  const auto head = header().head.load(std::memory_order_acquire);
  const auto used = position_ - head;
  if (used > capacity_ || capacity_ - used < size)
    return false;
  scratch_.clear();
  model::encode_to(f, scratch_);
  return write_raw(scratch_.data(), scratch_.size());
}

bool shm_channel::write_raw(const std::uint8_t* bytes, std::size_t size) {
  if (base_ == nullptr || owner_ || size > capacity_)
    return false;
  const auto head = header().head.load(std::memory_order_acquire);
  const auto used = position_ - head;
  if (used > capacity_ || capacity_ - used < size)
    return false;  // full, or a head we cannot trust: refuse rather than overwrite
  copy_in(data(), capacity_, position_, bytes, size);
  position_ += size;
  header().tail.store(position_, std::memory_order_release);
  return true;
}

std::vector<model::frame> shm_channel::read_available(std::string* error) {
  if (error != nullptr)
    error->clear();
  std::vector<model::frame> frames;
  if (base_ == nullptr || !owner_)
    return frames;
  const auto tail = header().tail.load(std::memory_order_acquire);
  const auto available = tail - position_;
  if (available == 0)
    return frames;
  auto fail = [&](const std::string& message) {
    if (error != nullptr)
      *error = message;
    // No way to find the next frame boundary in bytes we cannot parse: skip them all.
    position_ = tail;
    header().head.store(position_, std::memory_order_release);
  };
  if (available > capacity_) {
    fail("channel " + name_ + ": the writer's position is out of range (corrupt ring)");
    return frames;
  }
  scratch_.resize(static_cast<std::size_t>(available));
  copy_out(data(), capacity_, position_, scratch_.data(), scratch_.size());
  std::size_t offset = 0;
  while (offset < scratch_.size()) {
    auto result = model::decode(scratch_.data() + offset, scratch_.size() - offset);
    if (auto* bad = std::get_if<model::decode_error>(&result)) {
      position_ += offset;
      fail("channel " + name_ + ": malformed frame: " + bad->message);
      return frames;
    }
    auto& d = std::get<model::decoded>(result);
    frames.push_back(std::move(d.value));
    offset += d.consumed;
  }
  position_ = tail;
  header().head.store(position_, std::memory_order_release);
  return frames;
}

std::size_t shm_channel::pending_bytes() const {
  if (base_ == nullptr)
    return 0;
  const auto head = header().head.load(std::memory_order_acquire);
  const auto tail = header().tail.load(std::memory_order_acquire);
  const auto used = tail - head;
  return used > capacity_ ? capacity_ : static_cast<std::size_t>(used);
}

std::string shm_channel::name_for(int daemon_pid, std::int64_t task_id) {
  return "/" + std::string(name_prefix) + std::to_string(daemon_pid) + "." + std::to_string(task_id);
}

std::optional<int> shm_channel::owner_pid_of(const std::string& name) {
  const std::string prefix = "/" + std::string(name_prefix);
  if (name.compare(0, prefix.size(), prefix) != 0)
    return std::nullopt;
  auto rest = name.substr(prefix.size());
  auto dot = rest.find('.');
  if (dot == std::string::npos)
    return std::nullopt;
  auto pid = parse_number(rest.substr(0, dot));
  if (!pid || *pid <= 0 || *pid > 0x7fffffff)
    return std::nullopt;
  return static_cast<int>(*pid);
}

std::vector<std::string> shm_channel::sweep_stale() {
  std::vector<std::string> removed;
  DIR* dir = ::opendir("/dev/shm");
  if (dir == nullptr)
    return removed;
  std::vector<std::string> candidates;
  while (auto* entry = ::readdir(dir)) {
    std::string file = entry->d_name;
    if (file.compare(0, std::strlen(name_prefix), name_prefix) == 0)
      candidates.push_back("/" + file);
  }
  ::closedir(dir);
  for (const auto& name : candidates) {
    auto pid = owner_pid_of(name);
    if (!pid)
      continue;
    if (::kill(*pid, 0) == 0 || errno != ESRCH)
      continue;  // alive (EPERM: alive, someone else's)
    if (::shm_unlink(name.c_str()) == 0)
      removed.push_back(name);
  }
  return removed;
}

}  // namespace steward
