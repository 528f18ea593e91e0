// The web's accounts in the store (convene/accounts.h): users and their communities,
// one-time password links and sign-in sessions (hashes of their secrets), sign-in
// failures, API tokens, keys. SQL lives here, as in the other store*.cpp files.
#include "convene/accounts.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "convene/validate.h"
#include "internal/store_crypto.h"
#include "internal/store_impl.h"

namespace convene {

using store_internal::Transaction;

namespace {

using Impl = Store::Impl;

// Longest user name and API token name accepted.
constexpr std::size_t kMaxUserNameLength = 200;
constexpr std::size_t kMaxTokenNameLength = 64;
// An API token's last use is written at most this often (a read is not a write each time).
constexpr Seconds kLastUsedResolution{60};

std::int64_t unix_seconds(Instant at) { return static_cast<std::int64_t>(at.time_since_epoch().count()); }
Instant from_unix(std::int64_t s) { return Instant{Seconds{s}}; }

StoreError invalid(const std::string& message) { return StoreError(StoreError::Kind::invalid, message); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The SHA-256 of a secret: what the tables keep and look up. Looking a hash up by value
// reveals nothing useful through timing: an attacker controls the secret, not its hash.
store_internal::Sha256Digest digest(std::string_view secret) { return store_internal::sha256(secret); }

std::string check_email(std::string_view email) {
  if (auto why = email_problem(email)) throw invalid("email: " + *why);
  return lower(email);
}

void check_name(std::string_view name, std::string_view what) {
  if (name.empty()) throw invalid(std::string(what) + " must not be empty");
  if (name.size() > kMaxUserNameLength)
    throw invalid(std::string(what) + " " + quote_value(name) + " is longer than " + std::to_string(kMaxUserNameLength) +
                  " bytes");
  if (auto why = display_name_problem(name)) throw invalid(std::string(what) + ": " + *why);
}

std::vector<std::string> community_ids(Impl& impl) {
  std::vector<std::string> ids;
  auto q = impl.db->query("SELECT id FROM communities ORDER BY position");
  while (q->step()) ids.push_back(q->text(0));
  return ids;
}

void check_communities(Impl& impl, const std::vector<std::string>& communities) {
  const auto known = community_ids(impl);
  for (std::size_t i = 0; i < communities.size(); ++i) {
    const auto& id = communities[i];
    if (std::find(known.begin(), known.end(), id) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw invalid("no community " + quote_value(id) + " in " + impl.options.path +
                    (list.empty() ? " (it has none yet: import definitions first)" : " (communities: " + list + ")"));
    }
    if (std::find(communities.begin(), communities.begin() + static_cast<std::ptrdiff_t>(i), id) !=
        communities.begin() + static_cast<std::ptrdiff_t>(i))
      throw invalid("community " + quote_value(id) + " is listed twice");
  }
}

void check_role(Role role, const std::vector<std::string>& communities) {
  if (role == Role::facilitator && communities.empty())
    throw invalid("a facilitator needs at least one community (--community ID)");
  if (role == Role::admin && !communities.empty())
    throw invalid("an administrator changes every community: give no --community");
}

std::vector<std::string> read_list(Impl& impl, const char* sql, std::string_view key) {
  std::vector<std::string> out;
  auto q = impl.db->query(sql);
  q->bind(1, key);
  while (q->step()) out.push_back(q->text(0));
  return out;
}

std::optional<User> read_user(Impl& impl, std::string_view email) {
  User u;
  {
    auto q = impl.db->query("SELECT email, name, role, password IS NOT NULL, created FROM users WHERE email = ?1");
    q->bind(1, email);
    if (!q->step()) return std::nullopt;
    u.email = q->text(0);
    u.name = q->text(1);
    u.role = *parse_role(q->text(2));
    u.has_password = q->int64(3) != 0;
    u.created = from_unix(q->int64(4));
  }
  u.communities =
      read_list(impl, "SELECT community FROM user_communities WHERE user = ?1 ORDER BY position", email);
  return u;
}

User require_user(Impl& impl, std::string_view email) {
  if (auto u = read_user(impl, lower(email))) return *u;
  throw invalid("no user " + quote_value(email) + " in " + impl.options.path);
}

std::string user_json(const User& u) {
  nlohmann::ordered_json j;
  j["email"] = u.email;
  j["name"] = u.name;
  j["role"] = to_string(u.role);
  j["communities"] = u.communities;
  return j.dump();
}

void write_communities(Impl& impl, const char* table_sql_delete, const char* table_sql_insert, std::string_view key,
                       const std::vector<std::string>& communities) {
  impl.db->query(table_sql_delete)->bind(1, key).run();
  for (std::size_t i = 0; i < communities.size(); ++i) {
    auto q = impl.db->query(table_sql_insert);
    q->bind(1, key).bind(2, communities[i]).bind(3, static_cast<std::int64_t>(i));
    q->run();
  }
}

// Stores a new secret of `kind` for `user` and returns it.
IssuedSecret issue_secret(Impl& impl, std::string_view kind, std::string_view user, Seconds lifetime) {
  const Instant now = impl.now();
  IssuedSecret s;
  s.token = store_internal::new_token();
  s.expires = now + lifetime;
  const auto hash = digest(s.token);
  auto q = impl.db->query(
      "INSERT INTO user_secrets (hash, kind, user, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)");
  q->bind_blob(1, hash.data(), hash.size()).bind(2, kind).bind(3, user).bind(4, unix_seconds(now));
  q->bind(5, unix_seconds(s.expires));
  q->run();
  return s;
}

// The user a live secret of `kind` belongs to.
std::optional<std::pair<std::string, std::pair<Instant, Instant>>> find_secret(Impl& impl, std::string_view kind,
                                                                             std::string_view token) {
  const auto hash = digest(token);
  auto q = impl.db->query(
      "SELECT user, created, expires FROM user_secrets WHERE hash = ?1 AND kind = ?2 AND expires > ?3");
  q->bind_blob(1, hash.data(), hash.size()).bind(2, kind).bind(3, unix_seconds(impl.now()));
  if (!q->step()) return std::nullopt;
  return std::make_pair(q->text(0), std::make_pair(from_unix(q->int64(1)), from_unix(q->int64(2))));
}

void delete_secrets(Impl& impl, std::string_view user, std::string_view kind) {
  impl.db->query("DELETE FROM user_secrets WHERE user = ?1 AND kind = ?2")->bind(1, user).bind(2, kind).run();
}

void check_token_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxTokenNameLength ||
      !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      }))
    throw invalid("API token name " + quote_value(name) + ": 1 to " + std::to_string(kMaxTokenNameLength) +
                  " letters, digits, - _ or .");
}

