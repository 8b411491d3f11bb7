// Text from agents on its way to the database: NUL bytes, invalid UTF-8 and
// huge messages, as tables.
#include "mesoflow/task/text.hpp"

#include <catch2/catch.hpp>

#include <string>

using mesoflow::task::clean_text;
using namespace std::string_literals;

TEST_CASE("text keeps valid UTF-8 and replaces NUL and every invalid byte with U+FFFD") {
    const std::string r = "\xEF\xBF\xBD";
    struct Row {
        const char* why;
        std::string in;
        std::string out;
    };
    const std::vector<Row> rows = {
        {"plain ASCII", "Command exited with status 3", "Command exited with status 3"},
        {"empty", "", ""},
        {"a NUL byte", "a\0b"s, "a" + r + "b"},
        {"two-, three- and four-byte characters", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80",
         "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"},
        {"a lone continuation byte", "a\x80z", "a" + r + "z"},
        {"a truncated sequence at the end", "ab\xE2\x82", "ab" + r + r},
        {"an overlong slash", "\xC0\xAF", r + r},
        {"an overlong three-byte form", "\xE0\x80\xAF", r + r + r},
        {"a surrogate", "\xED\xA0\x80", r + r + r},
        {"past U+10FFFF", "\xF4\x90\x80\x80", r + r + r + r},
        {"bytes UTF-8 never uses", "\xFE\xFF", r + r},
    };
    for (const auto& row : rows) {
        INFO(row.why);
        CHECK(clean_text(row.in, 1024) == row.out);
    }
}

TEST_CASE("text longer than the limit is cut at a character boundary and marked") {
    CHECK(clean_text(std::string(100, 'x'), 100) == std::string(100, 'x'));
    CHECK(clean_text(std::string(101, 'x'), 100) == std::string(89, 'x') + "[truncated]");
    // A four-byte character across the cut is dropped whole.
    const std::string emoji = "\xF0\x9F\x98\x80";
    std::string in(87, 'x');
    in += emoji + emoji + emoji + emoji;  // 103 bytes
    const auto out = clean_text(in, 100);
    CHECK(out == std::string(87, 'x') + "[truncated]");
    CHECK(out.size() <= 100);
    CHECK(clean_text(std::string(1 << 20, '\0'), 64).size() <= 64);
    // A limit too small for the mark still never exceeds the limit.
    CHECK(clean_text("abcdef", 3).size() <= 3);
}
