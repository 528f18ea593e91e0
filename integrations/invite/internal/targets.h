// The target kinds built here, behind make_target() (convene/invite.h).
#pragma once

#include <memory>
#include <optional>

#include "convene/invite.h"

namespace convene::invite {

std::unique_ptr<Target> make_email_target(const EmailSettings& settings, std::optional<Secret> password);
std::unique_ptr<Target> make_caldav_target(const CaldavSettings& settings, std::optional<Secret> password);

}  // namespace convene::invite
