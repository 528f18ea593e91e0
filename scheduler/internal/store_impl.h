// The store's shared state and the helpers its parts (store.cpp, store_members.cpp)
// use inside a write transaction.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "convene/store.h"
#include "internal/store_sqlite.h"

namespace convene {

struct Store::Impl {
  StoreOptions options;
  const Clock* clock = nullptr;
  std::unique_ptr<store_internal::Connection> db;
  bool read_only = false;
  int version = 0;
  std::string source;  // "store <path>"
  mutable std::mutex mutex;

  Instant now() const { return date::floor<Seconds>(clock->now()); }
  // Throws StoreError(read_only) naming `action` when the file may not be written.
  void check_writable(const std::string& action) const;

  // One audit record; returns its id.
  struct AuditEntry {
    std::string actor, action;
    std::optional<std::string> series;
    std::optional<LocalTime> occurrence;
    std::optional<std::string> target;
    std::string summary;
    std::optional<std::string> reason;
    std::string before = "null", after = "null";
  };
  std::uint64_t insert_audit(const AuditEntry& entry, Instant at);
  // The audit record of a change to a store object that is not a series or a session (a
  // member, a target, a user, an API token, a channel: `target` names it), by `context`'s
  // actor and reason, at `at` (or now), then data_version + 1.
  void audit_object(const ChangeContext& context, const std::string& action, std::string_view target,
                    const std::string& summary, const std::string& before, const std::string& after, Instant at);
  void audit_object(const ChangeContext& context, const std::string& action, std::string_view target,
                    const std::string& summary, const std::string& before, const std::string& after) {
    audit_object(context, action, target, summary, before, after, now());
  }
  // Replaces the summary of audit record `id` (once the change knows what it affected).
  void set_audit_summary(std::uint64_t id, const std::string& summary);
  // data_version + 1 (every committed change calls it once).
  void bump_data_version();
};

namespace store_internal {
// The stored definitions (inside the caller's transaction); StoreError(corrupt) when
// this convene cannot use them.
Definitions load_or_throw(Store::Impl& impl);
// Commits a change, or (a rehearsal: context.dry_run) leaves its transaction to roll
// back, with result.audit_id 0 and result.dry_run set.
void finish(Transaction& tx, const ChangeContext& context, ChangeResult& result);
// "2027-02-01T09:00:00Z"
std::string format_utc(Instant at);
}  // namespace store_internal

}  // namespace convene
