// libFuzzer target for the channel frame decoder: arbitrary bytes must never crash or
// over-read, and whatever decodes must re-encode to exactly the bytes it came from.
#include "model/frame.hpp"

#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace steward::model;
  std::size_t pos = 0;
  while (pos < size) {
    auto result = decode(data + pos, size - pos);
    auto* d = std::get_if<decoded>(&result);
    if (d == nullptr)
      break;
    if (d->consumed < frame_header_size || d->consumed > size - pos)
      std::abort();
    auto again = encode(d->value);
    if (again.size() != d->consumed || std::memcmp(again.data(), data + pos, again.size()) != 0)
      std::abort();
    pos += d->consumed;
  }
  return 0;
}
