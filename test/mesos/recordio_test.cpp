#include "mesoflow/mesos/recordio.hpp"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

using mesoflow::mesos::encode_record;
using mesoflow::mesos::RecordIoDecoder;

TEST_CASE("encoder writes the decimal length, a newline and the payload") {
    CHECK(encode_record(R"({"type":"HEARTBEAT"})") == "20\n{\"type\":\"HEARTBEAT\"}");
}

TEST_CASE("decoder yields records split at every possible byte boundary") {
    const std::vector<std::string> payloads = {R"({"type":"SUBSCRIBED"})", "x",
                                               std::string(1000, 'y'), R"({"type":"HEARTBEAT"})"};
    std::string stream;
    for (const auto& p : payloads)
        stream += encode_record(p);
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        RecordIoDecoder dec;
        std::vector<std::string> out;
        REQUIRE(dec.feed(std::string_view(stream).substr(0, cut), out));
        REQUIRE(dec.feed(std::string_view(stream).substr(cut), out));
        REQUIRE(out == payloads);
        CHECK(dec.at_record_boundary());
    }
}

TEST_CASE("decoder accepts a stream fed one byte at a time and in random pieces") {
    std::string stream;
    std::vector<std::string> payloads;
    for (int i = 0; i < 200; ++i) {
        payloads.push_back(
            std::string(static_cast<std::size_t>(i * 7 + 1), static_cast<char>('a' + i % 26)));
        stream += encode_record(payloads.back());
    }
    std::mt19937 rng(7);
    RecordIoDecoder dec;
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < stream.size()) {
        const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 64)(rng);
        REQUIRE(dec.feed(std::string_view(stream).substr(pos, n), out));
        pos += n;
    }
    CHECK(out == payloads);
}

TEST_CASE("a truncated record leaves the decoder mid-record, not failed") {
    RecordIoDecoder dec;
    std::vector<std::string> out;
    REQUIRE(dec.feed("10\nabc", out));
    CHECK(out.empty());
    CHECK_FALSE(dec.at_record_boundary());
    CHECK_FALSE(dec.failed());
}

TEST_CASE("a length above the limit is an error, not an allocation") {
    RecordIoDecoder dec(1024);
    std::vector<std::string> out;
    CHECK_FALSE(dec.feed("1025\n", out));
    CHECK(dec.error() == "record of 1025 bytes exceeds the limit of 1024 bytes");
    CHECK_FALSE(dec.feed("1\nx", out));  // stays failed
    CHECK(out.empty());
}

TEST_CASE("malformed length prefixes are reported clearly") {
    struct Case {
        std::string input;
        std::string error;
    };
    const std::vector<Case> cases = {
        {"12a\n", "record length prefix has non-digit 'a' after \"12\""},
        {"\n", "record length prefix is empty"},
        {"0\n", "record length is zero"},
        {"-5\n", "record length prefix has non-digit '-' after \"\""},
        {" 5\n", "record length prefix has non-digit ' ' after \"\""},
        {"5\r\nhello", "record length prefix has non-digit 0x0d after \"5\""},
        {"99999999999999999999\n", "record length 99999999999999999999 overflows"},
        {"123456789012345678901\n", "record length prefix longer than 20 digits"},
    };
    for (const auto& c : cases) {
        INFO(c.input);
        RecordIoDecoder dec;
        std::vector<std::string> out;
        CHECK_FALSE(dec.feed(c.input, out));
        CHECK(dec.error() == c.error);
    }
}
