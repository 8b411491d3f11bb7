// RecordIO framing of the scheduler event stream (Mesos docs/recordio.md):
//   record = <decimal length> "\n" <length bytes>
// RecordIoDecoder is fed bytes in arbitrary pieces (HTTP chunks need not line
// up with records) and yields whole records. A bad prefix or a record larger
// than the configured limit puts the decoder into a failed state: the stream
// cannot be resynchronised, so the caller must drop the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mesoflow::mesos {

// The largest record accepted by default. A SUBSCRIBED or OFFERS event for a
// thousand agents stays well below this; anything larger is treated as a
// corrupt stream rather than allocated.
inline constexpr std::size_t kDefaultMaxRecordBytes = 64 * 1024 * 1024;

// A length prefix longer than this many digits cannot be a valid size.
inline constexpr std::size_t kMaxLengthDigits = 20;

std::string encode_record(std::string_view payload);

class RecordIoDecoder {
  public:
    explicit RecordIoDecoder(std::size_t max_record_bytes = kDefaultMaxRecordBytes);

    // Appends bytes and moves every record they complete into `out`.
    // Returns false once the stream is corrupt; error() then says why, and
    // later calls return false without reading anything.
    bool feed(std::string_view bytes, std::vector<std::string>& out);

    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }
    // True when no partial record is buffered (a clean place for EOF).
    bool at_record_boundary() const;
    std::size_t max_record_bytes() const { return max_record_bytes_; }

  private:
    enum class Phase { length, payload };

    std::size_t max_record_bytes_;
    Phase phase_ = Phase::length;
    std::string length_digits_;
    std::uint64_t expected_ = 0;
    std::string payload_;
    std::string error_;
};

}  // namespace mesoflow::mesos
