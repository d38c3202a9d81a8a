/* The public headers compile as C++ and give every public struct the size and alignment the C compiler gives it (static assertions against values printed by a C program). */
#include "weft.h"
#include "layout_types.h"
#include "layout_c.h"

#define CHECK_LAYOUT(T)                                                        \
	static_assert(sizeof(T) == C_SIZEOF_##T, "sizeof " #T " differs in C++"); \
	static_assert(alignof(T) == C_ALIGNOF_##T, "alignof " #T " differs in C++");
#define CHECK_LAYOUT_PRIVATE(T)                                                \
	static_assert(sizeof(struct T) == C_SIZEOF_##T, "sizeof " #T " differs in C++"); \
	static_assert(alignof(struct T) == C_ALIGNOF_##T, "alignof " #T " differs in C++");

WEFT_LAYOUT_TYPES(CHECK_LAYOUT)
WEFT_LAYOUT_PRIVATE(CHECK_LAYOUT_PRIVATE)

int main()
{
	/* Everything is checked at compile time; reaching here is a pass. */
	return 0;
}
