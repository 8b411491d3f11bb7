// Byte encodings the fake master needs on its own, independent of mesoflow's
// protocol layer (the fake master judges that layer, so it must not share its
// parsing): standard base64 as stout decodes it, and the 16-byte UUIDs that
// status updates carry.
//  - base64_decode mirrors stout: it stops at the first '=', skips whitespace
//    and rejects any other character outside the alphabet (nullopt).
//  - is_valid_uuid_bytes mirrors stout's UUID::fromBytes: exactly 16 bytes
//    with an RFC 4122 version nibble between 1 and 5.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mesoflow::fake {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// 16 random bytes shaped as a version 4 UUID.
std::string random_uuid_bytes();
// The canonical 8-4-4-4-12 lower-case hex form of 16 bytes.
std::string uuid_to_string(std::string_view bytes);
// A fresh random UUID in canonical text form (stream ids, master ids).
std::string random_uuid_string();
bool is_valid_uuid_bytes(std::string_view bytes);

}  // namespace mesoflow::fake
