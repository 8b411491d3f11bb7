// Prints how long the codec takes on the scheduler's large messages: parsing
// an OFFERS event with 1,000 offers and writing an ACCEPT with 50 Docker
// tasks. Run it from a normal (not sanitizer) build:
//   build/test/mesos/mesos_codec_timing
// Parsing is measured twice: with glibc's default malloc settings, where the
// memory of each decoded event goes back to the kernel and the next parse
// page-faults it in again, and with a warm heap (trimming off), which is the
// codec's own cost.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "codec_workloads.hpp"
#include "mesoflow/mesos/resources.hpp"
#include "mesos/json_document.hpp"
#include "mesos_codec/test_codec.hpp"

using namespace mesoflow::mesos;
using Clock = std::chrono::steady_clock;

namespace {

struct Timing {
    double min_us;
    double median_us;
};

template <typename F>
Timing measure(int rounds, F&& f) {
    std::vector<double> samples;
    for (int i = 0; i < rounds; ++i) {
        const auto start = Clock::now();
        f();
        samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    std::sort(samples.begin(), samples.end());
    return {samples.front(), samples[samples.size() / 2]};
}

std::size_t sink = 0;

void report_parse(const char* heap, const std::string& offers) {
    const Timing full = measure(30, [&] {
        auto e = parse_event(offers);
        sink += e.ok() ? std::get<Event::Offers>(e->body).offers.size() : 0;
    });
    const Timing tape = measure(30, [&] { sink += json::parse_json(offers).ok(); });
    std::printf(
        "parse_event OFFERS x1000 (%zu bytes), %s heap: min %.0f us, median %.0f us "
        "(JSON tape alone: min %.0f us)\n",
        offers.size(), heap, full.min_us, full.median_us, tape.min_us);
}

}  // namespace

int main() {
    const std::string offers = to_json(testing::offers_event(1000));
    report_parse("default", offers);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    report_parse("warm", offers);

    const Call accept = testing::accept_call(50);
    const Timing write = measure(2000, [&] { sink += to_json(accept).size(); });
    const std::string accept_json = to_json(accept);
    const Timing parse = measure(500, [&] { sink += parse_call(accept_json).ok(); });
    std::printf(
        "to_json     ACCEPT with 50 Docker tasks (%zu bytes): min %.1f us, median %.1f us\n",
        accept_json.size(), write.min_us, write.median_us);
    std::printf("parse_call  ACCEPT with 50 Docker tasks: min %.1f us, median %.1f us\n",
                parse.min_us, parse.median_us);

    // First fit of 10,000 small tasks (cpus, mem, 1 port) over 1,000 offers
    // with contains()/subtract()/choose_ports(), the building blocks a matcher
    // would use.
    const Event event = testing::offers_event(1000);
    const auto& offered = std::get<Event::Offers>(event.body).offers;
    const Timing fit = measure(5, [&] {
        std::vector<std::vector<Resource>> left;
        left.reserve(offered.size());
        for (const auto& o : offered)
            left.push_back(o.resources);
        std::vector<Resource> need = {testing::offered_scalar("cpus", 0.25),
                                      testing::offered_scalar("mem", 512)};
        std::size_t placed = 0;
        std::size_t cursor = 0;
        for (int task = 0; task < 10000; ++task) {
            for (std::size_t tries = 0; tries < left.size(); ++tries) {
                auto& l = left[cursor];
                if (contains(l, need)) {
                    auto port = choose_ports(l, 1);
                    if (port && subtract(l, need) && subtract(l, *port)) {
                        ++placed;
                        break;
                    }
                }
                cursor = (cursor + 1) % left.size();
            }
        }
        sink += placed;
    });
    std::printf("first fit of 10,000 tasks over 1,000 offers: min %.0f us, median %.0f us\n",
                fit.min_us, fit.median_us);
    return sink == 0;
}
