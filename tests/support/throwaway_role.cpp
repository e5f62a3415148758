#include "tests/support/throwaway_role.hpp"

#include "tests/support/env.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <unistd.h>

namespace steward::test {

throwaway_role::throwaway_role(const std::string& prefix) {
  static std::atomic<int> counter{0};
  name = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  pqxx::connection c{server_dsn()};
  pqxx::nontransaction n{c};
  n.exec("CREATE ROLE " + n.quote_name(name) + " LOGIN");
}

throwaway_role::~throwaway_role() {
  try {
    pqxx::connection c{server_dsn()};
    pqxx::nontransaction n{c};
    n.exec("DROP ROLE IF EXISTS " + n.quote_name(name));
  } catch (...) {
  }
}

}  // namespace steward::test
