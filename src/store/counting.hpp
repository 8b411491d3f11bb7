// SQL shared by the statements that count the queue without reading all of
// it: TaskStore::pending_look (every poll), TaskStore::queue_summaries
// (`mesoflow status`, `mesoflow queue list`, the status page) and
// TaskStore::counts_by_state.
#pragma once

#include <fmt/core.h>

#include <string>

namespace mesoflow::store {

// Two CTEs for a WITH RECURSIVE: `names`, the queues with pending rows (a
// skip scan of tasks_pending_by_queue: one index descent per queue), and
// `waiting`, each queue's first $<cap_param> pending rows in its claim order,
// counted from the index alone (pending: due now, backoff: not before a later
// time, due: due and no kill requested, next_retry, seen, and capped when
// the queue holds at least that many). A million pending rows cost the first
// $<cap_param> of each queue, not a pass over all of them.
inline std::string pending_by_queue_ctes(int cap_param) {
    return fmt::format(
        "names(queue) AS ("
        "  (SELECT queue FROM mesoflow.tasks WHERE phase = 'pending' ORDER BY queue LIMIT 1)"
        "  UNION ALL"
        "  SELECT (SELECT t.queue FROM mesoflow.tasks t WHERE t.phase = 'pending'"
        "    AND t.queue > n.queue ORDER BY t.queue LIMIT 1)"
        "  FROM names n WHERE n.queue IS NOT NULL"
        "), waiting AS ("
        "  SELECT n.queue, w.pending, w.backoff, w.due, w.next_retry, w.seen,"
        "    w.seen >= ${0} AS capped"
        "  FROM names n CROSS JOIN LATERAL ("
        "    SELECT count(*) FILTER (WHERE s.not_before <= now()) AS pending,"
        "      count(*) FILTER (WHERE s.not_before > now()) AS backoff,"
        "      count(*) FILTER (WHERE s.not_before <= now() AND NOT s.kill_requested) AS due,"
        "      min(s.not_before) FILTER (WHERE s.not_before > now() AND NOT s.kill_requested)"
        "        AS next_retry,"
        "      count(*) AS seen"
        "    FROM (SELECT t.not_before, t.kill_requested FROM mesoflow.tasks t"
        "      WHERE t.phase = 'pending' AND t.queue = n.queue"
        "      ORDER BY t.priority DESC, t.created_at, t.id LIMIT ${0}) s) w"
        "  WHERE n.queue IS NOT NULL"
        ")",
        cap_param);
}

// A CTE `est` (one row, n): the rows mesoflow.tasks holds now, estimated as
// the planner does (its statistics' rows per page times its pages today);
// NULL for a table never analyzed.
inline constexpr const char* kTableRowsEstimateCte =
    "est AS ("
    "  SELECT CASE WHEN c.reltuples < 0 THEN NULL"
    "    WHEN c.relpages > 0 THEN c.reltuples / c.relpages"
    "      * (pg_relation_size(c.oid) / current_setting('block_size')::int)"
    "    ELSE c.reltuples END AS n"
    "  FROM pg_class c WHERE c.oid = 'mesoflow.tasks'::regclass"
    ")";

// A CTE `shares` (value, share): the most common values of mesoflow.tasks'
// column `column` and their shares of the table, from pg_stats.
inline std::string column_shares_cte(const char* column) {
    return fmt::format(
        "shares AS ("
        "  SELECT s.value, s.share FROM pg_stats p,"
        "    unnest(p.most_common_vals::text::text[], p.most_common_freqs) AS s(value, share)"
        "  WHERE p.schemaname = 'mesoflow' AND p.tablename = 'tasks' AND p.attname = '{}'"
        ")",
        column);
}

// A CTE list `est, shares` and, over it, the pending rows the table's
// statistics make: their rows now times the share of phase 'pending'
// (NULL for a table never analyzed).
inline std::string pending_estimate_ctes() {
    return std::string(kTableRowsEstimateCte) + ", " + column_shares_cte("phase");
}
inline constexpr const char* kPendingEstimate =
    "(SELECT round(e.n * s.share)::bigint FROM est e, shares s WHERE s.value = 'pending')";

}  // namespace mesoflow::store
