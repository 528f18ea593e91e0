// The SQLite layer of the store: connection, statements, transactions, error mapping.
// Every statement passes a fault point (convene/fault_points.h) for the kill -9 tests.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <sqlite3.h>

#include "convene/fault_points.h"
#include "internal/store_sqlite.h"

namespace convene::store_internal {

// --- errors --------------------------------------------------------------------

StoreError::Kind error_kind(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StoreError::Kind::locked;
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return StoreError::Kind::read_only;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return StoreError::Kind::corrupt;
    case SQLITE_CANTOPEN:
      return StoreError::Kind::not_found;
    default:
      return StoreError::Kind::io;
  }
}

void Connection::fail(int rc, const std::string& what) const {
  const std::string detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  switch (error_kind(rc)) {
    case StoreError::Kind::locked:
      throw StoreError(StoreError::Kind::locked,
                       path_ + " is locked by another process (" + detail +
                           "); nothing was changed, try again in a moment");
    case StoreError::Kind::read_only:
      throw StoreError(StoreError::Kind::read_only,
                       path_ + " cannot be written (" + detail + "): check the permissions of "
                               "the file and its folder; nothing was changed");
    case StoreError::Kind::corrupt:
      throw StoreError(StoreError::Kind::corrupt,
                       path_ + " is not a convene database, or it is damaged (" + detail + ")");
    case StoreError::Kind::not_found:
      throw StoreError(StoreError::Kind::io, "cannot open " + path_ + " (" + detail + ")");
    default:
      throw StoreError(StoreError::Kind::io, path_ + ": " + what + " failed (" + detail + ")");
  }
}

// --- connection ------------------------------------------------------------------

Connection::Connection(const std::string& path, bool create, bool read_only, int busy_timeout_ms)
    : path_(path) {
  int flags = SQLITE_OPEN_NOMUTEX;  // the Store serializes access itself
  if (read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (create) flags |= SQLITE_OPEN_CREATE;
  }
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    if ((rc & 0xff) == SQLITE_CANTOPEN) {
      throw StoreError(StoreError::Kind::read_only,
                       "cannot open " + path + " (" + detail +
                           "): check that its folder exists and may be written");
    }
    fail(rc, "opening");
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

void Connection::persist_wal() {
  int on = 1;
  sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
}

void check_wal_readable(const std::string& path) {
  const std::string folder = std::filesystem::path(path).parent_path().empty()
                                 ? std::string(".")
                                 : std::filesystem::path(path).parent_path().string();
  const bool folder_writable = ::access(folder.c_str(), W_OK) == 0;
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string file = path + suffix;
    if (::access(file.c_str(), F_OK) != 0) {
      if (folder_writable) continue;  // SQLite creates it
      throw StoreError(StoreError::Kind::read_only,
                       "cannot read " + path + ": " + file + " does not exist and its folder may not be written; "
                       "run any convene command on it once as a user who may write it (convene keeps that file), "
                       "or let this user write the folder");
    }
    if (::access(file.c_str(), R_OK) != 0) {
      throw StoreError(StoreError::Kind::read_only,
                       "cannot read " + path + ": " + file + " may not be read by this user (give it the same "
                       "owner, group and mode as " + path + ")");
    }
  }
}

Connection::~Connection() {
  cache_.clear();
  if (db_) sqlite3_close_v2(db_);
}

void Connection::exec(const std::string& sql) {
  fault_point("store.exec");
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (message) sqlite3_free(message);
  if (rc != SQLITE_OK) fail(rc, "running \"" + sql.substr(0, 40) + "\"");
}

CachedStatement Connection::query(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) fail(rc, std::string("preparing \"") + sql + "\"");
    it = cache_.emplace(sql, std::make_unique<Statement>(*this, stmt)).first;
  }
  return CachedStatement(*it->second);
}

// --- statements ------------------------------------------------------------------

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) connection_->fail(rc, "binding");
  return *this;
}
Statement& Statement::bind(int index, std::string_view value) {
  const int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                                   SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) connection_->fail(rc, "binding");
  return *this;
}
Statement& Statement::bind(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bind_null(index);
}
Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}
Statement& Statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) connection_->fail(rc, "binding");
  return *this;
}
Statement& Statement::bind_blob(int index, const void* data, std::size_t size) {
  const int rc = sqlite3_bind_blob(stmt_, index, data, static_cast<int>(size), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) connection_->fail(rc, "binding");
  return *this;
}

bool Statement::step() {
  fault_point("store.step");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(stmt_) ? sqlite3_sql(stmt_) : "";
  sqlite3_reset(stmt_);
  connection_->fail(rc, "running \"" + sql.substr(0, 40) + "\"");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }
std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}
std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}
std::optional<std::int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}
std::vector<unsigned char> Statement::blob(int column) const {
  const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::vector<unsigned char>(p, p + n) : std::vector<unsigned char>();
}

// --- transactions ----------------------------------------------------------------

Transaction::Transaction(Connection& connection, Mode mode) : connection_(connection) {
  connection_.exec(mode == Mode::write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  open_ = true;
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(connection_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  connection_.exec("COMMIT");
  open_ = false;
}

}  // namespace convene::store_internal