std::string token_json(const ApiTokenSpec& spec) {
  nlohmann::ordered_json j;
  j["name"] = spec.name;
  j["communities"] = spec.all_communities ? nlohmann::ordered_json("all") : nlohmann::ordered_json(spec.communities);
  return j.dump();
}

std::string failure_key(std::string_view kind, std::string_view value) { return std::string(kind) + ":" + lower(value); }

// When `key` may try again: nullopt when fewer than `max` failures are in the window.
std::optional<Instant> free_at(Impl& impl, const std::string& key, int max, Instant now) {
  std::vector<Instant> times;
  auto q = impl.db->query("SELECT at FROM signin_failures WHERE key = ?1 AND at > ?2 ORDER BY at");
  q->bind(1, key).bind(2, unix_seconds(now - kSignInWindow));
  while (q->step()) times.push_back(from_unix(q->int64(0)));
  if (times.size() < static_cast<std::size_t>(max)) return std::nullopt;
  return times[times.size() - static_cast<std::size_t>(max)] + kSignInWindow;
}

}  // namespace

std::string_view to_string(Role role) { return role == Role::admin ? "admin" : "facilitator"; }

std::optional<Role> parse_role(std::string_view text) {
  if (text == "admin") return Role::admin;
  if (text == "facilitator") return Role::facilitator;
  return std::nullopt;
}

bool User::may_change(std::string_view community) const {
  return role == Role::admin || std::find(communities.begin(), communities.end(), community) != communities.end();
}

bool ApiToken::may_change(std::string_view community) const {
  return all_communities || std::find(communities.begin(), communities.end(), community) != communities.end();
}

Accounts::Accounts(Store& store) : store_(store) {}

// --- users ------------------------------------------------------------------------

