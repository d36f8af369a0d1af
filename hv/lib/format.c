#include "hv/lib/format.h"

#include <stdbool.h>
#include <stdint.h>

struct spec {
    bool left, zero, plus, space, alt;
    int width;
    int precision; /* -1: none */
    int length;    /* 0, 'H' (hh), 'h', 'l', 'L' (ll, j), 'z' (z, t) */
};

struct out {
    fmt_sink sink;
    void *ctx;
    int count;
};

static void emit(struct out *o, const char *s, size_t n)
{
    if (n) {
        o->sink(o->ctx, s, n);
        o->count += (int)n;
    }
}

static void pad(struct out *o, char c, int n)
{
    char buf[16];
    for (int i = 0; i < (int)sizeof(buf); i++)
        buf[i] = c;
    while (n > 0) {
        int k = n < (int)sizeof(buf) ? n : (int)sizeof(buf);
        emit(o, buf, (size_t)k);
        n -= k;
    }
}

static void put_padded(struct out *o, const struct spec *sp, const char *s, size_t n)
{
    int fill = sp->width - (int)n;
    if (!sp->left)
        pad(o, ' ', fill);
    emit(o, s, n);
    if (sp->left)
        pad(o, ' ', fill);
}

static void put_number(struct out *o, const struct spec *sp, uint64_t v, bool negative,
                       unsigned base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    int n = 0;
    while (v) {
        buf[n++] = digits[v % base];
        v /= base;
    }
    if (n == 0 && sp->precision != 0)
        buf[n++] = '0';

    const char *prefix = "";
    if (negative)
        prefix = "-";
    else if (sp->plus && base == 10)
        prefix = "+";
    else if (sp->space && base == 10)
        prefix = " ";
    else if (sp->alt && base == 16 && n > 0 && !(n == 1 && buf[0] == '0'))
        prefix = upper ? "0X" : "0x";
    else if (sp->alt && base == 8 && (n == 0 || buf[n - 1] != '0') && sp->precision <= n)
        prefix = "0"; /* only when the digits and precision do not already lead with 0 */
    int plen = 0;
    while (prefix[plen])
        plen++;

    int zeros = sp->precision > n ? sp->precision - n : 0;
    int body = plen + zeros + n;
    int fill = sp->width > body ? sp->width - body : 0;
    if (sp->zero && !sp->left && sp->precision < 0) {
        zeros += fill;
        fill = 0;
    }
    if (!sp->left)
        pad(o, ' ', fill);
    emit(o, prefix, (size_t)plen);
    pad(o, '0', zeros);
    for (int i = n - 1; i >= 0; i--)
        emit(o, &buf[i], 1);
    if (sp->left)
        pad(o, ' ', fill);
}

static uint64_t take_unsigned(va_list *ap, int length)
{
    switch (length) {
    case 'H': return (unsigned char)va_arg(*ap, unsigned int);
    case 'h': return (unsigned short)va_arg(*ap, unsigned int);
    case 'l': return va_arg(*ap, unsigned long);
    case 'L': return va_arg(*ap, unsigned long long);
    case 'z': return va_arg(*ap, size_t);
    default:  return va_arg(*ap, unsigned int);
    }
}

