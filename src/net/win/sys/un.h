/* src/net/win/sys/un.h - on Windows, the POSIX header src/net includes maps to
 * Winsock (src/net/platform_win32.h). */
#include "../../platform_win32.h"
