/*
 * What the bare-metal MMU tests print: one line per check, "ok NAME A B"
 * or "FAIL NAME A B" with the values it saw, and a summary.  The test
 * defines putc_() before it includes this file.
 *
 * Copyright (c) 2026 qemu-espt developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef BARE_REPORT_H
#define BARE_REPORT_H

static unsigned nb_ok, nb_bad;

static void puts_(const char *s)
{
    while (*s) {
        putc_(*s++);
    }
}

static void hex(uint32_t v)
{
    int i;

    puts_("0x");
    for (i = 28; i >= 0; i -= 4) {
        putc_("0123456789abcdef"[(v >> i) & 15]);
    }
}

/* Report a check with the @n (2 or 3) values it saw. */
static void check3(const char *name, int ok, uint32_t a, uint32_t b,
                   uint32_t c, int n)
{
    puts_(ok ? "ok   " : "FAIL ");
    puts_(name);
    puts_(" ");
    hex(a);
    puts_(" ");
    hex(b);
    if (n > 2) {
        puts_(" ");
        hex(c);
    }
    puts_("\n");
    if (ok) {
        nb_ok++;
    } else {
        nb_bad++;
    }
}

static void check(const char *name, int ok, uint32_t a, uint32_t b)
{
    check3(name, ok, a, b, 0, 2);
}

/* "@test: N passed, M failed", N and M in hex. */
static void summary(const char *test)
{
    puts_(test);
    puts_(": ");
    hex(nb_ok);
    puts_(" passed, ");
    hex(nb_bad);
    puts_(" failed\n");
}

#endif
