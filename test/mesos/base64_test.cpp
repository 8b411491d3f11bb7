#include "mesoflow/mesos/base64.hpp"

#include <catch2/catch.hpp>
#include <random>

using namespace mesoflow::mesos;

TEST_CASE("base64 matches the RFC 4648 test vectors both ways") {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        CHECK(base64_encode(plain) == encoded);
        CHECK(base64_decode(encoded) == std::string(plain));
    }
}

TEST_CASE("base64 round-trips every byte value and random binary strings") {
    std::string all;
    for (int i = 0; i < 256; ++i)
        all += static_cast<char>(i);
    CHECK(base64_decode(base64_encode(all)) == all);
    std::mt19937 rng(42);
    for (int n = 0; n < 200; ++n) {
        std::string bytes(static_cast<std::size_t>(n), '\0');
        for (auto& c : bytes)
            c = static_cast<char>(rng());
        CHECK(base64_decode(base64_encode(bytes)) == bytes);
    }
}

TEST_CASE("base64 decoding accepts unpadded text and rejects what is not base64") {
    CHECK(base64_decode("Zg") == std::string("f"));
    CHECK(base64_decode("Zm8") == std::string("fo"));
    for (const char* bad : {"Z", "Zg=", "Zg===", "=Zg=", "Zm9v!", "Zm 9v",
                            "Zh==", "Zm9=", "Zm9vYg==Zg==", "-_==", "Zg==\n"}) {
        INFO(bad);
        CHECK_FALSE(base64_decode(bad).has_value());
    }
}

TEST_CASE("uuid bytes need 16 bytes and an RFC 4122 version nibble from 1 to 5") {
    std::string bytes = uuid_v4_bytes(0, 0);
    CHECK(bytes.size() == 16);
    CHECK(is_valid_uuid_bytes(bytes));
    CHECK((static_cast<unsigned char>(bytes[6]) >> 4) == 4);
    CHECK((static_cast<unsigned char>(bytes[8]) & 0xC0) == 0x80);
    for (int version = 0; version < 16; ++version) {
        bytes[6] = static_cast<char>(version << 4);
        CHECK(is_valid_uuid_bytes(bytes) == (version >= 1 && version <= 5));
    }
    CHECK_FALSE(is_valid_uuid_bytes(std::string(15, '\x40')));
    CHECK_FALSE(is_valid_uuid_bytes(std::string(17, '\x40')));
}

TEST_CASE("uuid base64 check: what a master accepts in ACKNOWLEDGE") {
    CHECK(is_valid_uuid_base64("PxwqnntNTiqcH12Oa3oMQg=="));
    CHECK(is_valid_uuid_base64("iks8LR4PSluMfW5fSjssHQ=="));
    CHECK(is_valid_uuid_base64(base64_encode(uuid_v4_bytes(~0ULL, ~0ULL))));
    CHECK_FALSE(is_valid_uuid_base64(""));
    CHECK_FALSE(is_valid_uuid_base64("not-a-uuid"));
    CHECK_FALSE(is_valid_uuid_base64(base64_encode(std::string(16, '\0'))));  // version 0
    CHECK_FALSE(is_valid_uuid_base64("PxwqnntNTiqcH12Oa3oM"));                // 15 bytes
    CHECK_FALSE(is_valid_uuid_base64("PxwqnntNTiqcH12Oa3oMQg==PxwqnntNTiqcH12Oa3oMQg=="));
}
