/* Growable byte buffers; see bytebuf.h. */
#include "base/bytebuf.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void bytebuf_init(struct bytebuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void bytebuf_fini(struct bytebuf *b)
{
	free(b->data);
	bytebuf_init(b);
}

void bytebuf_reset(struct bytebuf *b)
{
	b->len = 0;
}

uint8_t *bytebuf_grow(struct bytebuf *b, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	uint8_t *p = b->data + b->len;
	b->len += n;
	return p;
}

void bytebuf_append(struct bytebuf *b, const void *p, size_t n)
{
	if (n)
		memcpy(bytebuf_grow(b, n), p, n);
}
