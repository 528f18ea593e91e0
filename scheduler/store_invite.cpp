// Invitations in the store: targets, the mapping (remote_records) and the outbox.
#include <algorithm>
#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

#include "convene/store.h"
#include "internal/store_impl.h"
#include "internal/store_tables.h"

namespace convene {

using store_internal::Transaction;

namespace {

using Impl = Store::Impl;
using nlohmann::json;

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }
std::int64_t unix_seconds(Instant at) { return static_cast<std::int64_t>(at.time_since_epoch().count()); }
Instant instant_of(std::int64_t s) { return Instant{Seconds{s}}; }
StoreError invalid(const std::string& message) { return StoreError(StoreError::Kind::invalid, message); }

void check_name(std::string_view name) {
  if (name.empty() || name.size() > 64) throw invalid("a target name is 1 to 64 characters");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      throw invalid("target name " + quote(name) + " may hold only letters, digits and - _ .");
}

std::string occurrence_text(const std::optional<LocalTime>& t) { return t ? format_local_minute(*t) : ""; }

json invitees_json(const std::vector<Invitee>& invitees) {
  json out = json::array();
  for (const auto& i : invitees) out.push_back({{"member", i.member}, {"email", i.email}, {"name", i.name}});
  return out;
}

std::vector<Invitee> invitees_of(const std::string& text) {
  std::vector<Invitee> out;
  const auto j = json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& i : j)
    out.push_back({i.value("member", ""), i.value("email", ""), i.value("name", "")});
  return out;
}

OutboxMessage::State state_of(const std::string& text) {
  using S = OutboxMessage::State;
  for (S s : {S::planned, S::sending, S::sent, S::failed, S::withdrawn})
    if (to_string(s) == text) return s;
  return S::failed;
}

TargetInfo read_target_row(store_internal::Statement& q) {
  TargetInfo t;
  t.spec.name = q.text(0);
  t.spec.kind = parse_target_kind(q.text(1)).value_or(TargetKind::email);
  t.spec.settings = q.text(2);
  if (auto c = q.optional_text(3)) {
    std::vector<std::string> ids;
    for (const auto& id : json::parse(*c, nullptr, false)) ids.push_back(id.get<std::string>());
    t.spec.communities = std::move(ids);
  }
  t.created = instant_of(q.int64(4));
  if (auto a = q.optional_int64(5)) t.last_attempt = instant_of(*a);
  if (auto s = q.optional_int64(6)) t.last_success = instant_of(*s);
  t.last_error = q.text(7);
  t.failures = std::uint64_t(q.int64(8));
  return t;
}

constexpr const char* kTargetColumns =
    "SELECT name, kind, settings, communities, created, last_attempt, last_success, last_error, failures FROM targets";

std::optional<TargetInfo> find_target(Impl& impl, std::string_view name) {
  static const std::string sql = std::string(kTargetColumns) + " WHERE name = ?1";
  auto q = impl.db->query(sql.c_str());
  q->bind(1, name);
  if (!q->step()) return std::nullopt;
  return read_target_row(*q);
}

TargetInfo target_or_refuse(Impl& impl, std::string_view name) {
  if (auto t = find_target(impl, name)) return *t;
  std::vector<std::string> names;
  auto q = impl.db->query("SELECT name FROM targets ORDER BY name");
  while (q->step()) names.push_back(q->text(0));
  std::string message = "no target " + quote(name) + " in " + impl.options.path;
  message += names.empty() ? " (add one with `convene target add`)" : "; the targets are:";
  for (std::size_t i = 0; i < names.size() && i < 10; ++i) message += (i ? ", " : " ") + names[i];
  throw invalid(message);
}

json target_json(const TargetSpec& spec) {
  json j = {{"name", spec.name}, {"kind", std::string(to_string(spec.kind))}};
  j["settings"] = json::parse(spec.settings, nullptr, false);
  j["communities"] = spec.communities ? json(*spec.communities) : json("all");
  return j;
}

