/* Turning replies into readable tables or JSON. */
#include "tools/atollctl/render.h"
#include <inttypes.h>
#include <string.h>
#include "net/control/ctl_codec.h"

static uint64_t get_u64(const uint8_t *p, uint32_t n, uint16_t tag)
{
    struct ctl_tlv t;
    uint64_t v = 0;
    if (ctl_tlv_find(p, n, tag, &t))
        ctl_tlv_u64(&t, &v);
    return v;
}

static uint32_t get_u32(const uint8_t *p, uint32_t n, uint16_t tag)
{
    struct ctl_tlv t;
    uint32_t v = 0;
    if (ctl_tlv_find(p, n, tag, &t))
        ctl_tlv_u32(&t, &v);
    return v;
}

static uint8_t get_u8(const uint8_t *p, uint32_t n, uint16_t tag)
{
    struct ctl_tlv t;
    uint8_t v = 0;
    if (ctl_tlv_find(p, n, tag, &t))
        ctl_tlv_u8(&t, &v);
    return v;
}

static void get_text(const uint8_t *p, uint32_t n, uint16_t tag, char *out, size_t cap)
{
    struct ctl_tlv t;
    if (!ctl_tlv_find(p, n, tag, &t) || !ctl_tlv_text(&t, out, cap))
        snprintf(out, cap, "?");
}

void render_size(char *buf, size_t cap, uint64_t bytes)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    double v = (double)bytes;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    if (u == 0 || v >= 100 || v == (double)(uint64_t)v)
        snprintf(buf, cap, "%.0f %s", v, units[u]);
    else
        snprintf(buf, cap, "%.1f %s", v, units[u]);
}

void render_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void render_status(FILE *out, const uint8_t *p, uint32_t n, bool json)
{
    char version[64], host[64], total[32], freem[32];
    get_text(p, n, CTL_TAG_VERSION, version, sizeof version);
    get_text(p, n, CTL_TAG_HOSTNAME, host, sizeof host);
    uint64_t up = get_u64(p, n, CTL_TAG_UPTIME_MS);
    uint64_t mt = get_u64(p, n, CTL_TAG_MEM_TOTAL), mf = get_u64(p, n, CTL_TAG_MEM_FREE);
    if (json) {
        fputs("{\"version\":", out);
        render_json_string(out, version);
        fputs(",\"hostname\":", out);
        render_json_string(out, host);
        fprintf(out, ",\"uptime_ms\":%" PRIu64 ",\"mem_total\":%" PRIu64 ",\"mem_free\":%" PRIu64
                ",\"vmx\":%s,\"partitions\":%u,\"connections\":%u,\"served\":%" PRIu64 "}\n",
                up, mt, mf, get_u8(p, n, CTL_TAG_VMX) ? "true" : "false",
                get_u32(p, n, CTL_TAG_PARTITIONS), get_u32(p, n, CTL_TAG_CONNECTIONS),
                get_u64(p, n, CTL_TAG_SERVED));
        return;
    }
    render_size(total, sizeof total, mt);
    render_size(freem, sizeof freem, mf);
    fprintf(out, "host         %s\n", host);
    fprintf(out, "version      %s\n", version);
    fprintf(out, "uptime       %" PRIu64 ".%03" PRIu64 " s\n", up / 1000, up % 1000);
    fprintf(out, "memory       %s free of %s\n", freem, total);
    fprintf(out, "vt-x         %s\n", get_u8(p, n, CTL_TAG_VMX) ? "yes" : "no");
    fprintf(out, "partitions   %u\n", get_u32(p, n, CTL_TAG_PARTITIONS));
    fprintf(out, "control      %u open, %" PRIu64 " served\n", get_u32(p, n, CTL_TAG_CONNECTIONS),
            get_u64(p, n, CTL_TAG_SERVED));
}

void render_list(FILE *out, const uint8_t *p, uint32_t n, bool json)
{
    struct ctl_tlv_reader r;
    struct ctl_tlv t;
    int count = 0;
    ctl_tlv_reader_init(&r, p, n);
    if (json)
        fputc('[', out);
    else
        fprintf(out, "%-20s %-9s %5s %10s\n", "NAME", "STATE", "VCPUS", "MEMORY");
    while (ctl_tlv_next(&r, &t) > 0) {
        if (t.tag != CTL_TAG_PARTITION)
            continue;
        char name[CTL_NAME_MAX + 1], mem[32];
        get_text(t.value, t.len, CTL_TAG_NAME, name, sizeof name);
        const char *state = ctl_partition_state_name(get_u8(t.value, t.len, CTL_TAG_STATE));
        uint32_t vcpus = get_u32(t.value, t.len, CTL_TAG_VCPUS);
        uint64_t memory = get_u64(t.value, t.len, CTL_TAG_MEMORY);
        if (json) {
            fputs(count ? ",{\"name\":" : "{\"name\":", out);
            render_json_string(out, name);
            fprintf(out, ",\"state\":\"%s\",\"vcpus\":%u,\"memory\":%" PRIu64 "}", state, vcpus,
                    memory);
        } else {
            render_size(mem, sizeof mem, memory);
            fprintf(out, "%-20s %-9s %5u %10s\n", name, state, vcpus, mem);
        }
        count++;
    }
    if (json)
        fputs("]\n", out);
    else if (!count)
        fprintf(out, "(no partitions)\n");
}

void render_log(FILE *out, const uint8_t *p, uint32_t n, bool json)
{
    struct ctl_tlv t;
    static char text[CTL_MAX_REPLY_PAYLOAD + 1];
    if (!ctl_tlv_find(p, n, CTL_TAG_TEXT, &t) || !ctl_tlv_text(&t, text, sizeof text))
        text[0] = '\0';
    if (json) {
        fputs("{\"log\":", out);
        render_json_string(out, text);
        fputs("}\n", out);
    } else {
        fputs(text, out);
    }
}

void render_op(FILE *out, uint32_t op, const uint8_t *p, uint32_t n, bool json)
{
    static const char *const states[] = { "running", "done", "failed" };
    uint8_t st = get_u8(p, n, CTL_TAG_OP_STATE);
    fprintf(out, json ? "{\"op\":%u,\"done\":%" PRIu64 ",\"total\":%" PRIu64 ",\"state\":\"%s\"}\n"
                      : "operation %u: %" PRIu64 " of %" PRIu64 " (%s)\n",
            op, get_u64(p, n, CTL_TAG_DONE), get_u64(p, n, CTL_TAG_TOTAL),
            st < 3 ? states[st] : "unknown");
}
