/*
 * bench/fmt_f64.h - the shortest round-trip decimal form of a double, as
 * Rust's `{}` and Go's strconv.AppendFloat(x, 'f', -1, 64) print it, for the
 * per-message work of the broadcast and watch rows (bench_do_work).
 *
 * What it prints
 * ==============
 *
 * Rust and Go both print the shortest string of digits that reads back as
 * the same double, and of the shortest ones the one nearest the double's
 * exact value, in positional notation (no exponent).  They differ only when
 * x lies exactly halfway between two shortest candidates: Rust rounds that
 * tie up, Go to the even digit.  This follows Rust (Tokio's row is the
 * reference); such ties need a double with few significant bits and never
 * came up in 2,000,000 values of bench_next_f64 (checked against both).
 * Examples: 0.5 is "0.5", 0.1 is "0.1", 2^-53 is
 * "0.00000000000000011102230246251565".  That is what bench_fmt_f64 writes
 * for 0, -0 and every double whose magnitude is below 1 and at least 2^-70
 * (all that bench_next_f64 returns: multiples of 2^-53 in [0, 1)).  Outside
 * that range it falls back to "%.17g", which differs from the peers; the
 * benchmarks never go there.
 *
 * How
 * ===
 *
 * A positive double below 1 is x = m 2^e with an integer m < 2^53.  The
 * doubles next to it lie half an ulp away on each side (a quarter below
 * when m is a power of two: the ulp below is half as large), so, in units
 * of 2^-S with S = 2 - e, the numbers that read back as x are those in the
 * interval (4m - 2, 4m + 2), or (4m - 1, 4m + 2) at a power of two, with
 * its ends included when m is even (reading rounds ties to even).  For
 * k = 1, 2, ... the candidates with k digits after the point are the
 * integers n with n 10^-k in the interval; the first k with any candidate
 * gives the shortest form, and of those candidates the one nearest x.
 *
 * The three numbers (low end, x, high end) are kept as an integer part (the
 * first k digits) and a fraction of S bits; each step multiplies the
 * fraction by 10 and moves the bits above S into the integer part.  The
 * fraction is below 2^S and S is at most 124 in the range above, so ten
 * times it fits in an unsigned __int128 and every step is exact.  At most
 * 17 significant digits are ever needed, so the integer parts fit in 64
 * bits.  Nothing here is copied from Ryu, Grisu or the peers' code; the
 * method is the textbook exact one (Steele and White's free-format
 * printing, with a power-of-two denominator).
 */
#ifndef WEFT_BENCH_FMT_F64_H
#define WEFT_BENCH_FMT_F64_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* GCC and Clang's 128-bit integer (__extension__: not ISO C). */
__extension__ typedef unsigned __int128 fmt_u128;

/*
 * The digit loop of the top, for one fixed-point type T: `lo`, `hi` and
 * `mid` are the interval's ends and x in units of 2^-s; sets *digits to the
 * chosen candidate and returns k, its number of digits after the point.
 * Written once as a macro so that a 64-bit and a 128-bit version exist:
 * the 64-bit one serves every x from 2^-6 up (s <= 60, so ten times a
 * fraction still fits), which is most of what the benchmark prints.
 */
#define FMT_SHORTEST_LOOP(T, lo0, hi0, mid0, s, inclusive, digits)                      \
    do {                                                                                \
        const T mask_ = ((T)1 << (s)) - 1, half_ = (T)1 << ((s)-1);                     \
        T lof_ = (lo0), hif_ = (hi0), midf_ = (mid0);                                   \
        uint64_t low_ = 0, hiw_ = 0, midw_ = 0, first_, last_, pick_;                  \
        for (k = 1;; k++) {                                                             \
            lof_ *= 10;                                                                 \
            hif_ *= 10;                                                                 \
            midf_ *= 10;                                                                \
            low_ = low_ * 10 + (uint64_t)(lof_ >> (s));                                \
            hiw_ = hiw_ * 10 + (uint64_t)(hif_ >> (s));                                \
            midw_ = midw_ * 10 + (uint64_t)(midf_ >> (s));                             \
            lof_ &= mask_;                                                              \
            hif_ &= mask_;                                                              \
            midf_ &= mask_;                                                             \
            /* The smallest candidate at or above the low end and the                \
             * largest at or below the high end (ends only if inclusive). */          \
            first_ = low_ + (lof_ != 0 || !(inclusive));                               \
            if (hif_ != 0 || (inclusive)) {                                            \
                if (first_ > hiw_)                                                     \
                    continue;                                                          \
                last_ = hiw_;                                                          \
            } else {                                                                   \
                if (first_ >= hiw_)                                                    \
                    continue;                                                          \
                last_ = hiw_ - 1;                                                      \
            }                                                                          \
            /* The candidate nearest x (an exact tie rounds up, as Rust              \
             * does), kept inside the interval. */                                    \
            pick_ = midw_ + (midf_ >= half_);                                          \
            if (pick_ < first_)                                                        \
                pick_ = first_;                                                        \
            if (pick_ > last_)                                                         \
                pick_ = last_;                                                         \
            *(digits) = pick_;                                                         \
            break;                                                                     \
        }                                                                              \
    } while (0)

