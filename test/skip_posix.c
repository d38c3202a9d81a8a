/*
 * Stands in for a test that needs what the platform lacks (a Windows
 * build: pipes, rlimits): prints the reason given as its argument and
 * exits 77, so meson reports a skip instead of leaving the test out.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("skipped: %s\n", argc > 1 ? argv[1] : "not available on this platform");
	return 77;
}
