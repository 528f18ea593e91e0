// Members: their details, reminder preferences, subscriptions and private feed tokens.
// A token is shown once (at `member add` and `rotate-token`); the store keeps only its
// SHA-256, and finds a member by comparing hashes in constant time.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "convene/store.h"
#include "convene/limits.h"
#include "convene/validate.h"
#include "internal/definitions_text.h"
#include "internal/store_crypto.h"
#include "internal/store_impl.h"
#include "internal/store_tables.h"

namespace convene {

using store_internal::offsets_to_text;
using store_internal::text_to_offsets;
using store_internal::Transaction;

namespace {

using Impl = Store::Impl;

std::string quote(std::string_view s) { return quote_value(s); }
std::int64_t unix_seconds(Instant at) { return static_cast<std::int64_t>(at.time_since_epoch().count()); }

StoreError invalid(const std::string& message) { return StoreError(StoreError::Kind::invalid, message); }

void check_id(std::string_view id) {
  if (id.empty()) throw invalid("a member id must not be empty");
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '@')
      throw invalid("member id " + quote(id) + " may hold only letters, digits and - _ . @");
  }
}

void check_email(std::string_view email) {
  if (auto why = email_problem(email)) throw invalid("email: " + *why);
}

void check_timezone(const std::optional<std::string>& tz) {
  if (!tz || find_zone(*tz)) return;
  std::string message = "unknown time zone " + quote(*tz);
  const auto near = definitions_internal::nearest_zones(*tz);
  if (!near.empty()) {
    message += "; did you mean ";
    for (std::size_t i = 0; i < near.size(); ++i) message += (i ? " or " : "") + quote(near[i]);
    message += "?";
  }
  throw invalid(message + " (an IANA name such as \"America/New_York\")");
}

void check_reminders(const std::vector<Seconds>& offsets, const std::string& channel, const std::string& webhook) {
  if (channel == "webhook" && webhook.empty())
    throw invalid("the reminder channel \"webhook\" needs the member's webhook URL (--webhook-url)");
  if (offsets.size() > kMaxReminders)
    throw invalid(std::to_string(offsets.size()) + " reminders: a member may have at most " + std::to_string(kMaxReminders));
  for (auto o : offsets) {
    if (o.count() < 0) throw invalid("the reminder offset " + format_duration(o) + " is negative (it counts before the start)");
  }
  for (auto c : kReminderChannels)
    if (c == channel) return;
  std::string names;
  for (auto c : kReminderChannels) names += (names.empty() ? "" : ", ") + std::string(c);
  throw invalid("unknown reminder channel " + quote(channel) + " (one of " + names + ")");
}

std::optional<Member> read_member(Impl& impl, std::string_view id) {
  auto q = impl.db->query(
      "SELECT m.id, m.name, m.email, m.timezone, m.reminder_offsets, m.reminder_channel, m.created, "
      "t.created, m.delivery, m.digest, m.reminder_webhook FROM members m LEFT JOIN member_tokens t ON t.member = m.id WHERE m.id = ?1");
  q->bind(1, id);
  if (!q->step()) return std::nullopt;
  Member m;
  m.id = q->text(0);
  m.name = q->text(1);
  m.email = q->text(2);
  m.timezone = q->optional_text(3);
  if (m.timezone) m.zone = find_zone(*m.timezone);
  m.reminders.offsets = text_to_offsets(q->text(4));
  m.reminders.channel = q->text(5);
  m.created = Instant{Seconds{q->int64(6)}};
  if (auto t = q->optional_int64(7)) m.token_created = Instant{Seconds{*t}};
  m.delivery = parse_delivery(q->text(8)).value_or(Delivery::feed);
  m.digest = parse_digest_time(q->text(9));
  m.reminders.webhook = q->text(10);
  return m;
}

Member require_member(Impl& impl, std::string_view id) {
  if (auto m = read_member(impl, id)) return *m;
  std::vector<std::string> ids;
  auto q = impl.db->query("SELECT id FROM members ORDER BY id");
  while (q->step()) ids.push_back(q->text(0));
  std::string message = "no member " + quote(id) + " in " + impl.options.path;
  if (auto near = definitions_internal::nearest(id, ids)) message += "; did you mean " + quote(*near) + "?";
  throw invalid(message);
}

