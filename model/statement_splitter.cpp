#include "model/statement_splitter.hpp"

#include <cctype>

namespace steward::model {

namespace {

bool ident_start(unsigned char c) {
  return std::isalpha(c) || c == '_' || c >= 0x80;
}

bool ident_char(unsigned char c) {
  return ident_start(c) || std::isdigit(c) || c == '$';
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

/// One statement as the lexer saw it: its text and its bare words (keywords and
/// unquoted identifiers, upper-cased), in order.
struct statement {
  std::string_view text;
  std::vector<std::string> words;
};

class lexer {
public:
  explicit lexer(std::string_view sql) : s_(sql) {}

  std::vector<statement> run() {
    std::vector<statement> out;
    std::size_t start = 0;
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      const auto next = i_ + 1 < s_.size() ? static_cast<unsigned char>(s_[i_ + 1]) : 0;
      if (c == '-' && next == '-') {
        skip_line_comment();
      } else if (c == '/' && next == '*') {
        skip_block_comment();
      } else if (c == '\'') {
        skip_quoted('\'', false);
      } else if (c == '"') {
        skip_quoted('"', false);
      } else if (c == '$') {
        skip_dollar();
      } else if (ident_start(c)) {
        word();
      } else if (c == ';' && paren_depth_ == 0 && begin_depth_ == 0) {
        finish(out, start, i_);
        ++i_;
        start = i_;
      } else {
        if (c == '(')
          ++paren_depth_;
        else if (c == ')' && paren_depth_ > 0)
          --paren_depth_;
        if (c != ';' && !std::isspace(c))
          has_other_tokens_ = true;
        ++i_;
      }
    }
    finish(out, start, s_.size());
    return out;
  }

private:
  void finish(std::vector<statement>& out, std::size_t from, std::size_t to) {
    if (!words_.empty() || has_other_tokens_)
      out.push_back(statement{s_.substr(from, to - from), std::move(words_)});
    words_.clear();
    has_other_tokens_ = false;
    paren_depth_ = 0;
    begin_depth_ = 0;
  }

  void skip_line_comment() {
    while (i_ < s_.size() && s_[i_] != '\n')
      ++i_;
  }

  void skip_block_comment() {
    int depth = 0;
    while (i_ < s_.size()) {
      if (s_[i_] == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') {
        ++depth;
        i_ += 2;
      } else if (s_[i_] == '*' && i_ + 1 < s_.size() && s_[i_ + 1] == '/') {
        i_ += 2;
        if (--depth == 0)
          return;
      } else {
        ++i_;
      }
    }
  }

  /// At an opening quote; `backslash` = E'' string. Doubled quotes stay inside.
  void skip_quoted(char quote, bool backslash) {
    has_other_tokens_ = true;
    ++i_;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (backslash && c == '\\') {
        i_ += 2;
      } else if (c == quote) {
        if (i_ + 1 < s_.size() && s_[i_ + 1] == quote) {
          i_ += 2;
        } else {
          ++i_;
          return;
        }
      } else {
        ++i_;
      }
    }
    i_ = s_.size();
  }

  /// At a '$' that does not continue an identifier: a dollar quote or a parameter ($1).
  void skip_dollar() {
    has_other_tokens_ = true;
    std::size_t j = i_ + 1;
    if (j < s_.size() && s_[j] != '$') {
      if (!ident_start(static_cast<unsigned char>(s_[j]))) {
        i_ = j;  // $1 or a lone $
        return;
      }
      while (j < s_.size() && ident_char(static_cast<unsigned char>(s_[j])) && s_[j] != '$')
        ++j;
      if (j >= s_.size() || s_[j] != '$') {
        i_ = j;
        return;
      }
    }
    if (j >= s_.size()) {
      i_ = j;
      return;
    }
    const auto tag = s_.substr(i_, j + 1 - i_);  // "$$" or "$tag$"
    const auto end = s_.find(tag, j + 1);
    i_ = end == std::string_view::npos ? s_.size() : end + tag.size();
  }

  void word() {
    const std::size_t from = i_;
    while (i_ < s_.size() && ident_char(static_cast<unsigned char>(s_[i_])))
      ++i_;
    const auto text = s_.substr(from, i_ - from);
    if (i_ < s_.size() && s_[i_] == '\'' && (text == "E" || text == "e")) {
      skip_quoted('\'', true);
      return;
    }
    auto w = upper(text);
    track_routine_body(w);
    words_.push_back(std::move(w));
  }

  // psql's heuristic: inside CREATE [OR REPLACE] {FUNCTION|PROCEDURE}, BEGIN … END
  // (with CASE … END nested in it) may contain ';'.
  void track_routine_body(const std::string& w) {
    if (paren_depth_ != 0 || !in_routine_definition())
      return;
    if (w == "BEGIN")
      ++begin_depth_;
    else if (w == "CASE" && begin_depth_ > 0)
      ++begin_depth_;
    else if (w == "END" && begin_depth_ > 0)
      --begin_depth_;
  }

  bool in_routine_definition() const {
    auto at = [&](std::size_t k) -> std::string_view {
      return k < words_.size() ? std::string_view(words_[k]) : std::string_view();
    };
    if (at(0) != "CREATE")
      return false;
    if (at(1) == "FUNCTION" || at(1) == "PROCEDURE")
      return true;
    return at(1) == "OR" && at(2) == "REPLACE" && (at(3) == "FUNCTION" || at(3) == "PROCEDURE");
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::vector<std::string> words_;
  bool has_other_tokens_ = false;
  int paren_depth_ = 0;
  int begin_depth_ = 0;
};

}  // namespace

std::vector<std::string_view> split_statements(std::string_view sql) {
  std::vector<std::string_view> out;
  for (auto& st : lexer(sql).run())
    out.push_back(st.text);
  return out;
}

std::optional<std::string> find_transaction_control(std::string_view sql) {
  for (auto& st : lexer(sql).run()) {
    if (st.words.empty())
      continue;
    const auto& first = st.words[0];
    const std::string second = st.words.size() > 1 ? st.words[1] : std::string();
    if (first == "BEGIN" || first == "COMMIT" || first == "END" || first == "ROLLBACK" ||
        first == "ABORT" || first == "SAVEPOINT" || first == "RELEASE")
      return first;
    if ((first == "START" || first == "PREPARE") && second == "TRANSACTION")
      return first + " " + second;
  }
  return std::nullopt;
}

}  // namespace steward::model
