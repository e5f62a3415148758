// Writes a seed corpus of valid frame encodings (one file per frame, plus one stream of
// all of them) into the directory given as the only argument.
#include "model/frame.hpp"

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace steward::model;
  if (argc != 2) {
    std::fprintf(stderr, "usage: frame_seeds DIR\n");
    return 2;
  }
  const std::vector<frame> frames{
    started_frame{12345},
    notice_frame{"NOTICE", "hello", "detail", "hint", "context"},
    command_complete_frame{"INSERT 0 1"},
    error_frame{"22012", "ERROR", "division by zero", "", "", "Steward Background Task Executor"},
    progress_frame{"copy", 3, 10},
    finished_frame{},
  };
  std::vector<std::uint8_t> stream;
  auto write = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
    auto path = std::string(argv[1]) + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
      std::perror(path.c_str());
      return false;
    }
    return std::fclose(f) == 0;
  };
  for (std::size_t i = 0; i < frames.size(); ++i) {
    encode_to(frames[i], stream);
    if (!write("frame" + std::to_string(i), encode(frames[i])))
      return 1;
  }
  return write("stream", stream) ? 0 : 1;
}
