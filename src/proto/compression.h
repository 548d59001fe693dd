/* Kafka's compression codecs: gzip, snappy, lz4 and zstd, on whole buffers.
 *
 * Codec numbers are Kafka's (the low three bits of a batch's or a legacy
 * message's attributes). Inputs come from the network, so decompression never
 * trusts a size it reads: output grows as it is produced, up to a caller's
 * max_out, and a stream that would produce more fails with -SAMSA_ETOOLARGE
 * (a decompression bomb costs at most max_out bytes of memory, plus the
 * codec's own window, which is bounded as well).
 *
 * Formats accepted on decompression:
 *   gzip    RFC 1952 members (several concatenated members are one stream).
 *   snappy  the xerial "snappy-java" framing (0x82 "SNAPPY" 0x00, int32
 *           version, int32 compatible version, then blocks of int32 BE
 *           length + raw snappy), which the Java client, librdkafka and
 *           kafka-python write, detected by its magic; otherwise one raw
 *           snappy buffer.
 *   lz4     LZ4 frames (lz4frame); with COMPRESSION_F_LZ4_KAFKA3160 also the
 *           broken header checksum (computed over the magic number too) that
 *           Kafka < 0.10 clients wrote in magic 0 messages (KAFKA-3160).
 *   zstd    zstd frames, with or without a content size.
 *
 * Formats written by compression_compress (what every Kafka consumer reads):
 *   gzip    one gzip member, zlib's default level (6, as Kafka).
 *   snappy  xerial framing, 32 KiB blocks (what the Java client writes).
 *   lz4     one LZ4 frame: 64 KiB independent blocks, no content size, no
 *           content checksum (what Kafka's Java client writes), correct HC.
 *   zstd    one zstd frame with its content size, level 3 (Kafka's default).
 *
 * Output buffers are malloc'ed (xmalloc: out of memory aborts) and the caller
 * frees them with free(). On error *out is NULL and *out_len 0. */
#ifndef SAMSA_PROTO_COMPRESSION_H
#define SAMSA_PROTO_COMPRESSION_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define COMPRESSION_NONE 0
#define COMPRESSION_GZIP 1
#define COMPRESSION_SNAPPY 2
#define COMPRESSION_LZ4 3
#define COMPRESSION_ZSTD 4
#define COMPRESSION_MAX COMPRESSION_ZSTD

/* compression_decompress_ex() flags. */
#define COMPRESSION_F_LZ4_KAFKA3160 0x1u /* also accept the pre-0.10 (magic 0) HC */

/* "none", "gzip", "snappy", "lz4", "zstd", or "unknown". */
const char *compression_name(int codec);

/* Decompresses in_len bytes of codec's format into a new buffer of at most
 * max_out bytes. COMPRESSION_NONE copies. Returns 0, or
 *   -EINVAL            codec unknown,
 *   -SAMSA_ECORRUPT    the input is not a complete, valid stream (truncated,
 *                      bad checksum, trailing bytes, empty input),
 *   -SAMSA_ETOOLARGE   the output would exceed max_out,
 * with errmsg (may be NULL) saying why. */
int compression_decompress(int codec, const uint8_t *in, size_t in_len, size_t max_out,
			   uint8_t **out, size_t *out_len, char errmsg[ERRMSG_SIZE]);

/* compression_decompress() with COMPRESSION_F_* flags. */
int compression_decompress_ex(int codec, unsigned flags, const uint8_t *in, size_t in_len,
			      size_t max_out, uint8_t **out, size_t *out_len,
			      char errmsg[ERRMSG_SIZE]);

/* Compresses in_len bytes (may be 0) into a new buffer, in the formats listed
 * above. COMPRESSION_NONE copies. Returns 0, -EINVAL for an unknown codec, or
 * -EIO if the library fails (it does not on valid arguments). */
int compression_compress(int codec, const uint8_t *in, size_t in_len, uint8_t **out,
			 size_t *out_len, char errmsg[ERRMSG_SIZE]);

#endif
