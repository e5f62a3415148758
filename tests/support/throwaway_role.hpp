#pragma once

#include <string>

namespace steward::test {

/// A LOGIN role created for one test and dropped at the end (after the database that
/// granted it anything, so declare it before the test_database). Roles are shared by
/// the whole server, so the name carries the pid and a counter.
struct throwaway_role {
  std::string name;
  explicit throwaway_role(const std::string& prefix);
  ~throwaway_role();
  throwaway_role(const throwaway_role&) = delete;
  throwaway_role& operator=(const throwaway_role&) = delete;
};

}  // namespace steward::test