static int64_t take_signed(va_list *ap, int length)
{
    switch (length) {
    case 'H': return (signed char)va_arg(*ap, int);
    case 'h': return (short)va_arg(*ap, int);
    case 'l': return va_arg(*ap, long);
    case 'L': return va_arg(*ap, long long);
    case 'z': return va_arg(*ap, ptrdiff_t);
    default:  return va_arg(*ap, int);
    }
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
    *sp = (struct spec){ .precision = -1 };
    for (;; f++) {
        if (*f == '-') sp->left = true;
        else if (*f == '0') sp->zero = true;
        else if (*f == '+') sp->plus = true;
        else if (*f == ' ') sp->space = true;
        else if (*f == '#') sp->alt = true;
        else break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) {
            sp->left = true;
            sp->width = -sp->width;
        }
        f++;
    } else {
        while (*f >= '0' && *f <= '9' && sp->width < 100000)
            sp->width = sp->width * 10 + (*f++ - '0');
    }
    if (*f == '.') {
        f++;
        sp->precision = 0;
        if (*f == '*') {
            sp->precision = va_arg(*ap, int);
            if (sp->precision < 0)
                sp->precision = -1;
            f++;
        } else {
            while (*f >= '0' && *f <= '9' && sp->precision < 100000)
                sp->precision = sp->precision * 10 + (*f++ - '0');
        }
    }
    if (f[0] == 'h' && f[1] == 'h') { sp->length = 'H'; f += 2; }
    else if (f[0] == 'l' && f[1] == 'l') { sp->length = 'L'; f += 2; }
    else if (*f == 'h') { sp->length = 'h'; f++; }
    else if (*f == 'l') { sp->length = 'l'; f++; }
    else if (*f == 'j') { sp->length = 'L'; f++; }
    else if (*f == 'z' || *f == 't') { sp->length = 'z'; f++; }
    return f;
}

int fmt_vprint(fmt_sink sink, void *ctx, const char *fmt, va_list ap_in)
{
    struct out o = { sink, ctx, 0 };
    va_list ap;
    va_copy(ap, ap_in);
    while (*fmt) {
        const char *run = fmt;
        while (*fmt && *fmt != '%')
            fmt++;
        emit(&o, run, (size_t)(fmt - run));
        if (!*fmt)
            break;
        const char *start = fmt++;
        struct spec sp;
        fmt = parse_spec(fmt, &sp, &ap);
        char c = *fmt;
        if (c)
            fmt++;
        switch (c) {
        case 'd':
        case 'i': {
            int64_t v = take_signed(&ap, sp.length);
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            put_number(&o, &sp, mag, v < 0, 10, false);
            break;
        }
        case 'u':
            sp.plus = sp.space = false; /* sign flags apply to signed conversions only */
            put_number(&o, &sp, take_unsigned(&ap, sp.length), false, 10, false);
            break;
        case 'x': put_number(&o, &sp, take_unsigned(&ap, sp.length), false, 16, false); break;
        case 'X': put_number(&o, &sp, take_unsigned(&ap, sp.length), false, 16, true); break;
        case 'o': put_number(&o, &sp, take_unsigned(&ap, sp.length), false, 8, false); break;
        case 'p': {
            sp.alt = true;
            put_number(&o, &sp, (uintptr_t)va_arg(ap, void *), false, 16, false);
            break;
        }
        case 'c': {
            char ch = (char)va_arg(ap, int);
            put_padded(&o, &sp, &ch, 1);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            size_t n = 0;
            while ((sp.precision < 0 || n < (size_t)sp.precision) && s[n])
                n++;
            put_padded(&o, &sp, s, n);
            break;
        }
        case '%': emit(&o, "%", 1); break;
        default:  emit(&o, start, (size_t)(fmt - start)); break;
        }
    }
    va_end(ap);
    return o.count;
}

int fmt_print(fmt_sink sink, void *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vprint(sink, ctx, fmt, ap);
    va_end(ap);
    return n;
}

struct buffer {
    char *buf;
    size_t size, used;
};

static void buffer_sink(void *ctx, const char *s, size_t n)
{
    struct buffer *b = ctx;
    for (size_t i = 0; i < n; i++, b->used++)
        if (b->size && b->used < b->size - 1)
            b->buf[b->used] = s[i];
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct buffer b = { buf, size, 0 };
    int n = fmt_vprint(buffer_sink, &b, fmt, ap);
    if (size)
        buf[b.used < size ? b.used : size - 1] = 0;
    return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int fmt_fail(char *msg, size_t size, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (msg && size)
        fmt_vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    return status;
}