void write_records(Impl& impl, std::string_view target, std::string_view series, std::string_view copy,
                   const std::vector<RemoteRecord>& records) {
  impl.db->query("DELETE FROM remote_records WHERE target = ?1 AND series = ?2 AND copy = ?3")
      ->bind(1, target)
      .bind(2, series)
      .bind(3, copy)
      .run();
  auto q = impl.db->query(
      "INSERT OR REPLACE INTO remote_records (target, series, occurrence, copy, remote_id, etag, sequence, live, "
      "covers, invitees, generation, title, organizer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  for (const auto& r : records) {
    q->bind(1, target).bind(2, series).bind(3, occurrence_text(r.occurrence)).bind(4, copy);
    q->bind(5, r.remote_id).bind(6, r.etag).bind(7, std::int64_t(r.sequence)).bind(8, std::int64_t(r.live));
    q->bind(9, r.occurrence ? std::string() : format_date(r.covers));
    q->bind(10, r.occurrence ? std::string("[]") : invitees_json(r.invitees).dump());
    q->bind(11, std::int64_t(r.generation)).bind(12, r.title).bind(13, r.organizer);
    q->run();
    q->reset();
  }
}

OutboxMessage read_outbox_row(store_internal::Statement& q, bool with_payload) {
  OutboxMessage m;
  m.id = std::uint64_t(q.int64(0));
  m.key = q.text(1);
  m.kind = q.text(2);
  m.target = q.optional_text(3).value_or("");
  m.member = q.text(4);
  m.series = q.text(5);
  if (auto o = q.optional_text(6)) m.occurrence = parse_local_minute(*o);
  m.recipient = q.text(7);
  m.message_id = q.text(8);
  if (with_payload) m.payload = q.text(9);
  m.state = state_of(q.text(10));
  m.attempts = std::uint32_t(q.int64(11));
  m.last_error = q.text(12);
  m.due = instant_of(q.int64(13));
  m.created = instant_of(q.int64(14));
  m.updated = instant_of(q.int64(15));
  if (auto t = q.optional_int64(16)) m.not_after = instant_of(*t);
  if (auto t = q.optional_int64(17)) m.retry_not_before = instant_of(*t);
  return m;
}

// SELECT of the outbox's columns as read_outbox_row reads them (FROM outbox o), with the
// payload (in a table of its own since schema 14) or '' in its place.
std::string outbox_select(bool with_payload) {
  return std::string("SELECT o.id, o.key, o.kind, o.target, o.member, o.series, o.occurrence, o.recipient, o.message_id, ") +
         (with_payload ? "coalesce(p.payload, '')" : "''") +
         ", o.state, o.attempts, o.last_error, o.due, o.created, o.updated, o.not_after, o.retry_not_before FROM outbox o" +
         (with_payload ? " LEFT JOIN outbox_payloads p ON p.id = o.id" : "");
}

void set_state(Impl& impl, std::uint64_t id, OutboxMessage::State state, const std::string* error, bool attempt) {
  auto q = impl.db->query(
      "UPDATE outbox SET state = ?2, last_error = coalesce(?3, last_error), attempts = attempts + ?4, "
      "updated = ?5 WHERE id = ?1");
  q->bind(1, std::int64_t(id)).bind(2, std::string(to_string(state)));
  if (error) q->bind(3, *error);
  else q->bind_null(3);
  q->bind(4, std::int64_t(attempt ? 1 : 0)).bind(5, unix_seconds(impl.now()));
  q->run();
}

}  // namespace

std::string_view to_string(OutboxMessage::State state) {
  switch (state) {
    case OutboxMessage::State::planned: return "planned";
    case OutboxMessage::State::sending: return "sending";
    case OutboxMessage::State::sent: return "sent";
    case OutboxMessage::State::failed: return "failed";
    case OutboxMessage::State::withdrawn: return "withdrawn";
  }
  return "failed";
}

// --- targets ---------------------------------------------------------------------------

void Store::add_target(const TargetSpec& spec, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("add target " + spec.name);
  check_name(spec.name);
  const auto settings = json::parse(spec.settings, nullptr, false);
  if (!settings.is_object()) throw invalid("the settings of target " + quote(spec.name) + " are not a JSON object");
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Instant at = impl.now();
  if (find_target(impl, spec.name)) throw invalid("a target " + quote(spec.name) + " already exists");
  if (spec.communities) {
    if (spec.communities->empty()) throw invalid("target " + quote(spec.name) + " names no community (give --community ID or --all)");
    std::set<std::string> known;
    auto q = impl.db->query("SELECT id FROM communities");
    while (q->step()) known.insert(q->text(0));
    for (const auto& c : *spec.communities)
      if (!known.count(c)) throw invalid("no community " + quote(c) + " in " + impl.options.path);
  }
  auto q = impl.db->query(
      "INSERT INTO targets (name, kind, settings, communities, created) VALUES (?1, ?2, ?3, ?4, ?5)");
  q->bind(1, spec.name).bind(2, std::string(to_string(spec.kind))).bind(3, settings.dump());
  if (spec.communities) q->bind(4, json(*spec.communities).dump());
  else q->bind_null(4);
  q->bind(5, unix_seconds(at));
  q->run();
  impl.audit_object(context, "target add", spec.name,
                    "added " + std::string(to_string(spec.kind)) + " target " + spec.name, "null",
                    target_json(spec).dump(), at);
  if (!context.dry_run) tx.commit();
}

