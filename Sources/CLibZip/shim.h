#ifndef RECKON_CLIBZIP_SHIM_H
#define RECKON_CLIBZIP_SHIM_H
// libzip, for the outbox's zip of a partner-day's files (written with fixed entry times so a
// rerun gives the same bytes) and the bounded reader of inbound archives.
#include <zip.h>
#endif