IssuedSecret Accounts::add_user(const UserSpec& spec, const ChangeContext& context) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  const std::string email = check_email(spec.email);
  impl.check_writable("add user " + email);
  check_name(spec.name, "a user's name");
  check_role(spec.role, spec.communities);
  Transaction tx(*impl.db, Transaction::Mode::write);
  check_communities(impl, spec.communities);
  if (read_user(impl, email)) throw invalid("a user " + quote_value(email) + " already exists");
  auto q = impl.db->query("INSERT INTO users (email, name, role, created) VALUES (?1, ?2, ?3, ?4)");
  q->bind(1, email).bind(2, spec.name).bind(3, to_string(spec.role)).bind(4, unix_seconds(impl.now()));
  q->run();
  write_communities(impl, "DELETE FROM user_communities WHERE user = ?1",
                    "INSERT INTO user_communities (user, community, position) VALUES (?1, ?2, ?3)", email,
                    spec.communities);
  const User user = *read_user(impl, email);
  IssuedSecret link = issue_secret(impl, "password-link", email, kPasswordLinkLifetime);
  impl.audit_object(context, "user add", email, "added " + std::string(to_string(user.role)) + " " + email, "null",
                    user_json(user));
  tx.commit();
  return link;
}

User Accounts::update_user(std::string_view email_text, Role role, const std::vector<std::string>& communities,
                           const ChangeContext& context) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  const std::string email = lower(email_text);
  impl.check_writable("change user " + email);
  check_role(role, communities);
  Transaction tx(*impl.db, Transaction::Mode::write);
  const User before = require_user(impl, email);
  check_communities(impl, communities);
  impl.db->query("UPDATE users SET role = ?2 WHERE email = ?1")->bind(1, email).bind(2, to_string(role)).run();
  write_communities(impl, "DELETE FROM user_communities WHERE user = ?1",
                    "INSERT INTO user_communities (user, community, position) VALUES (?1, ?2, ?3)", email,
                    communities);
  const User after = *read_user(impl, email);
  if (user_json(after) == user_json(before)) return after;
  impl.audit_object(context, "user set", email, "changed the role of " + email, user_json(before), user_json(after));
  tx.commit();
  return after;
}

void Accounts::remove_user(std::string_view email_text, const ChangeContext& context) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  const std::string email = lower(email_text);
  impl.check_writable("remove user " + email);
  Transaction tx(*impl.db, Transaction::Mode::write);
  const User before = require_user(impl, email);
  impl.db->query("DELETE FROM users WHERE email = ?1")->bind(1, email).run();
  impl.db->query("DELETE FROM signin_failures WHERE key = ?1")->bind(1, failure_key("account", email)).run();
  impl.audit_object(context, "user remove", email, "removed user " + email + " (signed out, links revoked)",
                    user_json(before), "null");
  tx.commit();
}

std::optional<User> Accounts::user(std::string_view email) const {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  Transaction tx(*impl.db, Transaction::Mode::read);
  return read_user(impl, lower(email));
}

std::vector<User> Accounts::users() const {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  Transaction tx(*impl.db, Transaction::Mode::read);
  std::vector<std::string> emails;
  {
    auto q = impl.db->query("SELECT email FROM users ORDER BY email");
    while (q->step()) emails.push_back(q->text(0));
  }
  std::vector<User> out;
  for (const auto& e : emails) out.push_back(*read_user(impl, e));
  return out;
}

IssuedSecret Accounts::issue_password_link(std::string_view email_text, const ChangeContext& context) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  const std::string email = lower(email_text);
  impl.check_writable("issue a password link to " + email);
  Transaction tx(*impl.db, Transaction::Mode::write);
  require_user(impl, email);
  delete_secrets(impl, email, "password-link");
  IssuedSecret link = issue_secret(impl, "password-link", email, kPasswordLinkLifetime);
  impl.audit_object(context, "user password-link", email,
                    "issued a one-time password link to " + email + "; earlier links no longer work", "null", "null");
  tx.commit();
  return link;
}

// --- passwords --------------------------------------------------------------------

std::optional<User> Accounts::password_link_user(std::string_view token) const {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  Transaction tx(*impl.db, Transaction::Mode::read);
  auto found = find_secret(impl, "password-link", token);
  if (!found) return std::nullopt;
  return read_user(impl, found->first);
}

