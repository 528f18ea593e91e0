// Leases in the store (convene/store.h: acquire_lease, release_lease): a row per named
// piece of work, its holder and when the lease expires.
#include "convene/store.h"
#include "internal/store_impl.h"

namespace convene {

using store_internal::Transaction;

bool Store::acquire_lease(std::string_view name, std::string_view holder, Seconds ttl, Instant* held_until) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  Transaction tx(*impl.db, Transaction::Mode::write);
  const std::int64_t now = impl.now().time_since_epoch().count();
  {
    auto q = impl.db->query("SELECT holder, expires FROM leases WHERE name = ?1");
    q->bind(1, name);
    if (q->step() && q->text(0) != holder && q->int64(1) > now) {
      if (held_until) *held_until = Instant{Seconds{q->int64(1)}};
      return false;
    }
  }
  auto q = impl.db->query(
      "INSERT INTO leases (name, holder, expires) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires");
  q->bind(1, name).bind(2, holder).bind(3, now + std::int64_t(ttl.count()));
  q->run();
  tx.commit();
  if (held_until) *held_until = Instant{Seconds{now + ttl.count()}};
  return true;
}

void Store::release_lease(std::string_view name, std::string_view holder) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  Transaction tx(*impl.db, Transaction::Mode::write);
  auto q = impl.db->query("DELETE FROM leases WHERE name = ?1 AND holder = ?2");
  q->bind(1, name).bind(2, holder);
  q->run();
  tx.commit();
}

}  // namespace convene
