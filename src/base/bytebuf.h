/* A growable byte buffer: records being encoded before they are appended
 * (the coordinators' keys, values and record batches). */
#ifndef SAMSA_BASE_BYTEBUF_H
#define SAMSA_BASE_BYTEBUF_H

#include <stddef.h>
#include <stdint.h>

struct bytebuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void bytebuf_init(struct bytebuf *b);
void bytebuf_fini(struct bytebuf *b);
/* Empties b, keeping its memory. */
void bytebuf_reset(struct bytebuf *b);
/* n more bytes at the end (counted in len, not initialised); the pointer is
 * valid until the next growth. */
uint8_t *bytebuf_grow(struct bytebuf *b, size_t n);
void bytebuf_append(struct bytebuf *b, const void *p, size_t n);

#endif