std::optional<User> Accounts::set_password(std::string_view token, const std::string& password_hash) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  impl.check_writable("set a password");
  Transaction tx(*impl.db, Transaction::Mode::write);
  auto found = find_secret(impl, "password-link", token);
  if (!found) return std::nullopt;
  const std::string& email = found->first;
  impl.db->query("UPDATE users SET password = ?2 WHERE email = ?1")->bind(1, email).bind(2, password_hash).run();
  delete_secrets(impl, email, "password-link");
  delete_secrets(impl, email, "session");
  impl.db->query("DELETE FROM signin_failures WHERE key = ?1")->bind(1, failure_key("account", email)).run();
  Impl::AuditEntry e;
  e.actor = email;
  e.action = "user password";
  e.target = email;
  e.summary = email + " set a password (other sessions signed out)";
  impl.insert_audit(e, impl.now());
  auto user = read_user(impl, email);
  tx.commit();
  return user;
}

std::optional<std::string> Accounts::password_hash(std::string_view email) const {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  Transaction tx(*impl.db, Transaction::Mode::read);
  auto q = impl.db->query("SELECT password FROM users WHERE email = ?1");
  q->bind(1, lower(email));
  if (!q->step()) return std::nullopt;
  return q->optional_text(0);
}

// --- sign-in throttling -------------------------------------------------------------

void Accounts::record_failure(std::string_view email, std::string_view client) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  impl.check_writable("record a failed sign-in");
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Instant now = impl.now();
  impl.db->query("DELETE FROM signin_failures WHERE at <= ?1")->bind(1, unix_seconds(now - kSignInWindow)).run();
  for (const auto& key : {failure_key("account", email), failure_key("client", client)}) {
    impl.db->query("INSERT INTO signin_failures (key, at) VALUES (?1, ?2)")->bind(1, key).bind(2, unix_seconds(now)).run();
  }
  tx.commit();
}

std::optional<Instant> Accounts::throttled_until(std::string_view email, std::string_view client) const {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  Transaction tx(*impl.db, Transaction::Mode::read);
  const Instant now = impl.now();
  auto account = free_at(impl, failure_key("account", email), kMaxSignInFailures, now);
  auto from_client = free_at(impl, failure_key("client", client), kMaxClientFailures, now);
  if (account && from_client) return std::max(*account, *from_client);
  return account ? account : from_client;
}

void Accounts::clear_failures(std::string_view email) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  impl.check_writable("clear failed sign-ins");
  Transaction tx(*impl.db, Transaction::Mode::write);
  impl.db->query("DELETE FROM signin_failures WHERE key = ?1")->bind(1, failure_key("account", email)).run();
  tx.commit();
}

// --- sessions -------------------------------------------------------------------------

IssuedSecret Accounts::start_session(std::string_view email_text) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  const std::string email = lower(email_text);
  impl.check_writable("sign in");
  Transaction tx(*impl.db, Transaction::Mode::write);
  require_user(impl, email);
  impl.db->query("DELETE FROM user_secrets WHERE expires <= ?1")->bind(1, unix_seconds(impl.now())).run();
  IssuedSecret s = issue_secret(impl, "session", email, kSessionLifetime);
  tx.commit();
  return s;
}

std::optional<SignInSession> Accounts::session(std::string_view token) const {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  Transaction tx(*impl.db, Transaction::Mode::read);
  auto found = find_secret(impl, "session", token);
  if (!found) return std::nullopt;
  auto user = read_user(impl, found->first);
  if (!user) return std::nullopt;
  return SignInSession{*user, found->second.first, found->second.second};
}

void Accounts::end_session(std::string_view token) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  if (impl.read_only) return;
  Transaction tx(*impl.db, Transaction::Mode::write);
  const auto hash = digest(token);
  impl.db->query("DELETE FROM user_secrets WHERE hash = ?1 AND kind = 'session'")
      ->bind_blob(1, hash.data(), hash.size())
      .run();
  tx.commit();
}

// --- API tokens -------------------------------------------------------------------------

IssuedSecret Accounts::add_api_token(const ApiTokenSpec& spec, const ChangeContext& context) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  check_token_name(spec.name);
  impl.check_writable("add API token " + spec.name);
  if (spec.all_communities == !spec.communities.empty())
    throw invalid("an API token needs its communities (--community ID, repeatable) or --all, not both");
  Transaction tx(*impl.db, Transaction::Mode::write);
  check_communities(impl, spec.communities);
  {
    auto q = impl.db->query("SELECT 1 FROM api_tokens WHERE name = ?1");
    q->bind(1, spec.name);
    if (q->step()) throw invalid("an API token " + quote_value(spec.name) + " already exists");
  }
  IssuedSecret s;
  s.token = store_internal::new_token();
  const auto hash = digest(s.token);
  auto q = impl.db->query("INSERT INTO api_tokens (name, hash, all_communities, created) VALUES (?1, ?2, ?3, ?4)");
  q->bind(1, spec.name).bind_blob(2, hash.data(), hash.size());
  q->bind(3, std::int64_t{spec.all_communities}).bind(4, unix_seconds(impl.now()));
  q->run();
  write_communities(impl, "DELETE FROM api_token_communities WHERE token = ?1",
                    "INSERT INTO api_token_communities (token, community, position) VALUES (?1, ?2, ?3)", spec.name,
                    spec.communities);
  impl.audit_object(context, "api-token add", spec.name, "added API token " + spec.name, "null", token_json(spec));
  tx.commit();
  return s;
}

