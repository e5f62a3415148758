#pragma once

// A small lexer over SQL text, enough to find statement boundaries the way psql does:
// ';' outside string literals ('', E'' with backslash escapes, "identifiers", $tag$
// dollar quotes), comments (-- and nested /* */), parentheses, and BEGIN … END bodies of
// CREATE [OR REPLACE] FUNCTION/PROCEDURE. Used by the executor to reject transaction
// control in a task's command before the server runs any of it.
//
// The server parses a whole multi-statement string before executing any statement, so
// a text where this lexer and the server's grammar would disagree is a syntax error and
// runs nothing.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steward::model {

/// The statements of `sql`, without their ';' and without statements that hold only
/// whitespace and comments. Views into `sql`.
std::vector<std::string_view> split_statements(std::string_view sql);

/// The leading keywords of the first transaction-control statement of `sql`, upper-cased
/// ("BEGIN", "START TRANSACTION", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT",
/// "RELEASE", "PREPARE TRANSACTION"; COMMIT/ROLLBACK PREPARED report as "COMMIT"/"ROLLBACK"),
/// or nullopt if there is none.
std::optional<std::string> find_transaction_control(std::string_view sql);

}  // namespace steward::model
