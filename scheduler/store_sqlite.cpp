// The SQLite layer of the store: connection, statements, transactions, error mapping,
// and the crash-test hook (a VFS shim that counts I/O steps).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <string>
#include <mutex>

#include <sqlite3.h>

#include "internal/store_sqlite.h"

namespace convene::store_internal {

// --- the crash hook ----------------------------------------------------------

namespace {

std::atomic<long> g_crash_after{0};  // 0: off
std::atomic<long> g_steps{0};

sqlite3_vfs* g_base_vfs = nullptr;

struct ShimFile {
  sqlite3_file base;  // must be first: SQLite sees this
  sqlite3_file* real;
};

int shim_close(sqlite3_file* f) {
  auto* s = reinterpret_cast<ShimFile*>(f);
  int rc = s->real->pMethods ? s->real->pMethods->xClose(s->real) : SQLITE_OK;
  sqlite3_free(s->real);
  return rc;
}
int shim_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xRead(r, buf, n, off);
}
int shim_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  crash_point();
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  // Half a page now and then: a kill may also land inside one write.
  if (n > 512 && g_crash_after.load() > 0 && (g_steps.load() % 7) == 3) {
    int rc = r->pMethods->xWrite(r, buf, n / 2, off);
    if (rc != SQLITE_OK) return rc;
    crash_point();
    return r->pMethods->xWrite(r, static_cast<const char*>(buf) + n / 2, n - n / 2, off + n / 2);
  }
  return r->pMethods->xWrite(r, buf, n, off);
}
int shim_truncate(sqlite3_file* f, sqlite3_int64 size) {
  crash_point();
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xTruncate(r, size);
}
int shim_sync(sqlite3_file* f, int flags) {
  crash_point();
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xSync(r, flags);
}
int shim_file_size(sqlite3_file* f, sqlite3_int64* size) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xFileSize(r, size);
}
int shim_lock(sqlite3_file* f, int lock) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xLock(r, lock);
}
int shim_unlock(sqlite3_file* f, int lock) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xUnlock(r, lock);
}
int shim_check_reserved(sqlite3_file* f, int* out) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xCheckReservedLock(r, out);
}
int shim_file_control(sqlite3_file* f, int op, void* arg) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xFileControl(r, op, arg);
}
int shim_sector_size(sqlite3_file* f) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xSectorSize(r);
}
int shim_device_characteristics(sqlite3_file* f) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xDeviceCharacteristics(r);
}
int shim_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xShmMap(r, page, size, extend, out);
}
int shim_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xShmLock(r, offset, n, flags);
}
void shim_shm_barrier(sqlite3_file* f) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  r->pMethods->xShmBarrier(r);
}
int shim_shm_unmap(sqlite3_file* f, int del) {
  auto* r = reinterpret_cast<ShimFile*>(f)->real;
  return r->pMethods->xShmUnmap(r, del);
}

// Version 2 methods (WAL needs the shm ones); no memory-mapped I/O through the shim.
const sqlite3_io_methods kShimMethods = {
    2,
    shim_close,
    shim_read,
    shim_write,
    shim_truncate,
    shim_sync,
    shim_file_size,
    shim_lock,
    shim_unlock,
    shim_check_reserved,
    shim_file_control,
    shim_sector_size,
    shim_device_characteristics,
    shim_shm_map,
    shim_shm_lock,
    shim_shm_barrier,
    shim_shm_unmap,
    nullptr,
    nullptr,
};

