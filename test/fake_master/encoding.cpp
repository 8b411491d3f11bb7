#include "encoding.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <mutex>
#include <random>

namespace mesoflow::fake {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int alphabet_index(unsigned char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

std::mt19937_64& generator() {
    thread_local std::mt19937_64 gen{std::random_device{}()};
    return gen;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const auto b0 = static_cast<unsigned char>(bytes[i]);
        const auto b1 = static_cast<unsigned char>(bytes[i + 1]);
        const auto b2 = static_cast<unsigned char>(bytes[i + 2]);
        out += kAlphabet[b0 >> 2];
        out += kAlphabet[((b0 & 0x03) << 4) | (b1 >> 4)];
        out += kAlphabet[((b1 & 0x0f) << 2) | (b2 >> 6)];
        out += kAlphabet[b2 & 0x3f];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const auto b0 = static_cast<unsigned char>(bytes[i]);
        out += kAlphabet[b0 >> 2];
        out += kAlphabet[(b0 & 0x03) << 4];
        out += "==";
    } else if (rest == 2) {
        const auto b0 = static_cast<unsigned char>(bytes[i]);
        const auto b1 = static_cast<unsigned char>(bytes[i + 1]);
        out += kAlphabet[b0 >> 2];
        out += kAlphabet[((b0 & 0x03) << 4) | (b1 >> 4)];
        out += kAlphabet[(b1 & 0x0f) << 2];
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size() / 4 * 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '=')
            break;
        if (std::isspace(c) != 0)
            continue;
        const int v = alphabet_index(c);
        if (v < 0)
            return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

std::string random_uuid_bytes() {
    std::array<unsigned char, 16> b{};
    auto& gen = generator();
    const std::uint64_t hi = gen();
    const std::uint64_t lo = gen();
    for (int i = 0; i < 8; ++i) {
        b[static_cast<std::size_t>(i)] = static_cast<unsigned char>(hi >> (8 * i));
        b[static_cast<std::size_t>(8 + i)] = static_cast<unsigned char>(lo >> (8 * i));
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string uuid_to_string(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out += '-';
        const auto c = static_cast<unsigned char>(bytes[i]);
        out += kHex[c >> 4];
        out += kHex[c & 0x0f];
    }
    return out;
}

std::string random_uuid_string() {
    return uuid_to_string(random_uuid_bytes());
}

bool is_valid_uuid_bytes(std::string_view bytes) {
    if (bytes.size() != 16)
        return false;
    const int version = static_cast<unsigned char>(bytes[6]) >> 4;
    return version >= 1 && version <= 5;
}

}  // namespace mesoflow::fake
