#include <catch2/catch.hpp>

#include "model/config.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace steward::model;

namespace {

config parse_ok(std::string_view text) {
  auto result = parse_config(text);
  if (auto* err = std::get_if<config_error>(&result))
    FAIL("unexpected config error: " << err->message());
  return std::get<config>(result);
}

config_error parse_bad(std::string_view text) {
  auto result = parse_config(text);
  REQUIRE(std::holds_alternative<config_error>(result));
  return std::get<config_error>(result);
}

}  // namespace

TEST_CASE("an empty config file gives the documented defaults") {
  auto c = parse_ok("");
  CHECK(c.dsn.empty());
  CHECK(c.max_executors == 4);
  CHECK(c.max_executors_per_node == 1);
  CHECK(c.poll_interval_ms == 1000);
  CHECK(c.retry_delays_s == std::vector<int>{5, 20, 60});
  CHECK(c.max_retries == 32);
  CHECK(c.terminate_grace_ms == 5000);
  CHECK(c.log_level == "info");
}

TEST_CASE("every key is read from the file") {
  auto c = parse_ok(R"(
    # coordinator
    dsn = "host=/tmp dbname=steward"
    max_executors = 8
    max_executors_per_node = 2
    poll_interval_ms = 250
    retry_delays_s = [1, 2, 0]
    max_retries = 0
    terminate_grace_ms = 0
    log_level = "debug"
  )");
  CHECK(c.dsn == "host=/tmp dbname=steward");
  CHECK(c.max_executors == 8);
  CHECK(c.max_executors_per_node == 2);
  CHECK(c.poll_interval_ms == 250);
  CHECK(c.retry_delays_s == std::vector<int>{1, 2, 0});
  CHECK(c.max_retries == 0);
  CHECK(c.terminate_grace_ms == 0);
  CHECK(c.log_level == "debug");
  auto r = c.retry();
  CHECK(r.delays_s == std::vector<int>{1, 2, 0});
  CHECK(r.max_retries == 0);
  auto l = c.limits();
  CHECK(l.max_executors == 8);
  CHECK(l.max_executors_per_node == 2);
}

TEST_CASE("out-of-range integers are reported with the key, the range and the value") {
  CHECK(parse_bad("max_executors = -3").message()
        == "max_executors: must be an integer between 1 and 1000, got -3");
  CHECK(parse_bad("max_executors = 1001").key == "max_executors");
  CHECK(parse_ok("max_executors = 1000").max_executors == 1000);
  CHECK(parse_bad("max_executors_per_node = 0").message()
        == "max_executors_per_node: must be an integer between 1 and 128, got 0");
  CHECK(parse_bad("max_executors_per_node = 129").key == "max_executors_per_node");
  CHECK(parse_bad("poll_interval_ms = 9").message()
        == "poll_interval_ms: must be an integer of at least 10, got 9");
  CHECK(parse_bad("poll_interval_ms = 99999999999").key == "poll_interval_ms");
  CHECK(parse_bad("max_retries = -1").message()
        == "max_retries: must be a non-negative integer, got -1");
  CHECK(parse_bad("terminate_grace_ms = -5").key == "terminate_grace_ms");
}

TEST_CASE("values of the wrong type are reported with what was found") {
  CHECK(parse_bad("max_executors = \"4\"").message()
        == "max_executors: must be an integer between 1 and 1000, got \"4\"");
  CHECK(parse_bad("max_executors = 4.0").message()
        == "max_executors: must be an integer between 1 and 1000, got the floating-point number 4");
  CHECK(parse_bad("max_retries = true").message()
        == "max_retries: must be a non-negative integer, got true");
  CHECK(parse_bad("dsn = 5").message() == "dsn: must be a string, got 5");
  CHECK(parse_bad("dsn = [\"a\"]").message() == "dsn: must be a string, got an array");
  CHECK(parse_bad("[log_level]\nx = 1").message()
        == "log_level: must be one of trace, debug, info, warn, error, critical, off, got a table");
}

TEST_CASE("retry delays must be a non-empty array of non-negative integers") {
  CHECK(parse_bad("retry_delays_s = []").message()
        == "retry_delays_s: must be a non-empty array of non-negative integers, got an empty array");
  CHECK(parse_bad("retry_delays_s = 5").message()
        == "retry_delays_s: must be a non-empty array of non-negative integers, got 5");
  CHECK(parse_bad("retry_delays_s = [5, -1]").message()
        == "retry_delays_s: must be a non-empty array of non-negative integers, element 2 is -1");
  CHECK(parse_bad("retry_delays_s = [5, \"x\"]").key == "retry_delays_s");
  CHECK(parse_ok("retry_delays_s = [0]").retry_delays_s == std::vector<int>{0});
}

