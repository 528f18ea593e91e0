// The weekly digests' part of the reminder planner (convene/reminder_plan.h states the
// rules; scheduler/digest.cpp applies them). Internal: plan_reminders calls it.
#pragma once

#include <functional>
#include <vector>

#include "convene/reminder_plan.h"

namespace convene::plan_internal {

// The sessions a change touched, as the planner's notices see them (within the
// community's notice horizon after the change).
using TouchedSessions = std::function<std::vector<NoticeSession>(const AuditRecord&)>;

// Adds to `plan` the digests due at in.now (each member's, at most one), the waiting
// digests no longer wanted as withdrawals (with a log line for those dropped late), and
// the next digest's due time to next_wake. `sessions` is the planner's expansion (it
// covers kDigestSpan after now).
void plan_digests(const ReminderPlanInput& in, const std::vector<Occurrence>& sessions, const TouchedSessions& touched,
                  ReminderPlan& plan);

}  // namespace convene::plan_internal
