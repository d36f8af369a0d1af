/* Turning replies into readable tables or JSON. */
#ifndef ATOLL_TOOLS_ATOLLCTL_RENDER_H
#define ATOLL_TOOLS_ATOLLCTL_RENDER_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

void render_status(FILE *out, const uint8_t *p, uint32_t n, bool json);
void render_list(FILE *out, const uint8_t *p, uint32_t n, bool json);
void render_log(FILE *out, const uint8_t *p, uint32_t n, bool json);
void render_op(FILE *out, uint32_t op, const uint8_t *p, uint32_t n, bool json);
void render_json_string(FILE *out, const char *s);
/* "512 MiB", "1.5 GiB": sizes people read. */
void render_size(char *buf, size_t cap, uint64_t bytes);

#endif
