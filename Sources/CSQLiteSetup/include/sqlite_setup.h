#ifndef RECKON_SQLITE_SETUP_H
#define RECKON_SQLITE_SETUP_H

/// Puts SQLite in multi-thread mode (no per-connection mutexes; GRDB already serialises
/// each connection) without memory statistics (no global mutex around every allocation),
/// and lets file names be `file:` URIs (a read-only ledger is opened `?immutable=1`).
/// `sqlite3_config` is variadic, which Swift cannot call: hence this shim. It takes effect
/// only before SQLite is first used in the process; returns SQLite's result code
/// (SQLITE_MISUSE when it is too late, which leaves the defaults in place).
int reckon_sqlite_setup(void);

#endif
