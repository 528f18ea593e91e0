// Backup and restore of the whole store with SQLite's online backup API
// (https://www.sqlite.org/backup.html): every page of the database, so every table,
// whatever later schemas add, is in it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <filesystem>

#include <sqlite3.h>

#include "convene/store.h"
#include "internal/store_impl.h"
#include "internal/store_schema.h"

namespace convene {

namespace {

StoreError io_error(const std::string& message) { return StoreError(StoreError::Kind::io, message); }

// A plain SQLite connection for the copy's side (no convene schema checks yet).
struct RawDb {
  sqlite3* db = nullptr;
  RawDb(const std::string& path, int flags) {
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      const std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      sqlite3_close_v2(db);
      db = nullptr;
      throw io_error("cannot open " + path + " (" + detail + ")");
    }
    sqlite3_extended_result_codes(db, 1);
  }
  ~RawDb() { sqlite3_close_v2(db); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  void exec(const char* sql, const std::string& what) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    const std::string detail = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    if (rc != SQLITE_OK) throw io_error(what + " (" + detail + ")");
  }
  std::string one(const char* sql) {
    sqlite3_stmt* s = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
      const auto* t = sqlite3_column_text(s, 0);
      out = t ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(s);
    return out;
  }
};

// Copies every page of `from` into `to` in one step (one read transaction on `from`,
// one write transaction on `to`): the copy is the state at one commit.
void copy_pages(sqlite3* to, sqlite3* from, const std::string& what) {
  sqlite3_backup* b = sqlite3_backup_init(to, "main", from, "main");
  if (!b) throw io_error(what + " failed (" + sqlite3_errmsg(to) + ")");
  int rc;
  do {
    rc = sqlite3_backup_step(b, -1);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(25);
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) throw io_error(what + " failed (" + sqlite3_errstr(rc) + ")");
}

// A new, empty file only its owner may read and write (members' names, emails and token
// hashes are in it); refuses to reuse an existing one.
void create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw io_error("cannot create " + path + " (" + std::strerror(errno) + ")");
  ::fchmod(fd, 0600);
  ::close(fd);
}

std::string temporary_beside(const std::string& path) {
  return path + ".convene-tmp-" + std::to_string(::getpid());
}

// Checks that `path` is a convene store this convene can restore: an SQLite file that
// passes integrity_check, with convene's tables, of a schema not newer than ours.
void check_backup(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw StoreError(StoreError::Kind::not_found, "no backup at " + path);
  if (!S_ISREG(st.st_mode)) throw StoreError(StoreError::Kind::invalid, path + " is not a file");
  char header[16] = {};
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    const auto n = std::fread(header, 1, sizeof header, f);
    std::fclose(f);
    if (n != sizeof header || std::string(header, 16) != std::string("SQLite format 3\0", 16))
      throw StoreError(StoreError::Kind::corrupt, path + " is not a convene backup (it is not an SQLite file)");
  } else {
    throw io_error("cannot read " + path + " (" + std::strerror(errno) + ")");
  }
  RawDb db(path, SQLITE_OPEN_READONLY);
  const std::string integrity = db.one("PRAGMA integrity_check");
  if (integrity != "ok") {
    // SQLite's report is many lines ("*** in database main ***", then each page): the
    // message is one line, its first finding.
    std::string finding = integrity.substr(integrity.find('\n') == std::string::npos ? 0 : integrity.find('\n') + 1);
    finding = finding.substr(0, std::min(finding.find('\n'), std::size_t{120}));
    throw StoreError(StoreError::Kind::corrupt, path + " is damaged (integrity check: " + finding +
                                                    "); try an older backup");
  }
  if (db.one("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'") != "1")
    throw StoreError(StoreError::Kind::corrupt, path + " is an SQLite database, but not a convene store");
  const int version = std::atoi(db.one("PRAGMA user_version").c_str());
  if (version > Store::kSchemaVersion) {
    throw StoreError(StoreError::Kind::newer_schema,
                     path + " has schema version " + std::to_string(version) + ", newer than this convene knows (" +
                         std::to_string(Store::kSchemaVersion) + "): upgrade convene to restore it");
  }
}