TEST_CASE("log level must be one of the known levels") {
  for (auto level : log_levels)
    CHECK(parse_ok(fmt::format("log_level = \"{}\"", level)).log_level == level);
  CHECK(parse_bad("log_level = \"verbose\"").message()
        == "log_level: must be one of trace, debug, info, warn, error, critical, off, got \"verbose\"");
  CHECK(parse_bad("log_level = \"INFO\"").key == "log_level");
}

TEST_CASE("an unknown key is an error naming the key, even next to a bad value") {
  CHECK(parse_bad("max_executor = 4").message() == "max_executor: unknown key");
  CHECK(parse_bad("max_executors = 0\nretry_delay = [1]").key == "retry_delay");
  CHECK(parse_bad("[limits]\nmax_executors = 4").key == "limits");
  CHECK(parse_bad("zzz = 1\naaa = 2").key == "zzz");  // the first in the file
}

TEST_CASE("a TOML syntax error reports its line and column") {
  auto err = parse_bad("max_executors = 4\nlog_level = \"info\nmax_retries = 3\n");
  CHECK(err.key.empty());
  CHECK_THAT(err.message(), Catch::Contains("syntax error at line 2, column"));
  auto dup = parse_bad("max_executors = 4\nmax_executors = 5\n");
  CHECK_THAT(dup.message(), Catch::Contains("line 2"));
}

TEST_CASE("a config file is loaded from disk and an unreadable one names its path") {
  char path[] = "/tmp/steward-config-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "max_executors = 2\ndsn = \"dbname=x\"\n";
  }
  auto loaded = load_config_file(path);
  REQUIRE(std::holds_alternative<config>(loaded));
  CHECK(std::get<config>(loaded).max_executors == 2);
  CHECK(std::get<config>(loaded).dsn == "dbname=x");
  std::remove(path);

  auto missing = load_config_file(path);
  REQUIRE(std::holds_alternative<config_error>(missing));
  CHECK(std::get<config_error>(missing).key.empty());
  CHECK_THAT(std::get<config_error>(missing).message(), Catch::Contains(path));
  CHECK_THAT(std::get<config_error>(missing).message(), Catch::Contains("No such file"));

  auto directory = load_config_file("/tmp");
  REQUIRE(std::holds_alternative<config_error>(directory));
  CHECK_THAT(std::get<config_error>(directory).message(), Catch::Contains("/tmp"));
}

TEST_CASE("passwords in key/value connection strings are redacted") {
  CHECK(redact_dsn("host=db password=s3cret user=steward")
        == "host=db password=******** user=steward");
  CHECK(redact_dsn("password = 's3 cr\\'et' dbname=x") == "password = ******** dbname=x");
  CHECK(redact_dsn("host=db sslpassword=k3y") == "host=db sslpassword=********");
  CHECK(redact_dsn("host=db password=a\\ b port=5432") == "host=db password=******** port=5432");
  CHECK(redact_dsn("password=") == "password=********");
  CHECK(redact_dsn("host=db dbname=steward") == "host=db dbname=steward");
  CHECK(redact_dsn("") == "");
  CHECK(redact_dsn("application_name='my password=x' host=h")
        == "application_name='my password=x' host=h");
}

TEST_CASE("passwords in postgresql URIs are redacted") {
  CHECK(redact_dsn("postgresql://steward:s3cret@db:5432/coord")
        == "postgresql://steward:********@db:5432/coord");
  CHECK(redact_dsn("postgres://u:p%40ss@h/db?sslmode=require")
        == "postgres://u:********@h/db?sslmode=require");
  CHECK(redact_dsn("postgresql://u:pa@ss/x@h/db") == "postgresql://u:********@h/db");
  CHECK(redact_dsn("postgresql://u@h/db?password=s3cret&sslmode=require")
        == "postgresql://u@h/db?password=********&sslmode=require");
  CHECK(redact_dsn("postgresql://h/db?sslpassword=k") == "postgresql://h/db?sslpassword=********");
  CHECK(redact_dsn("postgresql://h:5432/db") == "postgresql://h:5432/db");
  CHECK(redact_dsn("postgresql:///db") == "postgresql:///db");
}

TEST_CASE("the config description for the log hides the password") {
  config c;
  c.dsn = "host=db password=hunter2";
  auto line = describe(c);
  CHECK_THAT(line, !Catch::Contains("hunter2"));
  CHECK(line
        == "dsn='host=db password=********' max_executors=4 max_executors_per_node=1 "
           "poll_interval_ms=1000 retry_delays_s=[5, 20, 60] max_retries=32 "
           "terminate_grace_ms=5000 log_level=info");
}
