
/*
 * libFuzzer target for the 8BITMIME to 7 bit conversion: the input is a
 * message as a client sent it.  Besides the sanitizers the target
 * checks what the header promises: the output is exactly as long as
 * ngx_mail_queue_downgrade_size() said, 7 bit without NUL, nothing is
 * written when the message cannot be converted, a 7-bit message comes
 * out as it went in, and a converted message, being 7 bit, converts to
 * itself.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_queue_downgrade.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t    need, len, again;
    uint8_t  *out, *out2;

    if (size > 262144) {
        return 0;
    }

    need = ngx_mail_queue_downgrade_size(data, size);

    /* one octet more, poisoned by its value: nothing may touch it */
    out = malloc(need + 1);
    if (out == NULL) {
        return 0;
    }

    out[need] = 0xa5;

    len = ngx_mail_queue_downgrade(data, size, out);

    if (out[need] != 0xa5) {
        abort();
    }

    if (len == (size_t) -1) {
        if (need != 0 || !ngx_mail_queue_is_8bit(data, size)) {
            abort();
        }

        free(out);
        return 0;
    }

    if (len != need || ngx_mail_queue_is_8bit(out, len)) {
        abort();
    }

    if (!ngx_mail_queue_is_8bit(data, size)
        && (len != size || memcmp(out, data, size) != 0))
    {
        abort();
    }

    again = ngx_mail_queue_downgrade_size(out, len);
    out2 = malloc(again + 1);

    if (out2 == NULL) {
        free(out);
        return 0;
    }

    if (ngx_mail_queue_downgrade(out, len, out2) != len
        || memcmp(out, out2, len) != 0)
    {
        abort();
    }

    free(out);
    free(out2);

    return 0;
}
