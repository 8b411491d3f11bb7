// Base64 (RFC 4648 standard alphabet, '=' padding) for the `bytes` fields of
// the Mesos JSON mapping, and the UUID check Mesos applies to acknowledgement
// uuids (stout UUID::fromBytes: exactly 16 bytes with a known RFC 4122
// version). Pure functions; decoding returns nullopt instead of guessing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mesoflow::mesos {

inline constexpr std::size_t kUuidBytes = 16;

std::string base64_encode(std::string_view bytes);

// Accepts padded text and, like many encoders emit, unpadded text. Rejects
// characters outside the alphabet, misplaced padding, impossible lengths and
// non-zero trailing bits.
std::optional<std::string> base64_decode(std::string_view text);

// True for 16 bytes whose version nibble (high nibble of byte 6) is 1 to 5.
bool is_valid_uuid_bytes(std::string_view bytes);

// True when `text` is base64 of valid uuid bytes: what a master accepts in
// ACKNOWLEDGE.uuid and ACKNOWLEDGE_OPERATION_STATUS.uuid.
bool is_valid_uuid_base64(std::string_view text);

// The 16 bytes of a version-4 (random) UUID built from 128 caller-supplied
// random bits; the version and variant bits are overwritten.
std::string uuid_v4_bytes(std::uint64_t high, std::uint64_t low);

}  // namespace mesoflow::mesos
