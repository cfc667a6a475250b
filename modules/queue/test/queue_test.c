
/*
 * Unit tests of the delivery queue's parsers, the SMTP reply parser and
 * the DNS answer handling, printing TAP for t/queue-05-parsers.t.
 */

#include <stdarg.h>
#include <stdio.h>

#include "queue_test.h"


static unsigned  tests;
static unsigned  failed;


void
ok(int cond, const char *fmt, ...)
{
    va_list  ap;

    tests++;

    if (!cond) {
        failed++;
    }

    printf("%sok %u - ", cond ? "" : "not ", tests);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}


int
main(void)
{
    test_reply();
    test_mx();
    test_report();
    test_downgrade();

    printf("1..%u\n", tests);

    return failed ? 1 : 0;
}