std::unique_ptr<Store> open_target(const StoreOptions& target) {
  return Store::open({.path = target.path, .clock = target.clock, .create = false, .busy_timeout = target.busy_timeout});
}

// Restoring over `current` (the store at target.path) is refused when it may not be
// written, or holds anything and `replace` was not given.
void refuse_to_replace(const Store& current, const std::string& backup, const StoreOptions& target,
                              bool replace) {
  if (current.read_only()) {
    throw StoreError(StoreError::Kind::read_only, target.path + " is read-only: cannot restore into it");
  }
  if (!replace && (!current.empty() || !current.members().empty())) {
    throw StoreError(StoreError::Kind::invalid,
                     target.path + " already holds a store: restoring " + backup +
                         " would replace all of it (give --replace to do so); nothing was changed");
  }
}

// Refuses `file` when it is the store at `store` or one of its -wal/-shm files (by
// inode, whatever the spelling of the path): a backup written over the store it copies,
// or a store restored from itself, would lose it.
void refuse_the_store_itself(const std::string& file, const std::string& store, const std::string& what) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ec;
    if (std::filesystem::equivalent(file, store + suffix, ec)) {
      throw StoreError(StoreError::Kind::invalid, what + ": " + file + " is the store " + store +
                                                      (*suffix ? std::string(" (its ") + suffix + " file)" : "") +
                                                      " itself; choose another file");
    }
  }
}

}  // namespace

void Store::backup(const std::string& path) const {
  std::lock_guard lock(impl_->mutex);
  refuse_the_store_itself(path, impl_->options.path, "cannot back up into " + path);
  const std::string tmp = temporary_beside(path);
  create_private_file(tmp);
  try {
    {
      RawDb copy(tmp, SQLITE_OPEN_READWRITE);
      copy_pages(copy.db, impl_->db->handle(), "backing up " + impl_->options.path + " to " + path);
      // A single self-contained file: no WAL beside it.
      copy.exec("PRAGMA journal_mode = DELETE", "finishing " + path);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw io_error("cannot write " + path + " (" + ec.message() + ")");
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

void Store::restore_backup(const std::string& backup, const StoreOptions& target, bool replace, bool dry_run) {
  refuse_the_store_itself(backup, target.path, "cannot restore " + backup);
  check_backup(backup);
  struct stat st {};
  const bool exists = ::stat(target.path.c_str(), &st) == 0;
  if (dry_run) {
    if (exists) refuse_to_replace(*open_target(target), backup, target, replace);
    return;
  }
  RawDb from(backup, SQLITE_OPEN_READONLY);
  if (!exists) {
    // A new store: copied beside its place and renamed into it, so nothing else ever
    // sees half of it.
    const std::string tmp = temporary_beside(target.path);
    create_private_file(tmp);
    try {
      {
        RawDb to(tmp, SQLITE_OPEN_READWRITE);
        copy_pages(to.db, from.db, "restoring " + backup + " to " + target.path);
        to.exec("PRAGMA journal_mode = DELETE", "restoring " + target.path);
      }
      std::error_code ec;
      std::filesystem::rename(tmp, target.path, ec);
      if (ec) throw io_error("cannot write " + target.path + " (" + ec.message() + ")");
    } catch (...) {
      std::remove(tmp.c_str());
      throw;
    }
  } else {
    // The store in place, in one write transaction: every reader sees the old state or
    // the restored one. Refused over a store that holds anything, unless asked.
    auto current = open_target(target);
    refuse_to_replace(*current, backup, target, replace);
    const std::uint64_t seen = current->data_version();
    copy_pages(current->impl_->db->handle(), from.db, "restoring " + backup + " to " + target.path);
    // Whoever cached the old state (a running serve) must see that it changed.
    auto bump = current->impl_->db->query("UPDATE meta SET value = max(value, ?1) + 1 WHERE key = 'data_version'");
    bump->bind(1, static_cast<std::int64_t>(seen));
    bump->run();
  }
  // Open it as convene does: WAL, migrations of an older schema, and one read, which makes
  // the persistent -wal and -shm files a reader who may not write the folder needs.
  Store::open({.path = target.path, .clock = target.clock, .create = false, .busy_timeout = target.busy_timeout})
      ->data_version();
}

}  // namespace convene
