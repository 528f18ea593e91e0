// A thin RAII layer over the SQLite C API for the store: a connection with a cache of
// prepared statements, statements with typed binds and reads, transactions that roll
// back unless committed, and the mapping of SQLite result codes to StoreError kinds.
// Nothing outside scheduler/store*.cpp includes this.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convene/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace convene::store_internal {

class Connection;

// A prepared statement. Binds are 1-based, columns 0-based (as in SQLite).
class Statement {
 public:
  Statement(Connection& connection, sqlite3_stmt* stmt) : connection_(&connection), stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::optional<std::string>& value);
  Statement& bind(int index, const std::optional<std::int64_t>& value);
  Statement& bind_null(int index);
  Statement& bind_blob(int index, const void* data, std::size_t size);

  // Steps once: true when a row is ready.
  bool step();
  // Steps to the end (a statement that returns no rows).
  void run();
  // Ready to run again, with binds cleared.
  void reset();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;
  std::vector<unsigned char> blob(int column) const;

 private:
  Connection* connection_;
  sqlite3_stmt* stmt_;
};

// A statement from the connection's cache, reset when this handle goes away.
class CachedStatement {
 public:
  explicit CachedStatement(Statement& s) : s_(&s) {}
  ~CachedStatement() { s_->reset(); }
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  Statement* operator->() { return s_; }
  Statement& operator*() { return *s_; }

 private:
  Statement* s_;
};

class Connection {
 public:
  // Opens the file (creating it when `create`). Throws StoreError.
  Connection(const std::string& path, bool create, bool read_only, int busy_timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() { return db_; }
  const std::string& path() const { return path_; }

  // Runs one or more statements that return no rows.
  void exec(const std::string& sql);
  // A statement prepared once and kept for the connection's life.
  CachedStatement query(const char* sql);

  // Keeps the -wal and -shm files when the last connection closes (SQLITE_FCNTL_PERSIST_WAL).
  void persist_wal();

  // Throws the StoreError that `rc` (a SQLite result code) means, naming `what`.
  [[noreturn]] void fail(int rc, const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  std::map<const char*, std::unique_ptr<Statement>> cache_;
  friend class Statement;
};

// BEGIN IMMEDIATE (the write lock, taken at once, waiting up to the busy timeout) or a
// deferred read transaction; rolled back unless commit() is called.
class Transaction {
 public:
  enum class Mode { read, write };
  Transaction(Connection& connection, Mode mode);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& connection_;
  bool open_ = false;
};

// A read-only connection to a WAL database needs its -wal and -shm files: SQLite reads
// them (the -shm read-only, with a private copy of the index), but cannot create them
// where the folder may not be written. Throws StoreError(read_only) naming what is
// missing or unreadable, and what to do, when they are not there to read.
void check_wal_readable(const std::string& path);

// The StoreError kind a SQLite result code means.
StoreError::Kind error_kind(int rc);


}  // namespace convene::store_internal
