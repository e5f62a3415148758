#include <catch2/catch.hpp>

#include "actors/os/shm_channel.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

using namespace steward;
using namespace steward::model;

namespace {

std::string unique_name(const char* what) {
  static std::atomic<int> counter{0};
  return shm_channel::name_for(::getpid(), 900000 + counter++) + "." + what;
}

bool segment_exists(const std::string& name) {
  return std::filesystem::exists("/dev/shm" + name);
}

/// Maps a channel's segment directly, as a misbehaving executor could.
struct raw_segment {
  void* base = nullptr;
  std::size_t size = 0;
  explicit raw_segment(const std::string& name) {
    int fd = ::shm_open(name.c_str(), O_RDWR, 0);
    REQUIRE(fd >= 0);
    size = static_cast<std::size_t>(::lseek(fd, 0, SEEK_END));
    base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    REQUIRE(base != MAP_FAILED);
  }
  ~raw_segment() { ::munmap(base, size); }
  shm_ring_header& header() { return *static_cast<shm_ring_header*>(base); }
};

}  // namespace

TEST_CASE("channel names carry the daemon pid and the task id") {
  CHECK(shm_channel::name_for(1234, 56) == "/steward.1234.56");
  CHECK(shm_channel::owner_pid_of("/steward.1234.56") == 1234);
  CHECK_FALSE(shm_channel::owner_pid_of("/steward.x.56").has_value());
  CHECK_FALSE(shm_channel::owner_pid_of("/other.1.2").has_value());
  CHECK_FALSE(shm_channel::owner_pid_of("/steward.99999999999999.1").has_value());
}

TEST_CASE("frames written by the executor side arrive in order at the proxy side") {
  auto name = unique_name("order");
  auto proxy = shm_channel::create(name, 4096);
  CHECK(proxy.is_owner());
  auto executor = shm_channel::open(name);
  CHECK(executor.capacity() == 4096);

  std::vector<frame> sent{started_frame{77}, notice_frame{"NOTICE", "n", "d", "h", "c"},
                          command_complete_frame{"INSERT 0 1"}, progress_frame{"p", 1, 2},
                          error_frame{"22012", "ERROR", "division by zero", "", "", "ctx"},
                          finished_frame{}};
  for (const auto& f : sent)
    REQUIRE(executor.write(f));
  std::string error = "stale";
  auto got = proxy.read_available(&error);
  CHECK(error.empty());
  CHECK(got == sent);
  CHECK(proxy.read_available().empty());
  CHECK(proxy.pending_bytes() == 0);
}

TEST_CASE("the ring wraps around its end many times without losing a frame") {
  auto name = unique_name("wrap");
  auto proxy = shm_channel::create(name, 100);
  auto executor = shm_channel::open(name);
  int next_read = 0;
  for (int i = 0; i < 1000; ++i) {
    // 5 + 4 + len bytes: sizes vary so that frames straddle the end of the ring.
    command_complete_frame f{std::string(static_cast<std::size_t>(i % 17), 'a' + i % 26) +
                             std::to_string(i)};
    while (!executor.write(f)) {
      auto got = proxy.read_available();
      REQUIRE_FALSE(got.empty());
      for (auto& g : got) {
        auto& tag = std::get<command_complete_frame>(g).tag;
        CHECK(tag.substr(tag.size() - std::to_string(next_read).size()) == std::to_string(next_read));
        ++next_read;
      }
    }
  }
  next_read += static_cast<int>(proxy.read_available().size());
  CHECK(next_read == 1000);
}

TEST_CASE("a full ring refuses a frame until the proxy reads, and an oversized frame never fits") {
  auto name = unique_name("full");
  auto proxy = shm_channel::create(name, 64);
  auto executor = shm_channel::open(name);
  command_complete_frame f{std::string(20, 'x')};  // 29 bytes
  CHECK(executor.write(f));
  CHECK(executor.write(f));
  CHECK_FALSE(executor.write(f));
  CHECK(executor.write(finished_frame{}));  // 5 bytes still fit
  CHECK(proxy.read_available().size() == 3);
  CHECK(executor.write(f));

  CHECK_FALSE(executor.write(command_complete_frame{std::string(60, 'y')}));
  CHECK(proxy.read_available().size() == 1);
}

TEST_CASE("the proxy side cannot write and the executor side reads nothing") {
  auto name = unique_name("roles");
  auto proxy = shm_channel::create(name, 256);
  auto executor = shm_channel::open(name);
  CHECK_FALSE(proxy.write(finished_frame{}));
  REQUIRE(executor.write(finished_frame{}));
  CHECK(executor.read_available().empty());
  CHECK(proxy.read_available().size() == 1);
}

