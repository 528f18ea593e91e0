// The target kinds built here, behind make_target() (convene/invite.h).
#pragma once

#include <memory>
#include <optional>

#include "convene/cloud.h"
#include "convene/invite.h"

namespace convene::invite {

std::unique_ptr<Target> make_email_target(const EmailSettings& settings, std::optional<Secret> password);
std::unique_ptr<Target> make_caldav_target(const CaldavSettings& settings, std::optional<Secret> password);
// The service-account file is read (0600) and checked now: nullptr with `error` when it cannot be used.
std::unique_ptr<Target> make_google_target(const cloud::GoogleSettings& settings, const SecretKey* key,
                                           std::string& error);
// The client secret is resolved (0600) now: nullptr with `error` when it cannot be.
std::unique_ptr<Target> make_graph_target(const cloud::GraphSettings& settings, const SecretKey* key,
                                          std::string& error);

}  // namespace convene::invite
