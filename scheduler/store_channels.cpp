// Community channels in the store (convene/store.h: add_channel, remove_channel,
// channels): a webhook for a whole community, its URL sealed by the caller.
#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "convene/limits.h"
#include "convene/store.h"
#include "convene/validate.h"
#include "internal/store_impl.h"
#include "internal/store_tables.h"

namespace convene {

using store_internal::offsets_to_text;
using store_internal::text_to_offsets;
using store_internal::Transaction;

namespace {

using Impl = Store::Impl;

StoreError invalid(const std::string& message) { return StoreError(StoreError::Kind::invalid, message); }

void check_name(std::string_view name) {
  if (name.empty() || name.size() > 64) throw invalid("a channel name is 1 to 64 characters");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      throw invalid("channel name " + quote_value(name) + " may hold only letters, digits and - _ .");
}

void check_offsets(const std::vector<Seconds>& offsets) {
  if (offsets.size() > kMaxReminders)
    throw invalid(std::to_string(offsets.size()) + " reminders: a channel may have at most " + std::to_string(kMaxReminders));
  for (auto o : offsets)
    if (o.count() < 0) throw invalid("the reminder offset " + format_duration(o) + " is negative (it counts before the start)");
}

// What the history shows of a channel: never its URL, sealed or not.
std::string channel_json(const ChannelSpec& spec) {
  nlohmann::ordered_json j;
  j["name"] = spec.name;
  j["community"] = spec.community;
  nlohmann::ordered_json offsets = nlohmann::ordered_json::array();
  for (auto o : spec.offsets) offsets.push_back(format_duration(o));
  j["offsets"] = std::move(offsets);
  j["webhook"] = "sealed";
  return j.dump();
}

ChannelInfo read_channel(store_internal::Statement& q) {
  ChannelInfo c;
  c.spec = {q.text(0), q.text(1), q.text(2), text_to_offsets(q.text(3))};
  c.created = Instant{Seconds{q.int64(4)}};
  return c;
}

constexpr const char* kChannelColumns = "SELECT name, community, webhook, offsets, created FROM community_channels";

std::optional<ChannelInfo> find_channel(Impl& impl, std::string_view name) {
  static const std::string sql = std::string(kChannelColumns) + " WHERE name = ?1";
  auto q = impl.db->query(sql.c_str());
  q->bind(1, name);
  if (!q->step()) return std::nullopt;
  return read_channel(*q);
}

}  // namespace

void Store::add_channel(const ChannelSpec& spec, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("add channel " + spec.name);
  check_name(spec.name);
  check_offsets(spec.offsets);
  if (spec.webhook.empty()) throw invalid("channel " + quote_value(spec.name) + " needs a webhook URL (--webhook-url)");
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Definitions defs = store_internal::load_or_throw(impl);
  if (std::none_of(defs.communities.begin(), defs.communities.end(), [&](const auto& c) { return c.id == spec.community; })) {
    std::string ids;
    for (const auto& c : defs.communities) ids += (ids.empty() ? "" : ", ") + c.id;
    throw invalid("no community " + quote_value(spec.community) + " in " + impl.options.path +
                  (ids.empty() ? "" : " (the communities: " + ids + ")"));
  }
  if (find_channel(impl, spec.name)) throw invalid("a channel " + quote_value(spec.name) + " already exists");
  auto q = impl.db->query(
      "INSERT INTO community_channels (name, community, webhook, offsets, created) VALUES (?1, ?2, ?3, ?4, ?5)");
  q->bind(1, spec.name).bind(2, spec.community).bind(3, spec.webhook).bind(4, offsets_to_text(spec.offsets));
  q->bind(5, static_cast<std::int64_t>(impl.now().time_since_epoch().count()));
  q->run();
  impl.audit_object(context, "channel add", spec.name,
                    "added channel " + spec.name + " of community " + spec.community, "null",
                    channel_json(spec));
  if (!context.dry_run) tx.commit();
}

void Store::remove_channel(std::string_view name, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("remove channel " + std::string(name));
  Transaction tx(*impl.db, Transaction::Mode::write);
  const auto c = find_channel(impl, name);
  if (!c) {
    std::string names;
    auto q = impl.db->query("SELECT name FROM community_channels ORDER BY name");
    while (q->step()) names += (names.empty() ? "" : ", ") + q->text(0);
    throw invalid("no channel " + quote_value(name) + " in " + impl.options.path +
                  (names.empty() ? " (add one with `convene channel add`)" : " (the channels: " + names + ")"));
  }
  impl.db->query("DELETE FROM community_channels WHERE name = ?1")->bind(1, name).run();
  impl.audit_object(context, "channel remove", std::string(name), "removed channel " + std::string(name),
                    channel_json(c->spec), "null");
  if (!context.dry_run) tx.commit();
}

std::vector<ChannelInfo> Store::channels() const {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  Transaction tx(*impl.db, Transaction::Mode::read);
  std::vector<ChannelInfo> out;
  static const std::string sql = std::string(kChannelColumns) + " ORDER BY name";
  auto q = impl.db->query(sql.c_str());
  while (q->step()) out.push_back(read_channel(*q));
  return out;
}

}  // namespace convene
