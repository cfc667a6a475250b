
/*
 * RFC 5322 3.3 date-time, with the obsolete forms of 4.3 (two- and
 * three-digit years, alphabetic and military zones, comments, missing
 * seconds and day names), converted to a UTC timestamp.
 */

#include <string.h>

#include "mime.h"
#include "mime_internal.h"


typedef struct {
    const char               *name;
    int                       minutes;
} mime_zone_t;


static const mime_zone_t  mime_zones[] = {
    { "ut", 0 }, { "gmt", 0 }, { "utc", 0 }, { "z", 0 },
    { "est", -300 }, { "edt", -240 }, { "cst", -360 }, { "cdt", -300 },
    { "mst", -420 }, { "mdt", -360 }, { "pst", -480 }, { "pdt", -420 },
    { NULL, 0 }
};


static const char  *mime_months[] = {
    "jan", "feb", "mar", "apr", "may", "jun",
    "jul", "aug", "sep", "oct", "nov", "dec"
};


static void
mime_date_skip(mime_lexer_t *lx)
{
    mime_lex_skip_cfws(lx);

    while (lx->p < lx->end && *lx->p == ',') {
        lx->p++;
        mime_lex_skip_cfws(lx);
    }
}


static int
mime_date_number(mime_lexer_t *lx, int *n, int max_digits)
{
    int  digits, v;

    digits = 0;
    v = 0;

    while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9'
           && digits < max_digits)
    {
        v = v * 10 + (*lx->p - '0');
        lx->p++;
        digits++;
    }

    *n = v;

    return digits;
}


static int
mime_date_word(mime_lexer_t *lx, char *w, size_t size)
{
    size_t  n;

    n = 0;

    while (lx->p < lx->end
           && ((*lx->p >= 'a' && *lx->p <= 'z')
               || (*lx->p >= 'A' && *lx->p <= 'Z')))
    {
        if (n < size - 1) {
            w[n++] = (char) mime_lower(*lx->p);
        }

        lx->p++;
    }

    w[n] = '\0';

    return (int) n;
}


static int
mime_date_month(const char *w)
{
    int  i;

    for (i = 0; i < 12; i++) {
        if (strncmp(w, mime_months[i], 3) == 0) {
            return i + 1;
        }
    }

    return 0;
}


/* days since 1970-01-01 of a proleptic Gregorian date */

static long
mime_days_from_civil(long y, int m, int d)
{
    long      era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static int
mime_date_zone(mime_lexer_t *lx, int *tz)
{
    int                 sign, v, digits;
    char                w[8];
    const mime_zone_t  *z;

    mime_lex_skip_cfws(lx);
    *tz = 0;

    if (lx->p >= lx->end) {
        /* RFC 5322 4.3: a missing zone is read as -0000 */
        return MIME_OK;
    }

    if (*lx->p == '+' || *lx->p == '-') {
        sign = (*lx->p == '-') ? -1 : 1;
        lx->p++;
        digits = mime_date_number(lx, &v, 4);

        if (digits != 4 || v % 100 >= 60) {
            return MIME_DECLINED;
        }

        *tz = sign * ((v / 100) * 60 + v % 100);
        return MIME_OK;
    }

    if (mime_date_word(lx, w, sizeof(w)) == 0) {
        return MIME_OK;
    }

    for (z = mime_zones; z->name; z++) {
        if (strcmp(z->name, w) == 0) {
            *tz = z->minutes;
            return MIME_OK;
        }
    }

    /* RFC 5322 4.3: military zones and others are taken as -0000 */
    return MIME_OK;
}


int
mime_date_parse(const mime_uchar_t *p, size_t len, time_t *t,
    int *tz_minutes)
{
    int           day, month, year, hour, min, sec, tz, digits;
    long          days;
    char          w[16];
    mime_lexer_t  lx;

    lx.p = p;
    lx.end = p + len;

    mime_date_skip(&lx);

    month = 0;

    /* the optional day of week */
    if (mime_date_word(&lx, w, sizeof(w))) {
        month = mime_date_month(w);
        mime_date_skip(&lx);
    }

    if (month == 0 && mime_date_word(&lx, w, sizeof(w))) {
        /* "Aug 22 2002": month before the day */
        month = mime_date_month(w);
        mime_date_skip(&lx);
    }

    if (mime_date_number(&lx, &day, 2) == 0 || day < 1 || day > 31) {
        return MIME_DECLINED;
    }

    mime_date_skip(&lx);

    if (month == 0) {
        if (lx.p < lx.end && *lx.p == '-') {
            lx.p++;
        }

        if (mime_date_word(&lx, w, sizeof(w)) == 0) {
            return MIME_DECLINED;
        }

        month = mime_date_month(w);
        mime_date_skip(&lx);

        if (lx.p < lx.end && *lx.p == '-') {
            lx.p++;
        }
    }

    if (month == 0) {
        return MIME_DECLINED;
    }

    digits = mime_date_number(&lx, &year, 4);

    /* RFC 5322 4.3: two digits are 19xx from 50, 20xx below; three 19xx */
    if (digits == 2) {
        year += (year < 50) ? 2000 : 1900;

    } else if (digits == 3) {
        year += 1900;

    } else if (digits != 4) {
        return MIME_DECLINED;
    }

    mime_date_skip(&lx);

    if (mime_date_number(&lx, &hour, 2) == 0 || lx.p >= lx.end
        || *lx.p != ':')
    {
        return MIME_DECLINED;
    }

    lx.p++;

    if (mime_date_number(&lx, &min, 2) == 0) {
        return MIME_DECLINED;
    }

    sec = 0;

    if (lx.p < lx.end && *lx.p == ':') {
        lx.p++;

        if (mime_date_number(&lx, &sec, 2) == 0) {
            return MIME_DECLINED;
        }
    }

    /* RFC 5322 3.3: second 60 is a leap second */
    if (hour > 23 || min > 59 || sec > 60) {
        return MIME_DECLINED;
    }

    if (mime_date_zone(&lx, &tz) != MIME_OK) {
        return MIME_DECLINED;
    }

    days = mime_days_from_civil(year, month, day);

    *t = (time_t) (days * 86400L + hour * 3600L + min * 60L + sec
                   - tz * 60L);

    if (tz_minutes) {
        *tz_minutes = tz;
    }

    return MIME_OK;
}
