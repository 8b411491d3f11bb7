// The history's stored form (mesoflow.task_events): what mesoflow writes on
// its hot paths goes to the table coded, as the task_history view's INSERT
// rule would code it, without the rule's per-row work. A name is its place
// in mesoflow.history_names() (append only; the list here is the same, a
// test compares them); a name without a code is kept in `unlisted`; a
// Mesos task id that is 'mf-<task>-<attempt>' and an executor id equal to
// it are left out (`derived`); a numbered agent is its code; a uuid in
// base64 as PostgreSQL writes it is stored as a uuid.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mesoflow::store::history {

// Every name with a code, in code order (code = index + 1).
const std::vector<std::string_view>& names();

// The name's code, nullopt when it has none.
std::optional<int> code_of(std::string_view name);

// A code as an SQL smallint literal, for statements built once; the name
// must have a code.
std::string code_sql(std::string_view name);

// Agent id -> its code in mesoflow.agent_codes, as a TaskStore learnt them
// (0: asked, none).
using AgentCodes = std::unordered_map<std::string, int>;
std::optional<int> agent_code(const AgentCodes& codes, const std::string& agent);

// The hot paths' COPY into mesoflow.task_events (status updates, launches):
// its columns, in the order their rows are written.
inline constexpr const char* kCopyEvents =
    "COPY mesoflow.task_events (task_id, attempt, mesos_task_id, kind, mesos_state, outcome,"
    " from_state, to_state, reason, source, message, agent_id, executor_id, status_time, uuid,"
    " healthy, note, derived, unlisted, agent_code, status_uuid) FROM STDIN";

// The uuid in PostgreSQL's text form when `base64` is the base64 of 16
// bytes exactly as PostgreSQL's encode() writes it back; nullopt otherwise
// (it is then stored as text).
std::optional<std::string> uuid_of_base64(std::string_view base64);

// What PostgreSQL's to_timestamp(unix_seconds) gives, in the text a
// timestamptz column reads (UTC); nullopt for a value it refuses (NaN, out
// of range) and for an infinity: stored as NULL, so that an agent's
// nonsense time never keeps its update from being recorded.
std::optional<std::string> timestamp_text(double unix_seconds);

// The `derived` bits of a row and the ids it stores (nullopt: left out).
struct DerivedIds {
    int derived = 0;
    std::optional<std::string> mesos_task_id;
    std::optional<std::string> executor_id;
};
DerivedIds derive_ids(std::optional<long long> task_id, std::optional<int> attempt,
                      const std::optional<std::string>& mesos_task_id,
                      const std::optional<std::string>& executor_id);

// The five name columns of a row coded: each its code, or none and the name
// in `unlisted` (a JSON object, nullopt when empty).
struct CodedNames {
    std::optional<int> mesos_state, outcome, from_state, to_state, source;
    std::optional<std::string> unlisted;
};
CodedNames code_names(const std::optional<std::string>& mesos_state,
                      const std::optional<std::string>& outcome,
                      const std::optional<std::string>& from_state,
                      const std::optional<std::string>& to_state,
                      const std::optional<std::string>& source);

}  // namespace mesoflow::store::history
