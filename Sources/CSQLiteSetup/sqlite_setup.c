#include <sqlite3.h>
#include "sqlite_setup.h"

int reckon_sqlite_setup(void) {
    int code = sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    if (code != SQLITE_OK) return code;
    code = sqlite3_config(SQLITE_CONFIG_URI, 1);
    if (code != SQLITE_OK) return code;
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
