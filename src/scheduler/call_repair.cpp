#include "mesoflow/scheduler/call_repair.hpp"

#include <algorithm>

namespace mesoflow::scheduler {

CallOutcome classify_call(int status, bool written) {
    if (status >= 200 && status < 300)
        return CallOutcome::taken;
    if (status != 0)
        return CallOutcome::refused;
    return written ? CallOutcome::unknown : CallOutcome::not_sent;
}

bool resend_safe(mesos::CallType type) {
    switch (type) {
        case mesos::CallType::decline:
        case mesos::CallType::revive:
        case mesos::CallType::suppress:
        case mesos::CallType::kill:
        case mesos::CallType::acknowledge:
        case mesos::CallType::acknowledge_operation_status:
        case mesos::CallType::reconcile:
        case mesos::CallType::reconcile_operations:
        case mesos::CallType::decline_inverse_offers:
            return true;
        default:
            // ACCEPT launches; TEARDOWN, SHUTDOWN, MESSAGE and the rest are
            // not mesoflow's to repeat blindly.
            return false;
    }
}

CallFailure on_call_failed(mesos::CallType type, CallOutcome outcome,
                           std::chrono::milliseconds backoff) {
    CallFailure f;
    f.next_backoff = backoff;
    if (outcome == CallOutcome::taken)
        return f;
    switch (type) {
        case mesos::CallType::accept:
            f.repair = outcome == CallOutcome::unknown ? CallRepair::reconcile_in_doubt
                                                       : CallRepair::reconcile_unlaunched;
            return f;
        case mesos::CallType::revive:
        case mesos::CallType::suppress:
            f.repair = CallRepair::gate;
            return f;
        default:
            break;
    }
    if (!resend_safe(type))
        return f;
    f.repair = CallRepair::resend;
    f.wait = std::clamp(backoff, kCallRetryMin, kCallRetryMax);
    f.next_backoff = std::min(f.wait * 2, kCallRetryMax);
    return f;
}

}  // namespace mesoflow::scheduler
