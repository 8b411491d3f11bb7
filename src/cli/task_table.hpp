// Text views of tasks for `mesoflow status`: the list as an aligned table,
// one task with its whole history, and the totals by state. Pure functions of
// their inputs (`now_us` is passed in), so the layout is testable. Text from
// producers and agents is shown through escape_controls (common/text.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mesoflow/store/task_view.hpp"

namespace mesoflow::cli {

// Messages are cut to this many characters in the list.
inline constexpr std::size_t kListMessageWidth = 60;

// "2026-11-25 07:14:14.123Z"
std::string format_time_utc(std::int64_t us);
// How long ago: "4s", "12m", "3h", "2d".
std::string format_age(std::int64_t now_us, std::int64_t then_us);

std::string render_task_table(const std::vector<store::TaskRow>& tasks, std::int64_t now_us);
// `waiting`: why it has not launched yet (mesoflow.pending_reasons), if so.
std::string render_task_detail(const store::TaskRow& task,
                               const std::vector<store::HistoryEntry>& history,
                               const std::optional<store::PendingReason>& waiting = {});
// "12 tasks: 3 pending, 2 running, 7 finished" (states with none left out).
std::string render_counts(std::vector<store::StateCount> counts);
// The queues, one line each: settings, tasks by where they stand, usage,
// and why the ones not launched yet wait (`reasons`, of every queue).
std::string render_queue_table(const std::vector<store::QueueSummary>& queues,
                               const std::vector<store::ReasonCount>& reasons);
// One queue's settings, one line each.
std::string render_queue_settings(const store::QueueSettings& queue);

}  // namespace mesoflow::cli
