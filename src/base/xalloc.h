/* Allocation that cannot fail: out of memory aborts with a message, so callers
 * never carry an OOM path they cannot test. Sizes from the network are bounded
 * before they reach here. */
#ifndef SAMSA_BASE_XALLOC_H
#define SAMSA_BASE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
