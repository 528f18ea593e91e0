// convene/fault_points.h: named places in durable work where a test build may step in.
//
// A fault point marks a step after which a process killed with SIGKILL must still leave
// everything it writes consistent, or a gap between a read and a write that a test wants
// to hold open:
//   "store.step"          a SQLite statement step (scheduler/store_sqlite.cpp)
//   "store.exec"          a statement run by sqlite3_exec (BEGIN, COMMIT, DDL)
//   "store.before-write"  after a change read its occurrence's revision, before it takes
//                         the write lock (the window another writer may use)
//   "sqlite.write", "sqlite.sync", "sqlite.truncate", "sqlite.delete"
//                         the file operations of a database, journal or WAL file, seen by
//                         the test build's SQLite VFS shim (crashes land inside a commit)
//   "mail.sending"        an invitation marked sending, before it is handed to the server
//   "mail.sent"           the SMTP server's 250 came, before the outbox records it (the
//                         window SMTP cannot close: a crash here sends it again)
//   "invite.put"          a CalDAV write (PUT, DELETE) answered, before the mapping records it
//   "remind.sending"      a reminder or notice marked sending, before it is handed to the server
//   "remind.sent"         its 250 came, before the outbox records it (the same window)
//   "remind.wait"         the worker (convene worker) about to wait for its next wake
//   "cloud.write"         a Google or Graph write (insert, patch, delete) answered, before
//                         the mapping records the operation it belongs to
//
// fault_point() does nothing unless a hook is installed: one atomic load of a null
// pointer. `convene`, the binary users run, never installs one. `convene-testing` (built
// from the same CLI sources, integrations/cli/testing/) installs the hook the kill -9 and
// concurrency tests drive through the environment:
//   CONVENE_TEST_CRASH_AFTER=N        SIGKILL at the N-th fault point passed, of any name
//   CONVENE_TEST_CRASH_AT=NAME[:K]    SIGKILL at the K-th (default the first) point NAME
//   CONVENE_TEST_STEPS_FILE=PATH      at exit, write the number of points passed to PATH
//                                     (so a test knows the range to draw N from)
//   CONVENE_TEST_PAUSE_BEFORE_WRITE=FIFO
//                                     at "store.before-write", block until one byte can be
//                                     read from FIFO
//
// How to use (a test build's main):
//   convene::set_fault_hook([](std::string_view point) { if (point == "mail.sent") ::raise(SIGKILL); });
#pragma once

#include <string_view>

namespace convene {

using FaultHook = void (*)(std::string_view point);

// Installs `hook` for the whole process (nullptr removes it). Thread-safe.
void set_fault_hook(FaultHook hook) noexcept;
// The installed hook, or nullptr.
FaultHook fault_hook() noexcept;

// Marks one fault point: calls the hook, if one is installed, with `point`.
inline void fault_point(std::string_view point) {
  if (FaultHook hook = fault_hook()) hook(point);
}

}  // namespace convene
