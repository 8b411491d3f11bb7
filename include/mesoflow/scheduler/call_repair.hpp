// What a call's failure sets off. Pure: the call's type and what became of
// it go in, the repair comes back; the runtime carries it out.
//
// A call the master took (2xx) needs nothing. Otherwise, by what the master
// may have done with it:
//   refused   an answer other than 2xx: the master did not take it (Mesos
//             answers 202 once it takes a call, and refuses before acting)
//   not_sent  no byte of it was written (no connection, the stream ended
//             while it was queued, the queue was full)
//   unknown   written, wholly or in part, and no answer came: the master may
//             or may not have acted on it
//
// The repairs:
//   resend     DECLINE, ACKNOWLEDGE, KILL, RECONCILE and the other calls the
//              master may take twice without harm: the same call again after
//              a back-off (kCallRetryMin, doubling to kCallRetryMax), while
//              the subscription it was made for lives (offers, stream ids and
//              the gate's state die with it; the next subscription starts
//              over with reconciliation)
//   gate       REVIVE and SUPPRESS: the offer gate sends its current intent
//              again after its back-off (a REVIVE answered 503 must not leave
//              the framework suppressed; a stale SUPPRESS must not undo a
//              later REVIVE)
//   reconcile_unlaunched  an ACCEPT the master never took: its tasks never
//              launched; they are reconciled (task id and agent), and an
//              answer that Mesos does not know them sends them back to
//              pending with the attempt not counted
//   reconcile_in_doubt    an ACCEPT that may have been taken: never sent
//              again; its tasks are reconciled, and what the master answers
//              decides (alive: it runs on; unknown: the retry policy)
//
// resend_safe says which calls the master client may write again after part
// of them went out on a connection that died.
#pragma once

#include <chrono>

#include "mesoflow/mesos/types.hpp"

namespace mesoflow::scheduler {

inline constexpr std::chrono::milliseconds kCallRetryMin{100};
inline constexpr std::chrono::milliseconds kCallRetryMax{5000};

enum class CallOutcome { taken, refused, not_sent, unknown };

// status: the HTTP status, 0 when no answer came; written: some of the
// request went out.
CallOutcome classify_call(int status, bool written);

enum class CallRepair { none, resend, gate, reconcile_unlaunched, reconcile_in_doubt };

struct CallFailure {
    CallRepair repair = CallRepair::none;
    std::chrono::milliseconds wait{0};  // resend: how long to wait first
    std::chrono::milliseconds next_backoff{kCallRetryMin};

    bool operator==(const CallFailure&) const = default;
};

// backoff: the call's current back-off (kCallRetryMin the first time).
CallFailure on_call_failed(mesos::CallType type, CallOutcome outcome,
                           std::chrono::milliseconds backoff = kCallRetryMin);

// The master may take the call twice without harm.
bool resend_safe(mesos::CallType type);

}  // namespace mesoflow::scheduler
