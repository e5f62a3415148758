#include <catch2/catch.hpp>

#include "model/json_writer.hpp"

#include <nlohmann/json.hpp>

#include <string>

using namespace steward::model;

TEST_CASE("json_quote escapes quotes, backslashes and control characters") {
  CHECK(json_quote("") == R"("")");
  CHECK(json_quote("plain") == R"("plain")");
  CHECK(json_quote("say \"hi\"") == R"("say \"hi\"")");
  CHECK(json_quote("C:\\dir") == R"("C:\\dir")");
  CHECK(json_quote("a\nb\tc\rd\be\ff") == R"("a\nb\tc\rd\be\ff")");
  CHECK(json_quote(std::string{"\x01\x1f\x7f", 3}) == R"("\u0001\u001f\u007f")");
  CHECK(json_quote(std::string{"nul\0byte", 8}) == R"("nul\u0000byte")");
}

TEST_CASE("json_quote keeps valid UTF-8 and replaces invalid bytes with U+FFFD") {
  CHECK(json_quote("caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x98\x80") ==
        "\"caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x98\x80\"");
  CHECK(json_quote("a\xFF" "b") == "\"a\xEF\xBF\xBD" "b\"");         // never valid
  CHECK(json_quote("\xC3") == "\"\xEF\xBF\xBD\"");                    // truncated sequence
  CHECK(json_quote("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");    // overlong '/'
  CHECK(json_quote("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
  CHECK(json_quote("\xF4\x90\x80\x80").find("\xF4") == std::string::npos);           // > U+10FFFF
}

TEST_CASE("json_quote output parses back to the same string") {
  std::string every_ascii;
  for (int c = 0; c < 128; ++c)
    every_ascii += static_cast<char>(c);
  for (const std::string& s : {every_ascii, std::string{"ERROR:  division by zero\nCONTEXT: \"x\""},
                               std::string{"\xE2\x86\x92 \\n"}}) {
    auto parsed = nlohmann::json::parse(json_quote(s));
    CHECK(parsed.get<std::string>() == s);
  }
}

TEST_CASE("json_writer places commas and colons in nested containers") {
  json_writer w;
  w.begin_object();
  w.key("a").value(1);
  w.key("b").begin_array().value("x").value(true).null().begin_object().end_object().end_array();
  w.key("c").begin_object().key("d").value(std::int64_t{-9223372036854775807 - 1}).end_object();
  w.key("e").value(std::optional<int>{}).key("f").value(std::optional<std::string>{"g"});
  w.key("h").begin_array().end_array();
  w.end_object();
  CHECK(w.str() ==
        R"({"a":1,"b":["x",true,null,{}],"c":{"d":-9223372036854775808},"e":null,"f":"g","h":[]})");
  CHECK_NOTHROW(nlohmann::json::parse(w.str()));
}
