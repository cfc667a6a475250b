
/*
 * UTF-8 as RFC 3629 4 defines it: the one decoder of the tree, for the
 * library and the protocol modules alike.  It needs nothing but this
 * file and mime.h, so a module's unit tests and fuzzers link it alone.
 */

#include "mime.h"
#include "mime_internal.h"


/*
 * The octets after the first are 80..BF, but for the second after E0,
 * ED, F0 and F4: RFC 3629 4 narrows it there, which rules out overlong
 * forms, the surrogates D800..DFFF and what lies past U+10FFFF without
 * decoding first.  C0, C1 and F5..FF never begin a sequence.
 */

size_t
mime_utf8_decode(const mime_uchar_t *p, const mime_uchar_t *end,
    uint32_t *cp)
{
    size_t    n, i;
    uint32_t  c;
    unsigned  lo, hi;

    if (p >= end) {
        return 0;
    }

    c = p[0];
    lo = 0x80;
    hi = 0xbf;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = (c == 0xe0) ? 0xa0 : 0x80;
        hi = (c == 0xed) ? 0x9f : 0xbf;
        c &= 0x0f;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = (c == 0xf0) ? 0x90 : 0x80;
        hi = (c == 0xf4) ? 0x8f : 0xbf;
        c &= 0x07;

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if (p[i] < lo || p[i] > hi) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
        lo = 0x80;
        hi = 0xbf;
    }

    *cp = c;

    return n;
}


size_t
mime_utf8_encode(uint32_t cp, mime_uchar_t *p)
{
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        cp = 0xfffd;
    }

    if (cp < 0x80) {
        p[0] = (mime_uchar_t) cp;
        return 1;
    }

    if (cp < 0x800) {
        p[0] = (mime_uchar_t) (0xc0 | (cp >> 6));
        p[1] = (mime_uchar_t) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        p[0] = (mime_uchar_t) (0xe0 | (cp >> 12));
        p[1] = (mime_uchar_t) (0x80 | ((cp >> 6) & 0x3f));
        p[2] = (mime_uchar_t) (0x80 | (cp & 0x3f));
        return 3;
    }

    p[0] = (mime_uchar_t) (0xf0 | (cp >> 18));
    p[1] = (mime_uchar_t) (0x80 | ((cp >> 12) & 0x3f));
    p[2] = (mime_uchar_t) (0x80 | ((cp >> 6) & 0x3f));
    p[3] = (mime_uchar_t) (0x80 | (cp & 0x3f));

    return 4;
}


int
mime_utf8_valid(const mime_uchar_t *p, size_t len)
{
    size_t               n;
    uint32_t             cp;
    const mime_uchar_t  *end;

    for (end = p + len; p < end; p += n) {
        n = mime_utf8_decode(p, end, &cp);

        if (n == 0) {
            return 0;
        }
    }

    return 1;
}
