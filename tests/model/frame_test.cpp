#include <catch2/catch.hpp>

#include "model/frame.hpp"

#include <cstring>
#include <random>

using namespace steward::model;

namespace {

std::vector<frame> one_of_each() {
  return {
    started_frame{4242},
    started_frame{-1},
    notice_frame{"NOTICE", "hello", "some detail", "a hint", "PL/pgSQL function inline_code_block line 1 at RAISE"},
    notice_frame{},
    command_complete_frame{"INSERT 0 1"},
    error_frame{"22012", "ERROR", "division by zero", "", "", "SQL statement"},
    error_frame{"57014", "ERROR", "canceling statement due to user request", "d", "h", "c"},
    progress_frame{"copy", 17, 100},
    progress_frame{"", -5, INT64_MAX},
    finished_frame{},
  };
}

decoded ok(const std::variant<decoded, decode_error>& r) {
  if (auto* e = std::get_if<decode_error>(&r))
    FAIL("decode failed: " << e->message);
  return std::get<decoded>(r);
}

decode_error failed(const std::variant<decoded, decode_error>& r) {
  REQUIRE(std::holds_alternative<decode_error>(r));
  return std::get<decode_error>(r);
}

}  // namespace

TEST_CASE("every frame type survives an encode/decode round trip") {
  for (const auto& f : one_of_each()) {
    auto bytes = encode(f);
    CHECK(bytes.size() == encoded_size(f));
    CHECK(bytes[0] == static_cast<std::uint8_t>(type_of(f)));
    auto d = ok(decode(bytes.data(), bytes.size()));
    CHECK(d.consumed == bytes.size());
    CHECK(d.value == f);
  }
}

TEST_CASE("frames carry arbitrary bytes, including NUL and non-UTF-8, in strings") {
  std::string weird("a\0b\xff\xfe", 5);
  frame f = error_frame{weird, weird, weird, weird, weird, weird};
  auto bytes = encode(f);
  CHECK(ok(decode(bytes.data(), bytes.size())).value == f);
}

TEST_CASE("the wire format is type, little-endian payload length, then the fields") {
  auto bytes = encode(command_complete_frame{"OK"});
  std::vector<std::uint8_t> expected{3, 6, 0, 0, 0, 2, 0, 0, 0, 'O', 'K'};
  CHECK(bytes == expected);
  auto started = encode(started_frame{0x01020304});
  CHECK(started == std::vector<std::uint8_t>{1, 4, 0, 0, 0, 4, 3, 2, 1});
  CHECK(encode(finished_frame{}) == std::vector<std::uint8_t>{6, 0, 0, 0, 0});
}

TEST_CASE("a stream of frames decodes one after the other") {
  std::vector<std::uint8_t> stream;
  auto frames = one_of_each();
  for (const auto& f : frames)
    encode_to(f, stream);
  std::size_t pos = 0;
  for (const auto& f : frames) {
    auto d = ok(decode(stream.data() + pos, stream.size() - pos));
    CHECK(d.value == f);
    pos += d.consumed;
  }
  CHECK(pos == stream.size());
}

TEST_CASE("every truncation of a valid frame is reported as incomplete") {
  for (const auto& f : one_of_each()) {
    auto bytes = encode(f);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      // Copy into an exactly sized buffer so a sanitizer would catch an over-read.
      std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      auto e = failed(decode(cut.empty() ? nullptr : cut.data(), cut.size()));
      CHECK(e.incomplete);
    }
  }
}

TEST_CASE("unknown frame types are rejected") {
  for (std::uint8_t type : {0, 7, 8, 0x42, 0xff}) {
    std::vector<std::uint8_t> bytes{type, 0, 0, 0, 0};
    auto e = failed(decode(bytes.data(), bytes.size()));
    CHECK_FALSE(e.incomplete);
    CHECK_THAT(e.message, Catch::Contains("unknown frame type"));
  }
}