void Store::remove_target(std::string_view name, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("remove target " + std::string(name));
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Instant at = impl.now();
  const TargetInfo t = target_or_refuse(impl, name);
  impl.db->query("DELETE FROM targets WHERE name = ?1")->bind(1, name).run();
  impl.audit_object(context, "target remove", name, "removed target " + std::string(name), target_json(t.spec).dump(),
                    "null", at);
  if (!context.dry_run) tx.commit();
}

std::vector<TargetInfo> Store::targets() const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  static const std::string sql = std::string(kTargetColumns) + " ORDER BY name";
  std::vector<TargetInfo> out;
  auto q = impl_->db->query(sql.c_str());
  while (q->step()) out.push_back(read_target_row(*q));
  return out;
}

std::optional<TargetInfo> Store::target(std::string_view name) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  return find_target(*impl_, name);
}

TargetInfo Store::require_target(std::string_view name) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  return target_or_refuse(*impl_, name);
}

void Store::record_sync(std::string_view name, Instant at, const std::string& error) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("record a sync of " + std::string(name));
  Transaction tx(*impl.db, Transaction::Mode::write);
  target_or_refuse(impl, name);
  auto q = impl.db->query(
      error.empty()
          ? "UPDATE targets SET last_attempt = ?2, last_success = ?2, last_error = '', failures = 0 WHERE name = ?1"
          : "UPDATE targets SET last_attempt = ?2, last_error = ?3, failures = failures + 1 WHERE name = ?1");
  q->bind(1, name).bind(2, unix_seconds(at));
  if (!error.empty()) q->bind(3, error);
  q->run();
  tx.commit();
}

std::vector<Invitee> Store::invitees(std::string_view series) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  std::vector<Invitee> out;
  // As subscribed_series() follows: directly, through a community, or through a split
  // (the series `series` continues, transitively; UNION stops at a cycle).
  auto q = impl_->db->query(
      "WITH RECURSIVE up(id) AS (SELECT ?1 UNION SELECT s.continues FROM series s JOIN up ON s.id = up.id "
      "  WHERE s.continues IS NOT NULL) "
      "SELECT m.id, m.email, m.name FROM members m WHERE m.delivery = 'invite' AND EXISTS "
      "(SELECT 1 FROM subscriptions x WHERE x.member = m.id AND "
      "((x.kind = 'series' AND x.target IN (SELECT id FROM up)) OR "
      " (x.kind = 'community' AND x.target IN (SELECT community FROM series WHERE id IN (SELECT id FROM up))))) "
      "ORDER BY m.id");
  q->bind(1, series);
  while (q->step()) out.push_back({q->text(0), q->text(1), q->text(2)});
  return out;
}

// --- the mapping ------------------------------------------------------------------------

std::vector<RemoteRecord> Store::remote_records(std::string_view target) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  std::vector<RemoteRecord> out;
  auto q = impl_->db->query(
      "SELECT series, occurrence, copy, remote_id, etag, sequence, live, covers, invitees, generation, title, "
      "organizer FROM remote_records WHERE target = ?1 ORDER BY series, copy, occurrence");
  q->bind(1, target);
  while (q->step()) {
    RemoteRecord r;
    r.series = q->text(0);
    if (const auto o = q->text(1); !o.empty()) r.occurrence = parse_local_minute(o);
    r.copy = q->text(2);
    r.remote_id = q->text(3);
    r.etag = q->text(4);
    r.sequence = std::uint64_t(q->int64(5));
    r.live = q->int64(6) != 0;
    if (auto d = parse_date(q->text(7))) r.covers = *d;
    r.invitees = invitees_of(q->text(8));
    r.generation = std::uint64_t(q->int64(9));
    r.title = q->text(10);
    r.organizer = q->text(11);
    out.push_back(std::move(r));
  }
  return out;
}

void Store::put_remote_records(std::string_view target, std::string_view series, std::string_view copy,
                               const std::vector<RemoteRecord>& records) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("record what target " + std::string(target) + " holds");
  Transaction tx(*impl.db, Transaction::Mode::write);
  write_records(impl, target, series, copy, records);
  tx.commit();
}

// --- the outbox -------------------------------------------------------------------------

