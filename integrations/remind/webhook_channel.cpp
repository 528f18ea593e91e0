// The webhook channels of reminders (webhook_channel.h).
#include "webhook_channel.h"

#include "convene/webhook.h"

namespace convene::remind {

namespace {
constexpr std::string_view kMemberPrefix = "member:";
constexpr std::string_view kChannelPrefix = "channel:";
}  // namespace

std::string member_recipient(std::string_view member) { return std::string(kMemberPrefix) + std::string(member); }
std::string channel_recipient(std::string_view channel) { return std::string(kChannelPrefix) + std::string(channel); }

OutboxMessage webhook_row(const PlannedMessage& p, std::string recipient, const views::MessageText& text) {
  OutboxMessage out;
  out.key = p.key;
  out.kind = std::string(to_string(p.kind));
  out.member = p.member;
  out.series = p.series;
  out.occurrence = p.occurrence;
  out.recipient = std::move(recipient);
  out.message_id = webhook::idempotency_key(p.key);
  out.payload = webhook::body(text.subject, text.text);
  out.due = p.due;
  out.not_after = p.session_start;
  return out;
}

WebhookBook::WebhookBook(std::filesystem::path key_file, std::vector<ChannelInfo> channels)
    : key_file_(std::move(key_file)), channels_(std::move(channels)) {}

std::optional<std::string> WebhookBook::url(const std::string& recipient, const std::map<std::string, Member>& members,
                                            std::string& error, bool& gone) {
  const std::string_view r(recipient);
  gone = false;
  if (r.starts_with(kMemberPrefix)) {
    const std::string id(r.substr(kMemberPrefix.size()));
    const auto it = members.find(id);
    if (it == members.end()) {
      error = "member " + id + " is gone";
      gone = true;
      return std::nullopt;
    }
    if (it->second.reminders.webhook.empty()) {
      error = "member " + id + " has no webhook URL (convene member set " + id + " --webhook-url URL)";
      return std::nullopt;
    }
    return unseal(it->second.reminders.webhook, "member " + id, error);
  }
  if (r.starts_with(kChannelPrefix)) {
    const std::string name(r.substr(kChannelPrefix.size()));
    for (const auto& c : channels_)
      if (c.spec.name == name) return unseal(c.spec.webhook, "channel " + name, error);
    error = "channel " + name + " is gone";
    gone = true;
    return std::nullopt;
  }
  error = "no webhook for " + recipient;
  return std::nullopt;
}

std::optional<std::string> WebhookBook::unseal(const std::string& sealed, const std::string& whose, std::string& error) {
  if (!opened_) {
    opened_ = true;
    if (key_file_.empty()) {
      key_error_ = "no key file (the store's path + \".key\", or $CONVENE_KEY_FILE) to unseal it";
    } else {
      auto opened = SecretKey::open(key_file_);
      if (opened.key) key_.emplace(*opened.key);
      else key_error_ = opened.error;
    }
  }
  if (!key_) {
    error = "the webhook URL of " + whose + ": " + key_error_;
    return std::nullopt;
  }
  auto r = key_->unseal(sealed);
  if (!r.secret) {
    error = "the webhook URL of " + whose + ": " + r.error;
    return std::nullopt;
  }
  return r.secret->reveal();
}

}  // namespace convene::remind
