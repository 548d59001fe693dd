/* Writes of Kafka's wire primitives into an output chain (base/buf.h), used
 * by the generated encoders (gen/), plus the matching size functions (ps_*)
 * that the generated *_size() functions are built from.
 *
 * Writers cannot fail (the chain grows; allocation failure aborts). flex
 * selects the compact encodings (see reader.h). A null string, bytes, records
 * or array written where the schema says it is not nullable (nullable false)
 * is written as empty, since a null there would not parse on the other side.
 * Strings longer than 32767 bytes are cut to 32767 (Kafka's limit). */
#ifndef SAMSA_PROTO_WRITER_H
#define SAMSA_PROTO_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "proto/types.h"

struct pwriter {
	struct buf_chain *out;
};

static inline void pwriter_init(struct pwriter *w, struct buf_chain *out)
{
	w->out = out;
}

void pw_raw(struct pwriter *w, const void *data, size_t n);
void pw_int8(struct pwriter *w, int8_t v);
void pw_int16(struct pwriter *w, int16_t v);
void pw_int32(struct pwriter *w, int32_t v);
void pw_int64(struct pwriter *w, int64_t v);
void pw_uint16(struct pwriter *w, uint16_t v);
void pw_uint32(struct pwriter *w, uint32_t v);
void pw_float64(struct pwriter *w, double v);
void pw_bool(struct pwriter *w, bool v);
void pw_uuid(struct pwriter *w, const uint8_t v[16]);

void pw_uvarint(struct pwriter *w, uint32_t v);
void pw_uvarlong(struct pwriter *w, uint64_t v);
void pw_varint(struct pwriter *w, int32_t v);  /* zigzag */
void pw_varlong(struct pwriter *w, int64_t v); /* zigzag */

void pw_string(struct pwriter *w, bool flex, bool nullable, struct kstr s);
void pw_bytes(struct pwriter *w, bool flex, bool nullable, struct kbytes b);
/* Memory records are copied; file records become a file-range segment. */
void pw_records(struct pwriter *w, bool flex, bool nullable, const struct krecords *rec);
/* An array count (-1: null). The caller then writes the elements. */
void pw_array(struct pwriter *w, bool flex, bool nullable, int32_t count);

void pw_array_int8(struct pwriter *w, bool flex, bool nullable, int32_t count, const int8_t *v);
void pw_array_int16(struct pwriter *w, bool flex, bool nullable, int32_t count, const int16_t *v);
void pw_array_int32(struct pwriter *w, bool flex, bool nullable, int32_t count, const int32_t *v);
void pw_array_int64(struct pwriter *w, bool flex, bool nullable, int32_t count, const int64_t *v);
void pw_array_uuid(struct pwriter *w, bool flex, bool nullable, int32_t count,
		   const uint8_t (*v)[16]);
void pw_array_string(struct pwriter *w, bool flex, bool nullable, int32_t count,
		     const struct kstr *v);

/* Header of one tagged field: tag, then the size of its value. */
void pw_tag(struct pwriter *w, uint32_t tag, size_t size);

/* Encoded sizes. */
size_t ps_uvarint(uint32_t v);
size_t ps_uvarlong(uint64_t v);
size_t ps_varint(int32_t v);
size_t ps_varlong(int64_t v);
size_t ps_string(bool flex, bool nullable, struct kstr s);
size_t ps_bytes(bool flex, bool nullable, struct kbytes b);
size_t ps_records(bool flex, bool nullable, const struct krecords *rec);
size_t ps_array(bool flex, bool nullable, int32_t count);
size_t ps_array_string(bool flex, bool nullable, int32_t count, const struct kstr *v);
/* Array of count fixed-size elements of elem bytes each. */
size_t ps_array_fixed(bool flex, bool nullable, int32_t count, size_t elem);
/* Whole tagged field: tag, size, and the size bytes of its value. */
size_t ps_tag(uint32_t tag, size_t size);

#endif
