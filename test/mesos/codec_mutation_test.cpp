// Bounded, seeded random mutation of the doc fixtures through RecordIoDecoder,
// parse_event and parse_call: the codec must return (a value or an Error) for
// every input, never crash, hang or touch memory it does not own (the ASan/UBSan
// build checks the last). The seed is fixed so a failure reproduces exactly.
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fixture_files.hpp"
#include "mesoflow/mesos/recordio.hpp"
#include "mesos_codec/test_codec.hpp"

using namespace mesoflow::mesos;
using namespace mesoflow::mesos::testing;

namespace {

constexpr std::uint32_t kSeed = 20261125;
constexpr int kMutationsPerFixture = 400;
constexpr int kMaxEditsPerMutation = 4;
// Small enough that mutated length prefixes hit the limit, large enough for every fixture.
constexpr std::size_t kFuzzMaxRecordBytes = 64 * 1024;

const std::vector<std::string> kEventFixtures = {
    "error.json",          "failure_agent.json",  "failure_executor.json",
    "heartbeat.json",      "inverse_offers.json", "message.json",
    "offers.json",         "rescind.json",        "rescind_inverse_offer.json",
    "subscribed.json",     "update_master.json",  "update_operation_status.json",
    "update_reliable.json"};

const std::vector<std::string> kCallFixtures = {"accept_docker.json",
                                                "accept_inverse_offers.json",
                                                "accept_launch.json",
                                                "accept_mesos_image.json",
                                                "acknowledge.json",
                                                "acknowledge_operation_status.json",
                                                "decline.json",
                                                "decline_inverse_offers.json",
                                                "kill.json",
                                                "message.json",
                                                "reconcile.json",
                                                "reconcile_implicit.json",
                                                "reconcile_operations.json",
                                                "request.json",
                                                "resubscribe.json",
                                                "revive.json",
                                                "revive_roles.json",
                                                "shutdown.json",
                                                "subscribe.json",
                                                "suppress.json",
                                                "teardown.json",
                                                "update_framework.json"};

// Bytes that steer mutations towards JSON and RecordIO structure.
constexpr std::string_view kInteresting = "{}[]\":,\\0123456789-.eE\nntf \x80\xff\xc3";

class Mutator {
  public:
    explicit Mutator(std::uint32_t seed) : rng_(seed) {}

    std::string mutate(std::string text) {
        const int edits = 1 + below(kMaxEditsPerMutation);
        for (int i = 0; i < edits; ++i)
            edit(text);
        return text;
    }

    std::size_t below(std::size_t n) {
        return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    }

  private:
    char any_byte() {
        if (below(2) == 0)
            return kInteresting[below(kInteresting.size())];
        return static_cast<char>(below(256));
    }

    void edit(std::string& text) {
        const std::size_t at = below(text.size() + 1);
        switch (below(5)) {
            case 0:  // flip one bit
                if (at < text.size())
                    text[at] = static_cast<char>(text[at] ^ (1 << below(8)));
                break;
            case 1:  // delete a span
                text.erase(at, below(16) + 1);
                break;
            case 2:  // insert bytes
                text.insert(at, below(4) + 1, any_byte());
                break;
            case 3:  // truncate
                text.resize(at);
                break;
            default: {  // duplicate a span somewhere else
                const std::string span = text.substr(at, below(64) + 1);
                text.insert(below(text.size() + 1), span);
                break;
            }
        }
    }

    std::mt19937 rng_;
};

// Feeds `stream` in random pieces; returns the records decoded before any failure.
std::vector<std::string> decode_in_pieces(const std::string& stream, Mutator& pieces) {
    RecordIoDecoder decoder(kFuzzMaxRecordBytes);
    std::vector<std::string> records;
    std::size_t at = 0;
    while (at < stream.size()) {
        const std::size_t n = 1 + pieces.below(64);
        if (!decoder.feed(std::string_view(stream).substr(at, n), records)) {
            CHECK_FALSE(decoder.error().empty());
            break;
        }
        at += n;
    }
    return records;
}

}  // namespace

TEST_CASE("mutated events never crash the event parser, and errors always have a message") {
    Mutator mutator(kSeed);
    int parsed = 0;
    int rejected = 0;
    for (const auto& name : kEventFixtures) {
        const std::string original = read_fixture("events/" + name);
        REQUIRE(parse_event(original).ok());
        for (int i = 0; i < kMutationsPerFixture; ++i) {
            const auto event = parse_event(mutator.mutate(original));
            if (event.ok()) {
                ++parsed;
                // Whatever parsed must serialise to JSON the parser accepts again.
                CHECK(parse_event(to_json(event.value())).ok());
            } else {
                ++rejected;
                CHECK_FALSE(event.error().message.empty());
            }
        }
    }
    CHECK(parsed > 0);
    CHECK(rejected > 0);
}

TEST_CASE("mutated calls never crash the call parser") {
    Mutator mutator(kSeed + 1);
    int rejected = 0;
    for (const auto& name : kCallFixtures) {
        const std::string original = read_fixture("calls/" + name);
        REQUIRE(parse_call(original).ok());
        for (int i = 0; i < kMutationsPerFixture; ++i) {
            const auto call = parse_call(mutator.mutate(original));
            if (call.ok())
                CHECK(parse_call(to_json(call.value())).ok());
            else
                ++rejected;
        }
    }
    CHECK(rejected > 0);
}

TEST_CASE("mutated RecordIO streams of events never crash the decoder or the parser") {
    std::string stream;
    for (const auto& name : kEventFixtures)
        stream += encode_record(read_fixture("events/" + name));
    Mutator whole_pieces(kSeed);
    REQUIRE(decode_in_pieces(stream, whole_pieces).size() == kEventFixtures.size());

    Mutator mutator(kSeed + 2);
    std::size_t records_seen = 0;
    for (int i = 0; i < 2 * kMutationsPerFixture; ++i) {
        for (const auto& record : decode_in_pieces(mutator.mutate(stream), mutator)) {
            ++records_seen;
            CHECK(record.size() <= kFuzzMaxRecordBytes);
            (void)parse_event(record).ok();
        }
    }
    CHECK(records_seen > 0);
}
