/* The version macros match meson's project version, and the library reports the same at run time. */
#include <stdio.h>
#include <string.h>

#include <weft.h>

int main(void)
{
	char expect[64];

	snprintf(expect, sizeof(expect), "%d.%d.%d", WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR,
		 WEFT_VERSION_PATCH);
	if (strcmp(WEFT_VERSION_STRING, PROJECT_VERSION) != 0 || strcmp(expect, PROJECT_VERSION) != 0) {
		printf("headers say %s (%s), meson says %s\n", WEFT_VERSION_STRING, expect,
		       PROJECT_VERSION);
		return 1;
	}
	if (weft_version() != WEFT_VERSION_NUMBER ||
	    WEFT_VERSION_NUMBER != WEFT_VERSION_MAJOR * 10000 + WEFT_VERSION_MINOR * 100 + WEFT_VERSION_PATCH) {
		printf("weft_version() %d, WEFT_VERSION_NUMBER %d\n", weft_version(), WEFT_VERSION_NUMBER);
		return 1;
	}
	if (strcmp(weft_version_string(), PROJECT_VERSION) != 0) {
		printf("weft_version_string() %s\n", weft_version_string());
		return 1;
	}
	printf("weft %s\n", weft_version_string());
	return 0;
}