/*
 * The same choice made faster for 2^-6 <= x < 1 (s <= 60): instead of one
 * digit at a time, take K = 17 digits after the first significant one at
 * once (one 64 x 64 -> 128-bit product per number), then drop digits from
 * the right while the interval still holds a candidate with that many
 * digits (if one holds a candidate, every longer length does too, so the
 * last length that does is the shortest).  Returns k as the loop does, or 0
 * when 17 digits hold no candidate (impossible for a double; the caller then
 * takes the loop).
 */
static inline unsigned fmt_shortest_fast(uint64_t lo, uint64_t hi, uint64_t mid, unsigned s,
                                         int inclusive, uint64_t *digits)
{
    const uint64_t mask = ((uint64_t)1 << s) - 1, half = (uint64_t)1 << (s - 1);
    /* One leading zero below 0.1 (10 mid < 2^s), so 17 significant digits. */
    unsigned kk = 10 * mid < ((uint64_t)1 << s) ? 18 : 17, j;
    const uint64_t p10 = kk == 18 ? 1000000000000000000u : 100000000000000000u;
    fmt_u128 lp = (fmt_u128)lo * p10, hp = (fmt_u128)hi * p10, mp = (fmt_u128)mid * p10;
    uint64_t lw = (uint64_t)(lp >> s), hw = (uint64_t)(hp >> s), mw = (uint64_t)(mp >> s);
    /* Whether the ends are exact at this length; the dropped digit of x. */
    int lexact = ((uint64_t)lp & mask) == 0, hexact = ((uint64_t)hp & mask) == 0;
    int up = ((uint64_t)mp & mask) >= half;
    uint64_t first, last, best_first = 0, best_last = 0, best_mid = 0;
    int found = 0, best_up = 0;

    for (j = 0; j < kk; j++) {
        first = lw + (!lexact || !inclusive);
        if (!hexact || inclusive) {
            if (first > hw)
                break;
            last = hw;
        } else {
            if (first >= hw)
                break;
            last = hw - 1;
        }
        found = 1;
        best_first = first;
        best_last = last;
        best_mid = mw;
        best_up = up;
        /* One digit fewer. */
        lexact = lexact && lw % 10 == 0;
        hexact = hexact && hw % 10 == 0;
        up = mw % 10 >= 5;
        lw /= 10;
        hw /= 10;
        mw /= 10;
    }
    if (!found)
        return 0;
    /* The candidate nearest x (an exact tie rounds up, as Rust does). */
    *digits = best_mid + (uint64_t)best_up;
    if (*digits < best_first)
        *digits = best_first;
    if (*digits > best_last)
        *digits = best_last;
    return kk - (j - 1);
}

/* Writes `n` as exactly `width` decimal digits (zero-padded); returns width. */
static inline size_t fmt_digits(char *out, uint64_t n, unsigned width)
{
    for (unsigned i = width; i > 0; i--) {
        out[i - 1] = (char)('0' + n % 10);
        n /= 10;
    }
    return width;
}

/*
 * Writes the shortest round-trip form of `x` (see the top) to `out`, which
 * must have room for 64 bytes, without a terminating NUL.  Returns the
 * number of bytes written.
 */
static inline size_t bench_fmt_f64(char *out, double x)
{
    uint64_t bits, m, digits;
    unsigned bexp, s, k;
    size_t len = 0;
    int n, inclusive;
    uint64_t down;

    memcpy(&bits, &x, sizeof(bits));
    if (bits >> 63)
        out[len++] = '-';
    bits &= ~((uint64_t)1 << 63);
    if (bits == 0) {
        out[len++] = '0';
        return len;
    }
    bexp = (unsigned)(bits >> 52);
    /* Below 1 (bexp < 1023) and at least 2^-70 (e = bexp - 1075 >= -122). */
    if (bexp >= 1023 || bexp < 953) {
        n = snprintf(out + len, 64 - len, "%.17g", x);
        return n > 0 ? len + (size_t)n : len;
    }
    m = (bits & (((uint64_t)1 << 52) - 1)) | ((uint64_t)1 << 52);
    s = 2 + 1075 - bexp;
    inclusive = (m & 1) == 0;
    /* The ulp below a power of two is half the one above. */
    down = m == (uint64_t)1 << 52 ? 1 : 2;
    if (s <= 60) {
        k = fmt_shortest_fast(4 * m - down, 4 * m + 2, 4 * m, s, inclusive, &digits);
        if (k == 0)
            FMT_SHORTEST_LOOP(uint64_t, 4 * m - down, 4 * m + 2, 4 * m, s, inclusive, &digits);
    } else
        FMT_SHORTEST_LOOP(fmt_u128, 4 * (fmt_u128)m - down, 4 * (fmt_u128)m + 2,
                          4 * (fmt_u128)m, s, inclusive, &digits);
    out[len++] = '0';
    out[len++] = '.';
    len += fmt_digits(out + len, digits, k);
    return len;
}

#undef FMT_SHORTEST_LOOP

#endif /* WEFT_BENCH_FMT_F64_H */