TEST_CASE("an oversized payload length is rejected before any payload is read") {
  std::vector<std::uint8_t> bytes{2, 0xff, 0xff, 0xff, 0xff};
  auto e = failed(decode(bytes.data(), bytes.size()));
  CHECK_FALSE(e.incomplete);
  CHECK_THAT(e.message, Catch::Contains("maximum frame size"));

  auto limit = static_cast<std::uint32_t>(max_frame_size - frame_header_size + 1);
  std::vector<std::uint8_t> just_over{3, static_cast<std::uint8_t>(limit), static_cast<std::uint8_t>(limit >> 8),
                                      static_cast<std::uint8_t>(limit >> 16), static_cast<std::uint8_t>(limit >> 24)};
  CHECK_FALSE(failed(decode(just_over.data(), just_over.size())).incomplete);
}

TEST_CASE("encoding a frame beyond the maximum size throws") {
  command_complete_frame big{std::string(max_frame_size, 'x')};
  CHECK_THROWS_AS(encode(big), std::length_error);
  command_complete_frame fits{std::string(max_frame_size - frame_header_size - 4, 'x')};
  auto bytes = encode(fits);
  CHECK(bytes.size() == max_frame_size);
  CHECK(ok(decode(bytes.data(), bytes.size())).value == frame{fits});
}

TEST_CASE("a string length running past the payload is malformed, not incomplete") {
  // command_complete with payload length 6 but a string claiming 100 bytes.
  std::vector<std::uint8_t> bytes{3, 6, 0, 0, 0, 100, 0, 0, 0, 'O', 'K', 'x', 'y'};
  auto e = failed(decode(bytes.data(), bytes.size()));
  CHECK_FALSE(e.incomplete);
}

TEST_CASE("payload bytes left over after the last field are malformed") {
  std::vector<std::uint8_t> bytes{6, 1, 0, 0, 0, 0};  // finished has no fields
  CHECK_FALSE(failed(decode(bytes.data(), bytes.size())).incomplete);
  std::vector<std::uint8_t> short_pid{1, 3, 0, 0, 0, 1, 2, 3};  // started needs 4 bytes
  CHECK_FALSE(failed(decode(short_pid.data(), short_pid.size())).incomplete);
}

TEST_CASE("random garbage never decodes into more bytes than it has") {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> len(0, 64);
  int decoded_count = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> bytes(len(rng));
    for (auto& b : bytes)
      b = static_cast<std::uint8_t>(byte(rng));
    if (!bytes.empty() && i % 2 == 0)
      bytes[0] = static_cast<std::uint8_t>(1 + i % 6);  // a valid type half of the time
    if (bytes.size() >= 5 && i % 4 == 0) {
      bytes[2] = bytes[3] = bytes[4] = 0;  // a plausible length
      bytes[1] = static_cast<std::uint8_t>(bytes[1] % 64);
    }
    auto r = decode(bytes.empty() ? nullptr : bytes.data(), bytes.size());
    if (auto* d = std::get_if<decoded>(&r)) {
      ++decoded_count;
      REQUIRE(d->consumed <= bytes.size());
      auto again = encode(d->value);
      REQUIRE(again.size() == d->consumed);
      REQUIRE(std::memcmp(again.data(), bytes.data(), again.size()) == 0);
    }
  }
  CHECK(decoded_count > 0);
}

TEST_CASE("clamp_fields cuts long text at a character boundary and marks the cut") {
  frame f = notice_frame{"NOTICE", std::string(100, 'a'), "short", "", ""};
  clamp_fields(f, 10);
  const auto& n = std::get<notice_frame>(f);
  CHECK(n.text == "aaaaaaa\xE2\x80\xA6");
  CHECK(n.text.size() == 10);
  CHECK(n.detail == "short");

  // "é" is two bytes; a cut must not split it.
  frame g = command_complete_frame{"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"};
  clamp_fields(g, 8);
  CHECK(std::get<command_complete_frame>(g).tag == "\xC3\xA9\xC3\xA9\xE2\x80\xA6");

  frame h = error_frame{"22012", "ERROR", "x", "", "", ""};
  clamp_fields(h, 3);
  CHECK(std::get<error_frame>(h).sqlstate == "220");
}