TEST_CASE("malformed bytes in the ring are reported and skipped, frames before them kept") {
  auto name = unique_name("garbage");
  auto proxy = shm_channel::create(name, 1024);
  auto executor = shm_channel::open(name);
  REQUIRE(executor.write(started_frame{5}));
  const std::uint8_t garbage[] = {0x42, 1, 0, 0, 0, 9};
  REQUIRE(executor.write_raw(garbage, sizeof garbage));
  REQUIRE(executor.write(finished_frame{}));
  std::string error;
  auto got = proxy.read_available(&error);
  CHECK(got == std::vector<frame>{started_frame{5}});
  CHECK_THAT(error, Catch::Contains("malformed frame") && Catch::Contains("unknown frame type 66"));

  // The channel stays usable afterwards.
  REQUIRE(executor.write(command_complete_frame{"SELECT 1"}));
  got = proxy.read_available(&error);
  CHECK(error.empty());
  CHECK(got == std::vector<frame>{command_complete_frame{"SELECT 1"}});

  // Half a frame published by a broken writer is malformed too (frames are published whole).
  auto bytes = encode(notice_frame{"NOTICE", "cut", "", "", ""});
  REQUIRE(executor.write_raw(bytes.data(), bytes.size() - 3));
  CHECK(proxy.read_available(&error).empty());
  CHECK_THAT(error, Catch::Contains("input ends inside the frame payload"));
}

TEST_CASE("a corrupt writer position planted in the segment is reported, never followed") {
  auto name = unique_name("corrupt");
  auto proxy = shm_channel::create(name, 256);
  {
    raw_segment raw(name);
    raw.header().tail.store(1u << 30);  // claims far more bytes than the ring holds
  }
  std::string error;
  CHECK(proxy.read_available(&error).empty());
  CHECK_THAT(error, Catch::Contains("out of range"));
  {
    raw_segment raw(name);
    auto* data = static_cast<std::uint8_t*>(raw.base) + shm_ring_data_offset;
    auto start = raw.header().tail.load();
    for (std::size_t i = 0; i < 40; ++i)
      data[(start + i) % 256] = static_cast<std::uint8_t>(0xA5 ^ (i * 37));
    data[start % 256] = 2;                                     // notice
    data[(start + 1) % 256] = 35;                              // payload 35 bytes
    data[(start + 2) % 256] = data[(start + 3) % 256] = data[(start + 4) % 256] = 0;
    raw.header().tail.store(start + 40);
  }
  CHECK(proxy.read_available(&error).empty());
  CHECK_FALSE(error.empty());
}

TEST_CASE("opening a segment that is not a channel fails cleanly") {
  CHECK_THROWS_AS(shm_channel::open(unique_name("missing")), std::system_error);
  auto name = unique_name("notchannel");
  int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, 4096) == 0);
  ::close(fd);
  CHECK_THROWS_AS(shm_channel::open(name), std::runtime_error);
  ::shm_unlink(name.c_str());
  CHECK_THROWS_AS(shm_channel::create("no-slash", 1024), std::invalid_argument);
  CHECK_THROWS_AS(shm_channel::create(unique_name("tiny"), 8), std::invalid_argument);
}

TEST_CASE("the proxy side unlinks the segment; moves transfer ownership") {
  auto name = unique_name("unlink");
  {
    auto proxy = shm_channel::create(name, 256);
    CHECK(segment_exists(name));
    auto moved = std::move(proxy);
    CHECK(segment_exists(name));
    CHECK(moved.is_owner());
  }
  CHECK_FALSE(segment_exists(name));
  // create replaces a leftover of the same name
  int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT, 0600);
  REQUIRE(fd >= 0);
  ::close(fd);
  auto again = shm_channel::create(name, 256);
  CHECK(shm_channel::open(name).capacity() == 256);
}

TEST_CASE("frames cross a process boundary through the segment") {
  auto name = unique_name("fork");
  auto proxy = shm_channel::create(name, 512);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto executor = shm_channel::open(name);
    for (int i = 0; i < 200; ++i)
      while (!executor.write(progress_frame{"step", i, 200}))
        ::usleep(100);
    while (!executor.write(finished_frame{}))
      ::usleep(100);
    ::_exit(0);
  }
  std::vector<frame> got;
  while (got.empty() || !std::holds_alternative<finished_frame>(got.back())) {
    auto more = proxy.read_available();
    got.insert(got.end(), more.begin(), more.end());
    if (more.empty())
      ::usleep(100);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  REQUIRE(got.size() == 201);
  for (int i = 0; i < 200; ++i)
    CHECK(std::get<progress_frame>(got[static_cast<std::size_t>(i)]).done == i);
}

TEST_CASE("sweep_stale removes segments of dead daemons and keeps live ones") {
  pid_t dead = ::fork();
  REQUIRE(dead >= 0);
  if (dead == 0)
    ::_exit(0);
  REQUIRE(::waitpid(dead, nullptr, 0) == dead);

  auto stale = shm_channel::name_for(dead, 17);
  int fd = ::shm_open(stale.c_str(), O_RDWR | O_CREAT, 0600);
  REQUIRE(fd >= 0);
  ::close(fd);
  auto live = shm_channel::create(unique_name("live"), 256);

  auto removed = shm_channel::sweep_stale();
  CHECK(std::find(removed.begin(), removed.end(), stale) != removed.end());
  CHECK_FALSE(segment_exists(stale));
  CHECK(segment_exists(live.name()));
  CHECK(std::find(removed.begin(), removed.end(), live.name()) == removed.end());
}
