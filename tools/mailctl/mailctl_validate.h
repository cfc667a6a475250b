
/*
 * Syntax checks of mail domains and addresses.  Plain C99 with no Redis
 * or nginx dependency, so that the SMTP module may share it later.
 */


#ifndef _MAILCTL_VALIDATE_H_INCLUDED_
#define _MAILCTL_VALIDATE_H_INCLUDED_


#include <stddef.h>


/* accept a quoted local part ("john doe"@example.test) */
#define MAILCTL_ADDR_QUOTED_OK  0x01


/*
 * Each check returns NULL when the input is valid, else a short reason
 * for an error message ("missing domain").  Upper case is accepted; the
 * caller lowercases what it stores.
 */
const char *mailctl_validate_domain(const char *domain, size_t len);
const char *mailctl_validate_address(const char *addr, size_t len,
    unsigned flags);
const char *mailctl_validate_queue_id(const char *id, size_t len);

void mailctl_lowercase(char *s, size_t len);


#endif /* _MAILCTL_VALIDATE_H_INCLUDED_ */
