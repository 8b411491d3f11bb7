#include "history_codes.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "mesoflow/mesos/base64.hpp"

namespace mesoflow::store::history {

const std::vector<std::string_view>& names() {
    // mesoflow.history_names(), in the same order.
    static const std::vector<std::string_view> list = {
        "launch",        "update",           "kill_requested", "timed_out",
        "refused",       "pending",          "launching",      "staging",
        "starting",      "running",          "killing",        "finished",
        "failed",        "killed",           "lost",           "error",
        "applied",       "duplicate",        "stale",          "stale_attempt_alive",
        "unknown_task",  "unsettled",        "row_locked",     "TASK_STAGING",
        "TASK_STARTING", "TASK_RUNNING",     "TASK_KILLING",   "TASK_FINISHED",
        "TASK_FAILED",   "TASK_KILLED",      "TASK_ERROR",     "TASK_LOST",
        "TASK_DROPPED",  "TASK_UNREACHABLE", "TASK_GONE",      "TASK_GONE_BY_OPERATOR",
        "TASK_UNKNOWN",  "SOURCE_MASTER",    "SOURCE_AGENT",   "SOURCE_EXECUTOR"};
    return list;
}

std::optional<int> code_of(std::string_view name) {
    const auto& list = names();
    const auto found = std::find(list.begin(), list.end(), name);
    if (found == list.end())
        return std::nullopt;
    return static_cast<int>(found - list.begin()) + 1;
}

std::string code_sql(std::string_view name) {
    return std::to_string(code_of(name).value()) + "::smallint";
}

std::optional<int> agent_code(const AgentCodes& codes, const std::string& agent) {
    const auto found = codes.find(agent);
    if (found == codes.end() || found->second == 0)
        return std::nullopt;
    return found->second;
}

std::optional<std::string> uuid_of_base64(std::string_view base64) {
    const auto bytes = mesos::base64_decode(base64);
    if (!bytes || bytes->size() != mesos::kUuidBytes || mesos::base64_encode(*bytes) != base64)
        return std::nullopt;
    std::string out;
    out.reserve(36);
    char hex[3];
    for (std::size_t i = 0; i < bytes->size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out += '-';
        std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>((*bytes)[i]));
        out += hex;
    }
    return out;
}

namespace {

// The civil date of a day counted from 1970-01-01 (proleptic Gregorian; year
// 0 is 1 BC).
void civil_from_days(long long days, long long& year, unsigned& month, unsigned& day) {
    days += 719468;
    const long long era = (days >= 0 ? days : days - 146096) / 146097;
    const auto doe = static_cast<unsigned>(days - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    day = doy - (153 * mp + 2) / 5 + 1;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = static_cast<long long>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

}  // namespace

std::optional<std::string> timestamp_text(double unix_seconds) {
    // As to_timestamp: to PostgreSQL's epoch (2000-01-01), then rounded to
    // the microsecond; none outside 4714-11-24 BC to 294277 AD (which
    // to_timestamp refuses), nor for NaN or an infinity (no time an agent
    // could have seen).
    constexpr double kPgEpoch = 946684800.0;
    constexpr double kFirstSecond = -210866803200.0;     // 4714-11-24 00:00 BC, Unix time
    constexpr double kPastLastSecond = 9224318016000.0;  // 294277-01-01 00:00, Unix time
    if (!std::isfinite(unix_seconds) || unix_seconds < kFirstSecond ||
        unix_seconds >= kPastLastSecond) {
        return std::nullopt;
    }
    // Microseconds from 2000-01-01 (they fit in 64 bits; from 1970 they
    // would not at the end of the range).
    const auto pg_us = static_cast<long long>(std::rint((unix_seconds - kPgEpoch) * 1e6));
    constexpr long long kDayUs = 86400LL * 1000000LL;
    constexpr long long kPgEpochDays = 10957;  // 2000-01-01 from 1970-01-01
    long long days = pg_us / kDayUs;
    long long in_day = pg_us % kDayUs;
    if (in_day < 0) {
        in_day += kDayUs;
        --days;
    }
    days += kPgEpochDays;
    long long year = 0;
    unsigned month = 0, day = 0;
    civil_from_days(days, year, month, day);
    const long long seconds = in_day / 1000000;
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00{}", year > 0 ? year : 1 - year,
                       month, day, seconds / 3600, seconds / 60 % 60, seconds % 60,
                       in_day % 1000000, year > 0 ? "" : " BC");
}

DerivedIds derive_ids(std::optional<long long> task_id, std::optional<int> attempt,
                      const std::optional<std::string>& mesos_task_id,
                      const std::optional<std::string>& executor_id) {
    DerivedIds out{0, mesos_task_id, executor_id};
    if (task_id && attempt && mesos_task_id &&
        *mesos_task_id == "mf-" + std::to_string(*task_id) + "-" + std::to_string(*attempt)) {
        out.derived |= 1;
        out.mesos_task_id.reset();
    }
    if (executor_id && mesos_task_id && *executor_id == *mesos_task_id) {
        out.derived |= 2;
        out.executor_id.reset();
    }
    return out;
}

CodedNames code_names(const std::optional<std::string>& mesos_state,
                      const std::optional<std::string>& outcome,
                      const std::optional<std::string>& from_state,
                      const std::optional<std::string>& to_state,
                      const std::optional<std::string>& source) {
    CodedNames out;
    nlohmann::json unlisted = nlohmann::json::object();
    const auto code = [&](const char* column, const std::optional<std::string>& name) {
        if (!name)
            return std::optional<int>();
        auto c = code_of(*name);
        if (!c)
            unlisted[column] = *name;
        return c;
    };
    out.mesos_state = code("mesos_state", mesos_state);
    out.outcome = code("outcome", outcome);
    out.from_state = code("from_state", from_state);
    out.to_state = code("to_state", to_state);
    out.source = code("source", source);
    if (!unlisted.empty())
        out.unlisted = unlisted.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return out;
}

}  // namespace mesoflow::store::history
