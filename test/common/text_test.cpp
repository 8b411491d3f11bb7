// escape_controls: what a terminal would act on is spelled out, the rest of
// the text is kept; and the log prints producers' and agents' text through it.
#include "mesoflow/common/text.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "mesoflow/common/log.hpp"
#include "stderr_capture.hpp"

using Catch::Contains;
using mesoflow::escape_controls;

TEST_CASE("control characters, DEL, C1 controls and invalid UTF-8 are escaped; text is kept") {
    struct Case {
        std::string text;
        std::string shown;
    };
    const std::vector<Case> cases = {
        {"rack-1.example.com", "rack-1.example.com"},
        {"", ""},
        {"a\nb\rc\td", "a\\nb\\rc\\td"},
        {"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"},
        {"\x1b]0;title\x07", "\\x1b]0;title\\x07"},
        {std::string("nul\0end", 7), "nul\\x00end"},
        {"del\x7f", "del\\x7f"},
        {"back\\slash \"quoted\"", "back\\slash \"quoted\""},
        {"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80"},
        {"csi\xc2\x9b"
         "31m",
         "csi\\u009b31m"},
        {"bidi\xe2\x80\xae"
         "txt",
         "bidi\\u202etxt"},
        {"bad\xff\xc3", "bad\\xff\\xc3"},
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},  // a surrogate
    };
    for (const auto& c : cases) {
        INFO(c.shown);
        CHECK(escape_controls(c.text) == c.shown);
    }
}

TEST_CASE("a logged field with control characters comes out escaped, on one line") {
    mesoflow::testing::StderrCapture capture;
    mesoflow::log::info("test_event", "task={} message={}", "key\x1b[2J\nlevel=error event=forged",
                        mesoflow::log::quote("exit\x1b]0;x\x07 1\nnext"));
    const std::string text = capture.text();
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
    CHECK_THAT(text, Contains("level=info event=test_event task=key\\x1b[2J\\nlevel=error "
                              "event=forged message=\"exit\\x1b]0;x\\x07 1\\nnext\"\n"));
}

TEST_CASE("quote puts values with controls in quotes and escapes quotes and backslashes there") {
    using mesoflow::log::quote;
    CHECK(quote("plain") == "plain");
    CHECK(quote("a\\b") == "a\\b");
    CHECK(quote("two words") == "\"two words\"");
    CHECK(quote("tab\there") == "\"tab\\there\"");
    CHECK(quote("esc\x1b[1m") == "\"esc\\x1b[1m\"");
    CHECK(quote("say \"hi\\\"\n") == "\"say \\\"hi\\\\\\\"\\n\"");
}
