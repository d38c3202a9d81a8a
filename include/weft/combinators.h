/* placeholder */
#ifndef WEFT_COMBINATORS_H
#define WEFT_COMBINATORS_H
#endif
