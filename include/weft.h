/*
 * weft.h - the umbrella header: includes every public weft header.
 */
#ifndef WEFT_H
#define WEFT_H

#include "weft/version.h"
#include "weft/future.h"
#include "weft/runtime.h"
#include "weft/task.h"
#include "weft/chan.h"
#include "weft/blocking.h"
#include "weft/combinators.h"
#include "weft/sync.h"
#include "weft/time.h"
#include "weft/io.h"
#include "weft/net.h"
#include "weft/embed.h"
#include "weft/metrics.h"
#include "weft/fs.h"

#endif /* WEFT_H */
