#ifndef RECKON_CLIBSSH2_SHIM_H
#define RECKON_CLIBSSH2_SHIM_H
// libssh2's session and SFTP API, as Debian's libssh2-1-dev ships it (1.10). Its
// function-like macros (libssh2_session_init, libssh2_sftp_open, ...) do not reach
// Swift; ReckonSFTP calls the _ex functions they stand for.
#include <libssh2.h>
#include <libssh2_sftp.h>
#endif