int shim_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* s = reinterpret_cast<ShimFile*>(file);
  s->base.pMethods = nullptr;
  s->real = static_cast<sqlite3_file*>(sqlite3_malloc(g_base_vfs->szOsFile));
  if (!s->real) return SQLITE_NOMEM;
  std::memset(s->real, 0, static_cast<std::size_t>(g_base_vfs->szOsFile));
  int rc = g_base_vfs->xOpen(g_base_vfs, name, s->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    sqlite3_free(s->real);
    s->real = nullptr;
    return rc;
  }
  s->base.pMethods = &kShimMethods;
  return SQLITE_OK;
}
int shim_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  crash_point();
  return g_base_vfs->xDelete(g_base_vfs, name, sync_dir);
}
int shim_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base_vfs->xAccess(g_base_vfs, name, flags, out);
}
int shim_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base_vfs->xFullPathname(g_base_vfs, name, n, out);
}
void* shim_dl_open(sqlite3_vfs*, const char* name) { return g_base_vfs->xDlOpen(g_base_vfs, name); }
void shim_dl_error(sqlite3_vfs*, int n, char* out) { g_base_vfs->xDlError(g_base_vfs, n, out); }
void (*shim_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return g_base_vfs->xDlSym(g_base_vfs, h, sym);
}
void shim_dl_close(sqlite3_vfs*, void* h) { g_base_vfs->xDlClose(g_base_vfs, h); }
int shim_randomness(sqlite3_vfs*, int n, char* out) { return g_base_vfs->xRandomness(g_base_vfs, n, out); }
int shim_sleep(sqlite3_vfs*, int us) { return g_base_vfs->xSleep(g_base_vfs, us); }
int shim_current_time(sqlite3_vfs*, double* out) { return g_base_vfs->xCurrentTime(g_base_vfs, out); }
int shim_last_error(sqlite3_vfs*, int n, char* out) {
  return g_base_vfs->xGetLastError ? g_base_vfs->xGetLastError(g_base_vfs, n, out) : 0;
}
int shim_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base_vfs->xCurrentTimeInt64(g_base_vfs, out);
}

sqlite3_vfs g_shim_vfs;

}  // namespace

void crash_point() {
  const long after = g_crash_after.load(std::memory_order_relaxed);
  const long step = g_steps.fetch_add(1, std::memory_order_relaxed) + 1;
  if (after > 0 && step >= after) ::kill(::getpid(), SIGKILL);
}

void install_crash_hook_from_environment() {
  static std::once_flag once;
  std::call_once(once, [] {
    // CONVENE_TEST_STEPS_FILE=PATH: write the number of steps taken to PATH at exit, so a
    // test knows the range in which to choose crash points.
    if (const char* steps_file = std::getenv("CONVENE_TEST_STEPS_FILE"); steps_file && *steps_file) {
      static std::string path = steps_file;
      std::atexit([] {
        if (FILE* f = std::fopen(path.c_str(), "w")) {
          std::fprintf(f, "%ld\n", g_steps.load());
          std::fclose(f);
        }
      });
    }
    const char* text = std::getenv("CONVENE_TEST_CRASH_AFTER");
    if (!text || !*text) return;
    const long after = std::strtol(text, nullptr, 10);
    if (after <= 0) return;
    sqlite3_initialize();
    g_base_vfs = sqlite3_vfs_find(nullptr);
    if (!g_base_vfs) return;
    g_shim_vfs = *g_base_vfs;
    g_shim_vfs.iVersion = 2;
    g_shim_vfs.szOsFile = static_cast<int>(sizeof(ShimFile));
    g_shim_vfs.zName = "convene-crash";
    g_shim_vfs.pAppData = nullptr;
    g_shim_vfs.xOpen = shim_open;
    g_shim_vfs.xDelete = shim_delete;
    g_shim_vfs.xAccess = shim_access;
    g_shim_vfs.xFullPathname = shim_full_pathname;
    g_shim_vfs.xDlOpen = shim_dl_open;
    g_shim_vfs.xDlError = shim_dl_error;
    g_shim_vfs.xDlSym = shim_dl_sym;
    g_shim_vfs.xDlClose = shim_dl_close;
    g_shim_vfs.xRandomness = shim_randomness;
    g_shim_vfs.xSleep = shim_sleep;
    g_shim_vfs.xCurrentTime = shim_current_time;
    g_shim_vfs.xGetLastError = shim_last_error;
    g_shim_vfs.xCurrentTimeInt64 = shim_current_time_int64;
    sqlite3_vfs_register(&g_shim_vfs, 1);
    g_crash_after.store(after);
  });
}

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
  install_crash_hook_from_environment();
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

Connection::~Connection() {
  cache_.clear();
  if (db_) sqlite3_close_v2(db_);
}

void Connection::exec(const std::string& sql) {
  crash_point();
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
  crash_point();
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