std::string issue_token(Impl& impl, std::string_view member, Instant at) {
  const std::string token = store_internal::new_token();
  const auto hash = store_internal::sha256(token);
  std::int64_t lookup = 0;
  for (int i = 0; i < 8; ++i) lookup = (lookup << 8) | hash[static_cast<std::size_t>(i)];
  auto q = impl.db->query(
      "INSERT INTO member_tokens (member, lookup, hash, created) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (member) DO UPDATE SET lookup = excluded.lookup, hash = excluded.hash, "
      "created = excluded.created");
  q->bind(1, member).bind(2, lookup).bind_blob(3, hash.data(), hash.size()).bind(4, unix_seconds(at));
  q->run();
  return token;
}

std::string member_json(const Member& m) {
  nlohmann::ordered_json j;
  j["id"] = m.id;
  j["name"] = m.name;
  j["email"] = m.email;
  j["timezone"] = m.timezone ? nlohmann::ordered_json(*m.timezone) : nullptr;
  nlohmann::ordered_json offsets = nlohmann::ordered_json::array();
  for (auto o : m.reminders.offsets) offsets.push_back(format_duration(o));
  j["reminders"] = {{"offsets", offsets}, {"channel", m.reminders.channel}};
  // Whether a webhook is kept, never the URL (the history shows this JSON).
  if (!m.reminders.webhook.empty()) j["reminders"]["webhook"] = "sealed";
  j["delivery"] = std::string(to_string(m.delivery));
  if (m.digest) j["digest"] = format_digest_time(*m.digest);
  return j.dump();
}

// "series"/"community" targets must exist in the definitions.
void check_target(Impl& impl, const Subscription& s) {
  auto loaded = store_internal::read_definitions(*impl.db, impl.source);
  if (!loaded.ok()) throw StoreError(StoreError::Kind::corrupt, impl.options.path + " holds definitions this convene cannot use");
  const Definitions& defs = *loaded.definitions;
  std::vector<std::string> ids;
  if (s.kind == Subscription::Kind::series) {
    if (defs.find_series(s.target).second) return;
    for (const auto& c : defs.communities)
      for (const auto& x : c.series) ids.push_back(x.id);
  } else {
    for (const auto& c : defs.communities) {
      if (c.id == s.target) return;
      ids.push_back(c.id);
    }
  }
  const char* kind = s.kind == Subscription::Kind::series ? "series" : "community";
  std::string message = std::string("no ") + kind + " " + quote(s.target) + " in " + defs.source;
  if (auto near = definitions_internal::nearest(s.target, ids)) message += "; did you mean " + quote(*near) + "?";
  throw invalid(message);
}

const char* kind_name(Subscription::Kind k) { return k == Subscription::Kind::series ? "series" : "community"; }

}  // namespace

std::string_view to_string(Delivery delivery) { return delivery == Delivery::invite ? "invite" : "feed"; }

std::optional<Delivery> parse_delivery(std::string_view text) {
  if (text == "feed") return Delivery::feed;
  if (text == "invite") return Delivery::invite;
  return std::nullopt;
}

namespace {
// RFC 5545's weekday codes, Sunday first (date::weekday's numbering).
constexpr std::string_view kWeekdayCodes[] = {"SU", "MO", "TU", "WE", "TH", "FR", "SA"};
}  // namespace

std::optional<DigestTime> parse_digest_time(std::string_view text) {
  // "MO 07:00": exactly a code, one space, HH:MM.
  if (text.size() != 8 || text[2] != ' ' || text[5] != ':') return std::nullopt;
  std::string code{text.substr(0, 2)};
  for (char& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(text[i])) != 0; };
  if (!digit(3) || !digit(4) || !digit(6) || !digit(7)) return std::nullopt;
  const int hours = (text[3] - '0') * 10 + (text[4] - '0'), minutes = (text[6] - '0') * 10 + (text[7] - '0');
  if (hours > 23 || minutes > 59) return std::nullopt;
  for (unsigned d = 0; d < 7; ++d)
    if (kWeekdayCodes[d] == code) return DigestTime{date::weekday{d}, std::chrono::hours{hours} + std::chrono::minutes{minutes}};
  return std::nullopt;
}

std::string format_digest_time(const DigestTime& digest) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(digest.time_of_day).count();
  char buf[16];
  std::snprintf(buf, sizeof buf, " %02d:%02d", static_cast<int>(minutes / 60), static_cast<int>(minutes % 60));
  return std::string(kWeekdayCodes[digest.day.c_encoding()]) + buf;
}

