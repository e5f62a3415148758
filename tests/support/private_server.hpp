#pragma once

#include <string>

namespace steward::test {

/// A PostgreSQL server of one test's own (scripts/cluster, no workers), for tests that
/// restart or stop the server, which the shared test server must never see. Started on
/// the first free port from 56500; the schema is installed in its database. Stopped and
/// removed by the destructor.
class private_server {
public:
  private_server();
  ~private_server();
  private_server(const private_server&) = delete;
  private_server& operator=(const private_server&) = delete;

  const std::string& dsn() const { return dsn_; }
  /// pg_ctl restart -m fast (every connection is cut; the data stays).
  void restart() const;

private:
  std::string dir_;
  std::string dsn_;
};

}  // namespace steward::test
