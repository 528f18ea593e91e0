// The webhook channels of reminders (private to integrations/remind): a member's
// ("member:ID") and a community's ("channel:NAME"), their outbox rows and their URLs.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convene/reminder_plan.h"
#include "convene/secrets.h"
#include "convene/store.h"
#include "convene/views.h"

namespace convene::remind {

// A member's channel that posts to their webhook.
inline constexpr std::string_view kWebhookChannel = "webhook";

// The outbox recipient of a member's webhook, and of a community channel's: names, never
// the URL.
std::string member_recipient(std::string_view member);
std::string channel_recipient(std::string_view channel);

// The outbox row of a planned message posted to a webhook: no target, the JSON body as its
// payload (webhook::body of the words), the Idempotency-Key as its message id.
OutboxMessage webhook_row(const PlannedMessage& p, std::string recipient, const views::MessageText& text);

// Where a pass's webhook rows go: the URL of a recipient, unsealed with the key file.
class WebhookBook {
 public:
  WebhookBook(std::filesystem::path key_file, std::vector<ChannelInfo> channels);
  // The URL, or nullopt with `error` saying why (naming the member or channel, never
  // the URL); `gone` is set when the member or channel no longer exists.
  std::optional<std::string> url(const std::string& recipient, const std::map<std::string, Member>& members,
                                 std::string& error, bool& gone);

 private:
  std::optional<std::string> unseal(const std::string& sealed, const std::string& whose, std::string& error);
  std::filesystem::path key_file_;
  std::vector<ChannelInfo> channels_;
  std::optional<SecretKey> key_;
  std::string key_error_;
  bool opened_ = false;
};

}  // namespace convene::remind
