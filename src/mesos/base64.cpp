#include "mesoflow/mesos/base64.hpp"

#include <array>

namespace mesoflow::mesos {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_reverse() {
    std::array<std::int8_t, 256> r{};
    for (auto& v : r)
        v = -1;
    for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
        r[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    }
    return r;
}

constexpr std::array<std::int8_t, 256> kReverse = make_reverse();

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v =
            static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
            static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
            static_cast<unsigned char>(bytes[i + 2]);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2)
            v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::size_t n = text.size();
    if (n % 4 == 0 && n > 0) {
        if (text[n - 1] == '=')
            --n;
        if (text[n - 1] == '=')
            --n;
    }
    if (n % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(n / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::int8_t d = kReverse[static_cast<unsigned char>(text[i])];
        if (d < 0)
            return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(d);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    // Leftover bits must be zero, so every byte string has exactly one encoding.
    if ((acc & ((1u << bits) - 1)) != 0)
        return std::nullopt;
    return out;
}

bool is_valid_uuid_bytes(std::string_view bytes) {
    if (bytes.size() != kUuidBytes)
        return false;
    const int version = static_cast<unsigned char>(bytes[6]) >> 4;
    return version >= 1 && version <= 5;
}

bool is_valid_uuid_base64(std::string_view text) {
    const auto bytes = base64_decode(text);
    return bytes && is_valid_uuid_bytes(*bytes);
}

std::string uuid_v4_bytes(std::uint64_t high, std::uint64_t low) {
    std::string out(kUuidBytes, '\0');
    for (int i = 0; i < 8; ++i) {
        out[static_cast<std::size_t>(i)] = static_cast<char>((high >> (56 - 8 * i)) & 0xFF);
        out[static_cast<std::size_t>(8 + i)] = static_cast<char>((low >> (56 - 8 * i)) & 0xFF);
    }
    out[6] = static_cast<char>((static_cast<unsigned char>(out[6]) & 0x0F) | 0x40);
    out[8] = static_cast<char>((static_cast<unsigned char>(out[8]) & 0x3F) | 0x80);
    return out;
}

}  // namespace mesoflow::mesos
