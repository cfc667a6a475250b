
/*
 * Modified UTF-7, RFC 3501 5.1.3: printable US-ASCII but "&" as
 * itself, "&" as "&-", everything else as UTF-16 in base64 with ","
 * for "/", between "&" and "-", without padding.
 */

#include <string.h>

#include "mime.h"
#include "ngx_mail_imapd_utf7.h"


static int ngx_mail_imapd_utf7_base64(unsigned c);
static int ngx_mail_imapd_utf8_put(uint32_t cp, unsigned char *dst,
    size_t size, size_t *o);


static const char  ngx_mail_imapd_utf7_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";


int
ngx_mail_imapd_utf7_decode(const unsigned char *src, size_t len,
    unsigned char *dst, size_t size, size_t *written)
{
    int                   v;
    size_t                o;
    uint32_t              bits, unit, high, cp;
    unsigned              c, nbits, units;
    const unsigned char  *p, *end, *run_end;

    p = src;
    end = src + len;
    o = 0;
    run_end = NULL;

    while (p < end) {
        c = *p++;

        if (c < 0x20 || c > 0x7e) {
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        if (c != '&') {
            if (o == size) {
                return NGX_MAIL_IMAPD_PARSE_DECLINED;
            }

            dst[o++] = (unsigned char) c;
            continue;
        }

        if (p < end && *p == '-') {
            if (o == size) {
                return NGX_MAIL_IMAPD_PARSE_DECLINED;
            }

            dst[o++] = '&';
            p++;
            continue;
        }

        /* "&...-&...-" would be one run in the canonical form */
        if (p - 1 == run_end) {
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        bits = 0;
        nbits = 0;
        high = 0;
        units = 0;

        while (p < end && *p != '-') {
            v = ngx_mail_imapd_utf7_base64(*p++);

            if (v < 0) {
                return NGX_MAIL_IMAPD_PARSE_ERROR;
            }

            bits = (bits << 6) | (uint32_t) v;
            nbits += 6;

            if (nbits < 16) {
                continue;
            }

            nbits -= 16;
            unit = bits >> nbits;
            bits &= (1U << nbits) - 1;
            units++;

            if (high) {
                if (unit < 0xdc00 || unit > 0xdfff) {
                    return NGX_MAIL_IMAPD_PARSE_ERROR;
                }

                cp = 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00);
                high = 0;

            } else if (unit >= 0xd800 && unit <= 0xdbff) {
                high = unit;
                continue;

            } else if ((unit >= 0xdc00 && unit <= 0xdfff) || unit < 0x80) {
                /* a lone low surrogate; ASCII, direct or forbidden */
                return NGX_MAIL_IMAPD_PARSE_ERROR;

            } else {
                cp = unit;
            }

            if (ngx_mail_imapd_utf8_put(cp, dst, size, &o)
                != NGX_MAIL_IMAPD_PARSE_OK)
            {
                return NGX_MAIL_IMAPD_PARSE_DECLINED;
            }
        }

        /* unterminated, empty, partial unit or padding bits set */
        if (p == end || units == 0 || high || nbits >= 6 || bits != 0) {
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        p++;
        run_end = p;
    }

    *written = o;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


int
ngx_mail_imapd_utf7_encode(const unsigned char *src, size_t len,
    unsigned char *dst, size_t size, size_t *written)
{
    size_t                o, octets;
    uint32_t              bits, cp, units[2];
    unsigned              c, nbits, i, n;
    const unsigned char  *p, *end;

    p = src;
    end = src + len;
    o = 0;

    while (p < end) {
        c = *p;

        if (c >= 0x20 && c <= 0x7e) {
            if (size - o < (size_t) (c == '&' ? 2 : 1)) {
                return NGX_MAIL_IMAPD_PARSE_DECLINED;
            }

            dst[o++] = (unsigned char) c;

            if (c == '&') {
                dst[o++] = '-';
            }

            p++;
            continue;
        }

        if (o == size) {
            return NGX_MAIL_IMAPD_PARSE_DECLINED;
        }

        dst[o++] = '&';
        bits = 0;
        nbits = 0;

        while (p < end && !(*p >= 0x20 && *p <= 0x7e)) {
            octets = mime_utf8_decode(p, end, &cp);

            if (octets == 0 || cp < 0x20 || cp == 0x7f) {
                return NGX_MAIL_IMAPD_PARSE_ERROR;
            }

            p += octets;

            if (cp >= 0x10000) {
                cp -= 0x10000;
                units[0] = 0xd800 + (cp >> 10);
                units[1] = 0xdc00 + (cp & 0x3ff);
                n = 2;

            } else {
                units[0] = cp;
                n = 1;
            }

            for (i = 0; i < n; i++) {
                bits = (bits << 16) | units[i];
                nbits += 16;

                while (nbits >= 6) {
                    nbits -= 6;

                    if (o == size) {
                        return NGX_MAIL_IMAPD_PARSE_DECLINED;
                    }

                    dst[o++] = ngx_mail_imapd_utf7_alphabet[(bits >> nbits)
                                                            & 0x3f];
                }

                bits &= (1U << nbits) - 1;
            }
        }

        if (size - o < (size_t) (nbits ? 2 : 1)) {
            return NGX_MAIL_IMAPD_PARSE_DECLINED;
        }

        if (nbits) {
            dst[o++] = ngx_mail_imapd_utf7_alphabet[(bits << (6 - nbits))
                                                    & 0x3f];
        }

        dst[o++] = '-';
    }

    *written = o;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


static int
ngx_mail_imapd_utf7_base64(unsigned c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+') {
        return 62;
    }

    if (c == ',') {
        return 63;
    }

    return -1;
}


static int
ngx_mail_imapd_utf8_put(uint32_t cp, unsigned char *dst, size_t size,
    size_t *o)
{
    size_t        n;
    mime_uchar_t  u[4];

    n = mime_utf8_encode(cp, u);

    if (size - *o < n) {
        return NGX_MAIL_IMAPD_PARSE_DECLINED;
    }

    memcpy(dst + *o, u, n);
    *o += n;

    return NGX_MAIL_IMAPD_PARSE_OK;
}
