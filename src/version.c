/*
 * src/version.c - the library's version at run time: the numbers the
 * library was built with, which weft/version.h also gives the program at
 * compile time.
 */
#include "weft/version.h"

int weft_version(void)
{
	return WEFT_VERSION_NUMBER;
}

const char *weft_version_string(void)
{
	return WEFT_VERSION_STRING;
}
