// libFuzzer target: arbitrary bytes as a scheduler event stream. They go
// through RecordIoDecoder (in two pieces, split at a point the input chooses)
// and every record through parse_event; a parsed event is written back and
// must parse again. Built and run by test/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mesoflow/mesos/recordio.hpp"
#include "mesos_codec/test_codec.hpp"

namespace {
// Keeps libFuzzer's memory use bounded when it grows a length prefix.
constexpr std::size_t kFuzzMaxRecordBytes = 1024 * 1024;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
    mesoflow::mesos::RecordIoDecoder decoder(kFuzzMaxRecordBytes);
    std::vector<std::string> records;
    if (decoder.feed(bytes.substr(0, split), records))
        decoder.feed(bytes.substr(split), records);
    for (const auto& record : records) {
        const auto event = mesoflow::mesos::parse_event(record);
        if (event.ok() &&
            !mesoflow::mesos::parse_event(mesoflow::mesos::to_json(event.value())).ok())
            std::abort();
    }
    return 0;
}