void Accounts::revoke_api_token(std::string_view name, const ChangeContext& context) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  impl.check_writable("revoke API token " + std::string(name));
  Transaction tx(*impl.db, Transaction::Mode::write);
  auto q = impl.db->query("DELETE FROM api_tokens WHERE name = ?1 RETURNING 1");
  q->bind(1, name);
  const bool removed = q->step();
  q->run();
  if (!removed) throw invalid("no API token " + quote_value(name) + " in " + impl.options.path);
  impl.audit_object(context, "api-token revoke", std::string(name), "revoked API token " + std::string(name), "null",
                    "null");
  tx.commit();
}

std::vector<ApiToken> Accounts::api_tokens() const {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  Transaction tx(*impl.db, Transaction::Mode::read);
  std::vector<ApiToken> out;
  {
    auto q = impl.db->query("SELECT name, all_communities, created, last_used FROM api_tokens ORDER BY name");
    while (q->step()) {
      ApiToken t;
      t.name = q->text(0);
      t.all_communities = q->int64(1) != 0;
      t.created = from_unix(q->int64(2));
      if (auto used = q->optional_int64(3)) t.last_used = from_unix(*used);
      out.push_back(std::move(t));
    }
  }
  for (auto& t : out)
    t.communities =
        read_list(impl, "SELECT community FROM api_token_communities WHERE token = ?1 ORDER BY position", t.name);
  return out;
}

std::optional<ApiToken> Accounts::find_api_token(std::string_view token) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  const auto hash = digest(token);
  const Instant now = impl.now();
  ApiToken t;
  {
    Transaction tx(*impl.db, Transaction::Mode::read);
    {
      auto q = impl.db->query("SELECT name, all_communities, created, last_used FROM api_tokens WHERE hash = ?1");
      q->bind_blob(1, hash.data(), hash.size());
      if (!q->step()) return std::nullopt;
      t.name = q->text(0);
      t.all_communities = q->int64(1) != 0;
      t.created = from_unix(q->int64(2));
      if (auto used = q->optional_int64(3)) t.last_used = from_unix(*used);
    }
    t.communities =
        read_list(impl, "SELECT community FROM api_token_communities WHERE token = ?1 ORDER BY position", t.name);
  }
  if (!impl.read_only && (!t.last_used || now - *t.last_used >= kLastUsedResolution)) {
    Transaction tx(*impl.db, Transaction::Mode::write);
    impl.db->query("UPDATE api_tokens SET last_used = ?2 WHERE name = ?1")->bind(1, t.name).bind(2, unix_seconds(now)).run();
    tx.commit();
    t.last_used = now;
  }
  return t;
}

// --- keys -------------------------------------------------------------------------------

std::string Accounts::key(std::string_view name) {
  Impl& impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  auto read = [&]() -> std::optional<std::string> {
    auto q = impl.db->query("SELECT key FROM keys WHERE name = ?1");
    q->bind(1, name);
    if (!q->step()) return std::nullopt;
    const auto blob = q->blob(0);
    return std::string(blob.begin(), blob.end());
  };
  {
    Transaction tx(*impl.db, Transaction::Mode::read);
    if (auto k = read()) return *k;
  }
  if (impl.read_only) {
    auto& k = process_keys_[std::string(name)];
    if (k.empty()) k = store_internal::random_bytes(32);
    return k;
  }
  Transaction tx(*impl.db, Transaction::Mode::write);
  const std::string fresh = store_internal::random_bytes(32);
  impl.db->query("INSERT INTO keys (name, key) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")
      ->bind(1, name)
      .bind_blob(2, fresh.data(), fresh.size())
      .run();
  auto k = read();
  tx.commit();
  return *k;
}

}  // namespace convene
