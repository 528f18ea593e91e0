#include "crash_vfs.h"

#include <atomic>
#include <cstring>

#include <sqlite3.h>

#include "convene/fault_points.h"

namespace convene::testing_build {
namespace {

sqlite3_vfs* g_base = nullptr;
sqlite3_vfs g_shim;
std::atomic<long> g_writes{0};

struct ShimFile {
  sqlite3_file base;  // must be first: SQLite sees this
  sqlite3_file* real;
};

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f)->real; }

int shim_close(sqlite3_file* f) {
  auto* s = reinterpret_cast<ShimFile*>(f);
  const int rc = s->real->pMethods ? s->real->pMethods->xClose(s->real) : SQLITE_OK;
  sqlite3_free(s->real);
  return rc;
}
int shim_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return real(f)->pMethods->xRead(real(f), buf, n, off);
}
int shim_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  fault_point("sqlite.write");
  sqlite3_file* r = real(f);
  // Half a page now and then, with a fault point between the halves.
  if (n > 512 && (g_writes.fetch_add(1) % 7) == 3) {
    const int rc = r->pMethods->xWrite(r, buf, n / 2, off);
    if (rc != SQLITE_OK) return rc;
    fault_point("sqlite.write");
    return r->pMethods->xWrite(r, static_cast<const char*>(buf) + n / 2, n - n / 2, off + n / 2);
  }
  return r->pMethods->xWrite(r, buf, n, off);
}
int shim_truncate(sqlite3_file* f, sqlite3_int64 size) {
  fault_point("sqlite.truncate");
  return real(f)->pMethods->xTruncate(real(f), size);
}
int shim_sync(sqlite3_file* f, int flags) {
  fault_point("sqlite.sync");
  return real(f)->pMethods->xSync(real(f), flags);
}
int shim_file_size(sqlite3_file* f, sqlite3_int64* size) { return real(f)->pMethods->xFileSize(real(f), size); }
int shim_lock(sqlite3_file* f, int lock) { return real(f)->pMethods->xLock(real(f), lock); }
int shim_unlock(sqlite3_file* f, int lock) { return real(f)->pMethods->xUnlock(real(f), lock); }
int shim_check_reserved(sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); }
int shim_file_control(sqlite3_file* f, int op, void* arg) { return real(f)->pMethods->xFileControl(real(f), op, arg); }
int shim_sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int shim_device_characteristics(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
int shim_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
}
int shim_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void shim_shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int shim_shm_unmap(sqlite3_file* f, int del) { return real(f)->pMethods->xShmUnmap(real(f), del); }

// Version 2 methods (WAL needs the shm ones); no memory-mapped I/O through the shim.
const sqlite3_io_methods kMethods = {
    2,          shim_close,          shim_read,      shim_write,   shim_truncate,
    shim_sync,  shim_file_size,      shim_lock,      shim_unlock,  shim_check_reserved,
    shim_file_control, shim_sector_size, shim_device_characteristics, shim_shm_map, shim_shm_lock,
    shim_shm_barrier, shim_shm_unmap, nullptr, nullptr,
};

int shim_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* s = reinterpret_cast<ShimFile*>(file);
  s->base.pMethods = nullptr;
  s->real = static_cast<sqlite3_file*>(sqlite3_malloc(g_base->szOsFile));
  if (!s->real) return SQLITE_NOMEM;
  std::memset(s->real, 0, static_cast<std::size_t>(g_base->szOsFile));
  const int rc = g_base->xOpen(g_base, name, s->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    sqlite3_free(s->real);
    s->real = nullptr;
    return rc;
  }
  s->base.pMethods = &kMethods;
  return SQLITE_OK;
}
int shim_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  fault_point("sqlite.delete");
  return g_base->xDelete(g_base, name, sync_dir);
}
// The rest forwards to the platform's VFS with its own sqlite3_vfs (it may use pAppData).
int shim_access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_base->xAccess(g_base, name, flags, out); }
int shim_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* shim_dl_open(sqlite3_vfs*, const char* name) { return g_base->xDlOpen(g_base, name); }
void shim_dl_error(sqlite3_vfs*, int n, char* out) { g_base->xDlError(g_base, n, out); }
void (*shim_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) { return g_base->xDlSym(g_base, h, sym); }
void shim_dl_close(sqlite3_vfs*, void* h) { g_base->xDlClose(g_base, h); }
int shim_randomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int shim_sleep(sqlite3_vfs*, int us) { return g_base->xSleep(g_base, us); }
int shim_current_time(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int shim_last_error(sqlite3_vfs*, int n, char* out) {
  return g_base->xGetLastError ? g_base->xGetLastError(g_base, n, out) : 0;
}
int shim_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) { return g_base->xCurrentTimeInt64(g_base, out); }

}  // namespace

void install_crash_vfs() {
  sqlite3_initialize();
  g_base = sqlite3_vfs_find(nullptr);
  if (!g_base) return;
  g_shim = *g_base;
  g_shim.iVersion = 2;  // no xSetSystemCall & co.
  g_shim.szOsFile = static_cast<int>(sizeof(ShimFile));
  g_shim.zName = "convene-crash";
  g_shim.pAppData = nullptr;
  g_shim.xOpen = shim_open;
  g_shim.xDelete = shim_delete;
  g_shim.xAccess = shim_access;
  g_shim.xFullPathname = shim_full_pathname;
  g_shim.xDlOpen = shim_dl_open;
  g_shim.xDlError = shim_dl_error;
  g_shim.xDlSym = shim_dl_sym;
  g_shim.xDlClose = shim_dl_close;
  g_shim.xRandomness = shim_randomness;
  g_shim.xSleep = shim_sleep;
  g_shim.xCurrentTime = shim_current_time;
  g_shim.xGetLastError = shim_last_error;
  g_shim.xCurrentTimeInt64 = shim_current_time_int64;
  sqlite3_vfs_register(&g_shim, 1);
}

}  // namespace convene::testing_build