std::vector<OutboxMessage> Store::enqueue(const std::vector<OutboxMessage>& messages) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("plan messages");
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Instant at = impl.now();
  auto insert = impl.db->query(
      "INSERT INTO outbox (key, kind, target, member, series, occurrence, recipient, message_id, state, "
      "due, created, updated, not_after, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?13, ?10, ?11, ?11, ?12, ?14) "
      "ON CONFLICT (key) DO NOTHING RETURNING id");
  auto insert_payload = impl.db->query("INSERT INTO outbox_payloads (id, payload) VALUES (?1, ?2)");
  static const std::string select_sql = outbox_select(true) + " WHERE o.key = ?1";
  auto select = impl.db->query(select_sql.c_str());
  std::vector<OutboxMessage> out;
  for (const auto& m : messages) {
    insert->bind(1, m.key).bind(2, m.kind).bind(4, m.member).bind(5, m.series);
    if (m.target.empty()) insert->bind_null(3);  // a webhook's: no target sends it
    else insert->bind(3, m.target);
    if (m.occurrence) insert->bind(6, format_local_minute(*m.occurrence));
    else insert->bind_null(6);
    insert->bind(7, m.recipient).bind(8, m.message_id).bind(10, unix_seconds(m.due));
    insert->bind(11, unix_seconds(at));
    if (m.not_after) insert->bind(12, unix_seconds(*m.not_after));
    else insert->bind_null(12);
    const bool failed = m.state == OutboxMessage::State::failed;
    insert->bind(13, std::string(failed ? "failed" : "planned")).bind(14, failed ? m.last_error : std::string());
    if (insert->step()) {  // new: its payload beside it
      const std::int64_t id = insert->int64(0);
      insert->run();
      insert_payload->bind(1, id).bind(2, m.payload);
      insert_payload->run();
      insert_payload->reset();
    }
    insert->reset();
    select->bind(1, m.key);
    if (select->step()) out.push_back(read_outbox_row(*select, true));
    select->reset();
  }
  tx.commit();
  return out;
}

std::size_t Store::refresh_planned(const std::vector<OutboxMessage>& messages) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("plan messages");
  Transaction tx(*impl.db, Transaction::Mode::write);
  static const std::string select_sql = outbox_select(true) + " WHERE o.key = ?1 AND o.state = 'planned'";
  auto select = impl.db->query(select_sql.c_str());
  auto update = impl.db->query(
      "UPDATE outbox SET target = ?2, recipient = ?3, message_id = ?4, due = ?5, not_after = ?6, state = ?7, "
      "last_error = ?8, updated = ?9 WHERE id = ?1");
  auto payload = impl.db->query("INSERT OR REPLACE INTO outbox_payloads (id, payload) VALUES (?1, ?2)");
  std::size_t rewritten = 0;
  for (const auto& m : messages) {
    select->bind(1, m.key);
    std::optional<OutboxMessage> stored;
    if (select->step()) stored = read_outbox_row(*select, true);
    select->reset();
    const bool failed = m.state == OutboxMessage::State::failed;
    if (!stored || (stored->target == m.target && stored->recipient == m.recipient &&
                    stored->message_id == m.message_id && stored->due == m.due && stored->not_after == m.not_after &&
                    stored->payload == m.payload && !failed))
      continue;
    update->bind(1, std::int64_t(stored->id));
    if (m.target.empty()) update->bind_null(2);  // a webhook's: no target sends it
    else update->bind(2, m.target);
    update->bind(3, m.recipient).bind(4, m.message_id).bind(5, unix_seconds(m.due));
    if (m.not_after) update->bind(6, unix_seconds(*m.not_after));
    else update->bind_null(6);
    update->bind(7, std::string(failed ? "failed" : "planned")).bind(8, failed ? m.last_error : std::string());
    update->bind(9, unix_seconds(impl.now()));
    update->run();
    update->reset();
    payload->bind(1, std::int64_t(stored->id)).bind(2, m.payload);
    payload->run();
    payload->reset();
    ++rewritten;
  }
  tx.commit();
  return rewritten;
}

std::size_t Store::withdraw_outbox(std::string_view target, std::string_view kind, const std::vector<std::string>& keep) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("withdraw messages");
  Transaction tx(*impl.db, Transaction::Mode::write);
  const std::set<std::string> wanted(keep.begin(), keep.end());
  std::vector<std::int64_t> ids;
  {
    auto q = impl.db->query(
        "SELECT id, key FROM outbox WHERE target IS ?1 AND kind = ?2 AND state IN ('planned', 'sending')");
    if (target.empty()) q->bind_null(1);  // the webhooks' (no target)
    else q->bind(1, target);
    q->bind(2, kind);
    while (q->step())
      if (!wanted.count(q->text(1))) ids.push_back(q->int64(0));
  }
  for (auto id : ids) set_state(impl, std::uint64_t(id), OutboxMessage::State::withdrawn, nullptr, false);
  tx.commit();
  return ids.size();
}

