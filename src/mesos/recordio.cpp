#include "mesoflow/mesos/recordio.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <limits>

namespace mesoflow::mesos {

std::string encode_record(std::string_view payload) {
    std::string out = std::to_string(payload.size());
    out.reserve(out.size() + 1 + payload.size());
    out += '\n';
    out.append(payload);
    return out;
}

RecordIoDecoder::RecordIoDecoder(std::size_t max_record_bytes)
    : max_record_bytes_(max_record_bytes) {}

bool RecordIoDecoder::at_record_boundary() const {
    return phase_ == Phase::length && length_digits_.empty();
}

namespace {

std::string printable(char c) {
    if (c >= 0x20 && c < 0x7f)
        return fmt::format("'{}'", c);
    return fmt::format("0x{:02x}", static_cast<unsigned char>(c));
}

}  // namespace

bool RecordIoDecoder::feed(std::string_view bytes, std::vector<std::string>& out) {
    if (failed())
        return false;
    std::size_t i = 0;
    while (i < bytes.size()) {
        if (phase_ == Phase::length) {
            const char c = bytes[i++];
            if (c == '\n') {
                if (length_digits_.empty()) {
                    error_ = "record length prefix is empty";
                    return false;
                }
                std::uint64_t n = 0;
                for (char d : length_digits_) {
                    const auto digit = static_cast<std::uint64_t>(d - '0');
                    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
                        error_ = fmt::format("record length {} overflows", length_digits_);
                        return false;
                    }
                    n = n * 10 + digit;
                }
                if (n == 0) {
                    error_ = "record length is zero";
                    return false;
                }
                if (n > max_record_bytes_) {
                    error_ = fmt::format("record of {} bytes exceeds the limit of {} bytes", n,
                                         max_record_bytes_);
                    return false;
                }
                expected_ = n;
                length_digits_.clear();
                payload_.clear();
                phase_ = Phase::payload;
                continue;
            }
            if (c < '0' || c > '9') {
                error_ = fmt::format("record length prefix has non-digit {} after \"{}\"",
                                     printable(c), length_digits_);
                return false;
            }
            if (length_digits_.size() >= kMaxLengthDigits) {
                error_ =
                    fmt::format("record length prefix longer than {} digits", kMaxLengthDigits);
                return false;
            }
            length_digits_ += c;
            continue;
        }
        const std::size_t want = static_cast<std::size_t>(expected_) - payload_.size();
        const std::size_t take = std::min(want, bytes.size() - i);
        payload_.append(bytes.substr(i, take));
        i += take;
        if (payload_.size() == expected_) {
            out.push_back(std::move(payload_));
            payload_ = std::string();
            phase_ = Phase::length;
        }
    }
    return true;
}

}  // namespace mesoflow::mesos