IssuedToken Store::add_member(const MemberSpec& spec, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("add member " + spec.id);
  check_id(spec.id);
  check_email(spec.email);
  if (auto why = text_problem(spec.name)) throw invalid("name: " + *why);
  check_timezone(spec.timezone);
  check_reminders(spec.reminders.offsets, spec.reminders.channel, spec.reminders.webhook);
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Instant at = impl.now();
  if (read_member(impl, spec.id)) throw invalid("a member " + quote(spec.id) + " already exists");
  auto q = impl.db->query(
      "INSERT INTO members (id, name, email, timezone, reminder_offsets, reminder_channel, created, digest, "
      "reminder_webhook) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  q->bind(1, spec.id).bind(2, spec.name.empty() ? spec.id : spec.name).bind(3, spec.email).bind(4, spec.timezone);
  q->bind(5, offsets_to_text(spec.reminders.offsets)).bind(6, spec.reminders.channel).bind(7, unix_seconds(at));
  q->bind(8, spec.digest ? format_digest_time(*spec.digest) : std::string());
  q->bind(9, spec.reminders.webhook);
  q->run();
  IssuedToken issued;
  issued.token = issue_token(impl, spec.id, at);
  issued.member = *read_member(impl, spec.id);
  impl.audit_object(context, "member add", spec.id, "added member " + spec.id + " (" + spec.email + ")", "null",
                    member_json(issued.member), at);
  if (!context.dry_run) tx.commit();
  return issued;
}

void Store::remove_member(std::string_view id, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("remove member " + std::string(id));
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Instant at = impl.now();
  const Member m = require_member(impl, id);
  impl.db->query("DELETE FROM members WHERE id = ?1")->bind(1, id).run();
  impl.audit_object(context, "member remove", id, "removed member " + std::string(id) + " (token revoked)",
                    member_json(m), "null", at);
  if (!context.dry_run) tx.commit();
}

Member Store::update_member(std::string_view id, const MemberUpdate& u, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("change member " + std::string(id));
  if (u.email) check_email(*u.email);
  if (auto why = u.name ? text_problem(*u.name) : std::nullopt) throw invalid("name: " + *why);
  if (u.timezone) check_timezone(*u.timezone);
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Instant at = impl.now();
  const Member before = require_member(impl, id);
  Member m = before;
  if (u.name) m.name = *u.name;
  if (u.email) m.email = *u.email;
  if (u.timezone) m.timezone = *u.timezone;
  if (u.reminder_offsets) m.reminders.offsets = *u.reminder_offsets;
  if (u.reminder_channel) m.reminders.channel = *u.reminder_channel;
  if (u.reminder_webhook) m.reminders.webhook = *u.reminder_webhook;
  if (u.delivery) m.delivery = *u.delivery;
  if (u.digest) m.digest = *u.digest;
  check_reminders(m.reminders.offsets, m.reminders.channel, m.reminders.webhook);
  if (member_json(m) == member_json(before) && m.reminders.webhook == before.reminders.webhook) return before;
  auto q = impl.db->query(
      "UPDATE members SET name = ?2, email = ?3, timezone = ?4, reminder_offsets = ?5, "
      "reminder_channel = ?6, delivery = ?7, digest = ?8, reminder_webhook = ?9 WHERE id = ?1");
  q->bind(1, id).bind(2, m.name).bind(3, m.email).bind(4, m.timezone);
  q->bind(5, offsets_to_text(m.reminders.offsets)).bind(6, m.reminders.channel);
  q->bind(7, std::string(to_string(m.delivery)));
  q->bind(8, m.digest ? format_digest_time(*m.digest) : std::string());
  q->bind(9, m.reminders.webhook);
  q->run();
  impl.audit_object(context, "member set", id, "changed member " + std::string(id), member_json(before),
                    member_json(m), at);
  m = *read_member(impl, id);
  if (!context.dry_run) tx.commit();
  return m;
}

IssuedToken Store::rotate_token(std::string_view id, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("rotate the token of " + std::string(id));
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Instant at = impl.now();
  require_member(impl, id);
  IssuedToken issued;
  issued.token = issue_token(impl, id, at);
  issued.member = *read_member(impl, id);
  impl.audit_object(context, "member rotate-token", id,
                    "issued a new feed token to " + std::string(id) + "; the old one no longer works", "null",
                    "null", at);
  if (!context.dry_run) tx.commit();
  return issued;
}

std::optional<Member> Store::member(std::string_view id) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  return read_member(*impl_, id);
}

