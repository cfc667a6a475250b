
/*
 * What the unit tests of the queue's parsers share: TAP output for
 * t/queue-05-parsers.t.
 */

#ifndef _QUEUE_TEST_H_INCLUDED_
#define _QUEUE_TEST_H_INCLUDED_


void ok(int cond, const char *fmt, ...);

void test_reply(void);
void test_mx(void);
void test_report(void);
void test_downgrade(void);


#endif /* _QUEUE_TEST_H_INCLUDED_ */
