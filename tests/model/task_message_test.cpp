#include <catch2/catch.hpp>

#include "model/task_message.hpp"

using namespace steward::model;

TEST_CASE("a successful INSERT task leaves its command tag as the message") {
  task_message_builder b;
  b.add(started_frame{1234});
  b.add(command_complete_frame{"INSERT 0 1"});
  b.add(finished_frame{});
  CHECK(b.text() == "INSERT 0 1\n");
  CHECK(b.backend_pid() == 1234);
  CHECK(b.finished());
  CHECK_FALSE(b.had_error());
}

TEST_CASE("command tags of several statements are appended in order") {
  task_message_builder b;
  b.add(command_complete_frame{"SET"});
  b.add(command_complete_frame{"UPDATE 3"});
  b.add(command_complete_frame{"SELECT 1"});
  CHECK(b.text() == "SET\nUPDATE 3\nSELECT 1\n");
}

TEST_CASE("an error replaces the message with severity, text and context") {
  task_message_builder b;
  b.add(started_frame{99});
  b.add(error_frame{"22012", "ERROR", "division by zero", "", "",
                    "Steward Background Task Executor: regression/postgres for (1/2)"});
  CHECK(b.had_error());
  CHECK_FALSE(b.finished());
  CHECK(b.text() ==
        "ERROR: division by zero\n"
        "CONTEXT: Steward Background Task Executor: regression/postgres for (1/2)\n");
}

TEST_CASE("a notice replaces the message and lists detail, hint and context when present") {
  task_message_builder b;
  b.add(command_complete_frame{"INSERT 0 1"});
  b.add(notice_frame{"NOTICE", "hello", "the detail", "the hint", "the context"});
  CHECK(b.text() == "NOTICE: hello\nDETAIL: the detail\nHINT: the hint\nCONTEXT: the context\n");
  CHECK_FALSE(b.had_error());

  b.add(notice_frame{"WARNING", "careful", "", "try again", ""});
  CHECK(b.text() == "WARNING: careful\nHINT: try again\n");
}

TEST_CASE("command tags after a notice are appended to the notice") {
  task_message_builder b;
  b.add(notice_frame{"NOTICE", "hi", "", "", ""});
  b.add(command_complete_frame{"DO"});
  CHECK(b.text() == "NOTICE: hi\nDO\n");
}

TEST_CASE("only the last notice or error survives") {
  task_message_builder b;
  b.add(error_frame{"57014", "ERROR", "canceling statement due to user request", "", "", ""});
  b.add(error_frame{"", "FATAL", "terminating executor due to coordinator shutdown", "", "", ""});
  CHECK(b.text() == "FATAL: terminating executor due to coordinator shutdown\n");
  CHECK(b.had_error());
}

TEST_CASE("a builder starts empty and ignores progress in the text") {
  task_message_builder b;
  CHECK(b.text().empty());
  CHECK_FALSE(b.backend_pid().has_value());
  b.add(progress_frame{"copy", 1, 10});
  CHECK(b.text().empty());
  REQUIRE(b.progress().has_value());
  CHECK(b.progress()->done == 1);
}

TEST_CASE("a frame without severity gets the default of its kind") {
  task_message_builder b;
  b.add(error_frame{"XX000", "", "boom", "", "", ""});
  CHECK(b.text() == "ERROR: boom\n");
  b.add(notice_frame{"", "note", "", "", ""});
  CHECK(b.text() == "NOTICE: note\n");
}
