#include "tests/support/private_server.hpp"

#include "sql/migrations.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <stdlib.h>

namespace steward::test {

namespace {

std::string cluster_script() { return std::string(STEWARD_SOURCE_DIR) + "/scripts/cluster"; }

void run(const std::string& command) {
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("command failed: " + command);
}

}  // namespace

private_server::private_server() {
  char tmpl[] = "/tmp/steward-server.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = tmpl;
  run(cluster_script() + " start " + dir_ + " --workers 0 --port 56500 2>/dev/null");
  std::ifstream env(dir_ + "/cluster.env");
  std::string line;
  static const std::regex dsn_line{R"re(^STEWARD_COORDINATOR_DSN="(.*)"$)re"};
  std::smatch m;
  while (std::getline(env, line))
    if (std::regex_match(line, m, dsn_line))
      dsn_ = m[1];
  if (dsn_.empty())
    throw std::runtime_error("private_server: no DSN in " + dir_ + "/cluster.env");
  sql::apply_migrations(dsn_);
}

private_server::~private_server() {
  std::system((cluster_script() + " stop " + dir_ + " >/dev/null 2>&1").c_str());
  std::system(("rm -rf " + dir_).c_str());
}

void private_server::restart() const { run(cluster_script() + " restart " + dir_); }

}  // namespace steward::test