std::vector<Member> Store::members() const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  std::vector<std::string> ids;
  {
    auto q = impl_->db->query("SELECT id FROM members ORDER BY id");
    while (q->step()) ids.push_back(q->text(0));
  }
  std::vector<Member> out;
  for (const auto& id : ids) out.push_back(*read_member(*impl_, id));
  return out;
}

std::optional<Member> Store::find_member_by_token(std::string_view token) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  const auto hash = store_internal::sha256(token);
  std::int64_t lookup = 0;
  for (int i = 0; i < 8; ++i) lookup = (lookup << 8) | hash[static_cast<std::size_t>(i)];
  std::optional<std::string> found;
  {
    auto q = impl_->db->query("SELECT member, hash FROM member_tokens WHERE lookup = ?1");
    q->bind(1, lookup);
    while (q->step()) {
      const auto stored = q->blob(1);
      if (stored.size() == hash.size() &&
          store_internal::equal_constant_time(stored.data(), hash.data(), hash.size()))
        found = q->text(0);
    }
  }
  if (!found) return std::nullopt;
  return read_member(*impl_, *found);
}

bool Store::subscribe(std::string_view member_id, const Subscription& to, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("subscribe " + std::string(member_id));
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Instant at = impl.now();
  require_member(impl, member_id);
  check_target(impl, to);
  auto q = impl.db->query(
      "INSERT INTO subscriptions (member, kind, target, created) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT DO NOTHING RETURNING 1");
  q->bind(1, member_id).bind(2, kind_name(to.kind)).bind(3, to.target).bind(4, unix_seconds(at));
  const bool added = q->step();
  q->run();
  if (!added) return false;
  impl.audit_object(context, "subscribe", member_id,
                    std::string(member_id) + " subscribed to " + kind_name(to.kind) + " " + to.target, "null",
                    nlohmann::json{{"kind", kind_name(to.kind)}, {"target", to.target}}.dump(), at);
  if (!context.dry_run) tx.commit();
  return true;
}

bool Store::unsubscribe(std::string_view member_id, const Subscription& from, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("unsubscribe " + std::string(member_id));
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Instant at = impl.now();
  require_member(impl, member_id);
  auto q = impl.db->query("DELETE FROM subscriptions WHERE member = ?1 AND kind = ?2 AND target = ?3 RETURNING 1");
  q->bind(1, member_id).bind(2, kind_name(from.kind)).bind(3, from.target);
  const bool removed = q->step();
  q->run();
  if (!removed) return false;
  impl.audit_object(context, "unsubscribe", member_id,
                    std::string(member_id) + " unsubscribed from " + kind_name(from.kind) + " " + from.target,
                    nlohmann::json{{"kind", kind_name(from.kind)}, {"target", from.target}}.dump(), "null", at);
  if (!context.dry_run) tx.commit();
  return true;
}

std::vector<Subscription> Store::subscriptions(std::string_view member_id) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  std::vector<Subscription> out;
  auto q = impl_->db->query("SELECT kind, target FROM subscriptions WHERE member = ?1 ORDER BY kind DESC, target");
  q->bind(1, member_id);
  while (q->step()) {
    out.push_back({q->text(0) == "series" ? Subscription::Kind::series : Subscription::Kind::community, q->text(1)});
  }
  return out;
}

std::vector<std::string> Store::subscribed_series(std::string_view member_id) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  std::vector<std::string> out;
  // Directly, through a community, or through a split: the series that continue a
  // followed one (`continues`, transitively; UNION stops at a cycle).
  auto q = impl_->db->query(
      "WITH RECURSIVE followed(id) AS ("
      "  SELECT s.id FROM series s WHERE EXISTS (SELECT 1 FROM subscriptions x WHERE x.member = ?1 AND "
      "    ((x.kind = 'series' AND x.target = s.id) OR (x.kind = 'community' AND x.target = s.community)))"
      "  UNION SELECT s.id FROM series s JOIN followed f ON s.continues = f.id) "
      "SELECT s.id FROM series s JOIN communities c ON c.id = s.community WHERE s.id IN (SELECT id FROM followed) "
      "ORDER BY c.position, s.position");
  q->bind(1, member_id);
  while (q->step()) out.push_back(q->text(0));
  return out;
}

}  // namespace convene