void Store::mark_sending(std::uint64_t id) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  Transaction tx(*impl.db, Transaction::Mode::write);
  set_state(impl, id, OutboxMessage::State::sending, nullptr, true);
  tx.commit();
}

void Store::mark_sent(std::uint64_t id, std::string_view series, std::string_view copy,
                      const std::vector<RemoteRecord>& records) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  Transaction tx(*impl.db, Transaction::Mode::write);
  std::string target;
  {
    auto q = impl.db->query("SELECT target FROM outbox WHERE id = ?1");
    q->bind(1, std::int64_t(id));
    if (!q->step()) throw invalid("no outbox message " + std::to_string(id));
    target = q->optional_text(0).value_or("");
  }
  const std::string none;
  set_state(impl, id, OutboxMessage::State::sent, &none, false);
  if (!target.empty()) write_records(impl, target, series, copy, records);
  tx.commit();
}

std::map<std::uint64_t, std::string> Store::claim_sending(const std::vector<std::uint64_t>& ids) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("claim messages to send");
  Transaction tx(*impl.db, Transaction::Mode::write);
  auto claim = impl.db->query(
      "UPDATE outbox SET state = 'sending', updated = ?2 WHERE id = ?1 AND state IN ('planned', 'sending') "
      "RETURNING (SELECT payload FROM outbox_payloads WHERE id = ?1)");
  std::map<std::uint64_t, std::string> out;
  for (const auto id : ids) {
    claim->bind(1, std::int64_t(id)).bind(2, unix_seconds(impl.now()));
    if (claim->step()) {
      out.emplace(id, claim->optional_text(0).value_or(""));
      claim->run();
    }
    claim->reset();
  }
  tx.commit();
  return out;
}

void Store::mark_tried(std::uint64_t id, OutboxMessage::State state, const std::string& error,
                       std::optional<Instant> retry_not_before) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  Transaction tx(*impl.db, Transaction::Mode::write);
  auto q = impl.db->query(
      "UPDATE outbox SET state = ?2, last_error = ?3, attempts = attempts + 1, updated = ?4, retry_not_before = ?5 "
      "WHERE id = ?1");
  q->bind(1, std::int64_t(id)).bind(2, std::string(to_string(state))).bind(3, error).bind(4, unix_seconds(impl.now()));
  if (retry_not_before) q->bind(5, unix_seconds(*retry_not_before));
  else q->bind_null(5);
  q->run();
  tx.commit();
}

void Store::mark_unsent(std::uint64_t id, const std::string& error, bool failed, std::optional<Instant> retry_not_before) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  Transaction tx(*impl.db, Transaction::Mode::write);
  set_state(impl, id, failed ? OutboxMessage::State::failed : OutboxMessage::State::planned, &error, false);
  auto q = impl.db->query("UPDATE outbox SET retry_not_before = ?2 WHERE id = ?1");
  q->bind(1, std::int64_t(id));
  if (retry_not_before) q->bind(2, unix_seconds(*retry_not_before));
  else q->bind_null(2);
  q->run();
  tx.commit();
}

std::vector<OutboxMessage> Store::outbox(const OutboxQuery& query) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  static const std::string where =
      " WHERE (?1 IS NULL OR o.target = ?1) AND (?2 IS NULL OR o.kind = ?2) AND (?3 IS NULL OR o.member = ?3) ORDER BY o.id";
  static const std::string with_payload = outbox_select(true) + where, without = outbox_select(false) + where;
  auto q = impl_->db->query(query.with_payload ? with_payload.c_str() : without.c_str());
  if (query.target) q->bind(1, *query.target);
  else q->bind_null(1);
  if (query.kind) q->bind(2, *query.kind);
  else q->bind_null(2);
  if (query.member) q->bind(3, *query.member);
  else q->bind_null(3);
  std::vector<OutboxMessage> out;
  while (q->step()) {
    auto m = read_outbox_row(*q, query.with_payload);
    if (query.states.empty() || std::find(query.states.begin(), query.states.end(), m.state) != query.states.end())
      out.push_back(std::move(m));
  }
  return out;
}

}  // namespace convene
