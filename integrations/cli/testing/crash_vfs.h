// The test build's SQLite VFS shim: every write, sync, truncate and delete of a database,
// journal or WAL file passes a fault point ("sqlite.write", ...), so a crash injected by
// convene-testing can land inside SQLite's commit, not only between statements. Half a
// page is sometimes written before the point, so a kill may land inside one write too.
#pragma once

namespace convene::testing_build {

// Registers the shim as SQLite's default VFS (over the platform's). Call once, before
// the first database is opened.
void install_crash_vfs();

}  // namespace convene::testing_build
