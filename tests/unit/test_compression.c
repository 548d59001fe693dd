/* Compression codecs: round trips of every codec at several sizes, the
 * formats other clients write (xerial and raw snappy, lz4 frames with a
 * content size, the KAFKA-3160 header checksum, zstd frames without a content
 * size, concatenated gzip members and zstd frames), exact max_out bounds,
 * decompression bombs, and truncated or garbage input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/compression.h"

/* Test hook exported by compression.c. */
uint32_t compression_xxh32(const void *data, size_t len, uint32_t seed);

static const int codecs[] = {COMPRESSION_NONE, COMPRESSION_GZIP, COMPRESSION_SNAPPY,
			     COMPRESSION_LZ4, COMPRESSION_ZSTD};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

/* Deterministic test data: text-like (compressible) with a random tail mixed
 * in every so often. */
static uint8_t *make_data(size_t n, uint32_t seed, int random_pct)
{
	uint8_t *p = malloc(n ? n : 1);
	static const char words[] = "kafka samsa broker record batch legacy message set ";
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		if ((int)((x >> 16) % 100) < random_pct)
			p[i] = (uint8_t)(x >> 8);
		else
			p[i] = (uint8_t)words[(i + seed) % (sizeof(words) - 1)];
	}
	return p;
}

static void roundtrip(int codec, const uint8_t *data, size_t n)
{
	char err[ERRMSG_SIZE];
	uint8_t *z, *back;
	size_t zlen, blen;
	assert_int_equal(compression_compress(codec, data, n, &z, &zlen, err), 0);
	assert_non_null(z);
	/* Exactly enough room. */
	int rc = compression_decompress(codec, z, zlen, n, &back, &blen, err);
	if (rc != 0)
		fail_msg("%s n=%zu: %s", compression_name(codec), n, err);
	assert_int_equal(blen, n);
	if (n)
		assert_memory_equal(back, data, n);
	free(back);
	/* One byte too little. */
	if (n > 0) {
		back = (uint8_t *)1;
		blen = 77;
		rc = compression_decompress(codec, z, zlen, n - 1, &back, &blen, err);
		assert_int_equal(rc, -SAMSA_ETOOLARGE);
		assert_null(back);
		assert_int_equal(blen, 0);
		assert_true(strlen(err) > 0);
	}
	free(z);
}

static void test_roundtrip_all(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 7, 1000, 32768, 32769, 65536, 100000, 300001};
	for (size_t c = 0; c < NCODECS; c++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			for (int pct = 0; pct <= 100; pct += 50) {
				uint8_t *d = make_data(sizes[s], (uint32_t)s, pct);
				roundtrip(codecs[c], d, sizes[s]);
				free(d);
			}
		}
	}
}

static void test_names_and_unknown(void **state)
{
	(void)state;
	assert_string_equal(compression_name(0), "none");
	assert_string_equal(compression_name(1), "gzip");
	assert_string_equal(compression_name(2), "snappy");
	assert_string_equal(compression_name(3), "lz4");
	assert_string_equal(compression_name(4), "zstd");
	assert_string_equal(compression_name(5), "unknown");
	uint8_t *out;
	size_t len;
	char err[ERRMSG_SIZE];
	const uint8_t in[4] = {1, 2, 3, 4};
	assert_int_equal(compression_decompress(5, in, 4, 100, &out, &len, err), -EINVAL);
	assert_null(out);
	assert_int_equal(compression_decompress(-1, in, 4, 100, &out, &len, NULL), -EINVAL);
	assert_int_equal(compression_compress(7, in, 4, &out, &len, err), -EINVAL);
	assert_null(out);
	/* none: copy, bounded. */
	assert_int_equal(compression_decompress(0, in, 4, 3, &out, &len, err), -SAMSA_ETOOLARGE);
	assert_int_equal(compression_decompress(0, in, 4, 4, &out, &len, NULL), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(out, in, 4);
	free(out);
}

/* A big run of zeros compresses to almost nothing: decompression must stop at
 * max_out without allocating the whole thing. */
static void test_bombs(void **state)
{
	(void)state;
	size_t n = (size_t)32 << 20;
	uint8_t *zeros = calloc(1, n);
	for (size_t c = 1; c < NCODECS; c++) {
		char err[ERRMSG_SIZE];
		uint8_t *z, *out;
		size_t zlen, olen;
		assert_int_equal(compression_compress(codecs[c], zeros, n, &z, &zlen, err), 0);
		assert_true(zlen < n / 20);
		int rc = compression_decompress(codecs[c], z, zlen, (size_t)1 << 20, &out, &olen,
						err);
		assert_int_equal(rc, -SAMSA_ETOOLARGE);
		assert_null(out);
		assert_non_null(strstr(err, "limit"));
		free(z);
	}
	free(zeros);

	/* Raw snappy claiming 4 GiB in a 6-byte input: refused before any
	 * allocation of that size. */
	const uint8_t claim[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
	uint8_t *out;
	size_t olen;
	char err[ERRMSG_SIZE];
	assert_int_equal(compression_decompress(COMPRESSION_SNAPPY, claim, sizeof(claim),
						(size_t)64 << 20, &out, &olen, err),
			 -SAMSA_ETOOLARGE);
	/* ... and claiming a small size it does not hold: corrupt. */
	const uint8_t liar[] = {0x20, 0x00, 0x01};
	assert_int_equal(compression_decompress(COMPRESSION_SNAPPY, liar, sizeof(liar), 1000, &out,
						&olen, err),
			 -SAMSA_ECORRUPT);
}

/* Every codec rejects truncated streams (cut inside the data) and garbage. */
static void test_truncated_and_garbage(void **state)
{
	(void)state;
	size_t n = 100000;
	uint8_t *d = make_data(n, 3, 30);
	for (size_t c = 1; c < NCODECS; c++) {
		char err[ERRMSG_SIZE];
		uint8_t *z, *out;
		size_t zlen, olen;
		assert_int_equal(compression_compress(codecs[c], d, n, &z, &zlen, err), 0);
		size_t cuts[] = {0, 1, 5, 10, 17, 30, zlen / 3, zlen / 2, zlen - 9, zlen - 1};
		for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
			size_t cut = cuts[k];
			if (codecs[c] == COMPRESSION_SNAPPY && cut == 0)
				continue; /* raw snappy "" is corrupt too, tested below */
			int rc = compression_decompress(codecs[c], z, cut, n, &out, &olen, err);
			if (rc != -SAMSA_ECORRUPT)
				fail_msg("%s cut %zu/%zu: rc %d", compression_name(codecs[c]), cut,
					 zlen, rc);
			assert_null(out);
		}
		/* Garbage appended after a complete stream. */
		uint8_t *g = malloc(zlen + 5);
		memcpy(g, z, zlen);
		memcpy(g + zlen, "\x01\x02\x03\x04\x05", 5);
		int rc = compression_decompress(codecs[c], g, zlen + 5, n, &out, &olen, err);
		assert_int_equal(rc, -SAMSA_ECORRUPT);
		/* A flipped byte in the middle: corrupt (or, for codecs without a
		 * checksum, at least never a crash). */
		memcpy(g, z, zlen);
		g[zlen / 2] ^= 0x55;
		rc = compression_decompress(codecs[c], g, zlen, n, &out, &olen, err);
		if (rc == 0)
			free(out);
		else
			assert_true(rc == -SAMSA_ECORRUPT || rc == -SAMSA_ETOOLARGE);
		free(g);
		free(z);
	}
	/* Pure garbage and empty input. */
	const uint8_t junk[] = "this is not compressed at all, not even a little";
	for (size_t c = 1; c < NCODECS; c++) {
		uint8_t *out;
		size_t olen;
		char err[ERRMSG_SIZE];
		int rc = compression_decompress(codecs[c], junk, sizeof(junk), 1 << 20, &out, &olen,
						err);
		if (rc != -SAMSA_ECORRUPT && rc != -SAMSA_ETOOLARGE)
			fail_msg("%s junk: rc %d", compression_name(codecs[c]), rc);
		assert_int_equal(compression_decompress(codecs[c], junk, 0, 1 << 20, &out, &olen,
							err),
				 -SAMSA_ECORRUPT);
		assert_true(strlen(err) > 0);
	}
	free(d);
}

static void be32put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void test_snappy_formats(void **state)
{
	(void)state;
	size_t n = 5000;
	uint8_t *d = make_data(n, 9, 10);
	char err[ERRMSG_SIZE];
	uint8_t *out;
	size_t olen;

	/* Raw snappy, as some clients write it. */
	size_t rlen = snappy_max_compressed_length(n);
	uint8_t *raw = malloc(rlen);
	assert_int_equal(snappy_compress((const char *)d, n, (char *)raw, &rlen), SNAPPY_OK);
	assert_int_equal(compression_decompress(COMPRESSION_SNAPPY, raw, rlen, n, &out, &olen, err),
			 0);
	assert_int_equal(olen, n);
	assert_memory_equal(out, d, n);
	free(out);

	/* xerial by hand: header, then two blocks of 3000 and 2000 bytes. */
	uint8_t *x = malloc(16 + 2 * (4 + snappy_max_compressed_length(3000)));
	memcpy(x, "\x82SNAPPY\0", 8);
	be32put(x + 8, 1);
	be32put(x + 12, 1);
	size_t pos = 16;
	size_t l1 = snappy_max_compressed_length(3000);
	assert_int_equal(snappy_compress((const char *)d, 3000, (char *)x + pos + 4, &l1), SNAPPY_OK);
	be32put(x + pos, (uint32_t)l1);
	pos += 4 + l1;
	size_t l2 = snappy_max_compressed_length(2000);
	assert_int_equal(snappy_compress((const char *)d + 3000, 2000, (char *)x + pos + 4, &l2),
			 SNAPPY_OK);
	be32put(x + pos, (uint32_t)l2);
	pos += 4 + l2;
	assert_int_equal(compression_decompress(COMPRESSION_SNAPPY, x, pos, n, &out, &olen, err), 0);
	assert_int_equal(olen, n);
	assert_memory_equal(out, d, n);
	free(out);
	/* Over the limit in the second block. */
	assert_int_equal(compression_decompress(COMPRESSION_SNAPPY, x, pos, 4999, &out, &olen, err),
			 -SAMSA_ETOOLARGE);
	/* A block length past the end. */
	be32put(x + 16 + 4 + l1, (uint32_t)l2 + 1);
	assert_int_equal(compression_decompress(COMPRESSION_SNAPPY, x, pos, n, &out, &olen, err),
			 -SAMSA_ECORRUPT);
	assert_non_null(strstr(err, "block 1"));
	/* A dangling partial length. */
	be32put(x + 16 + 4 + l1, (uint32_t)l2);
	assert_int_equal(compression_decompress(COMPRESSION_SNAPPY, x, 16 + 4 + l1 + 2, n, &out,
						&olen, err),
			 -SAMSA_ECORRUPT);
	/* Header only: empty output. */
	assert_int_equal(compression_decompress(COMPRESSION_SNAPPY, x, 16, n, &out, &olen, err), 0);
	assert_int_equal(olen, 0);
	free(out);

	/* What we write is xerial framing, 32 KiB blocks. */
	uint8_t *big = make_data(70000, 1, 0), *z;
	size_t zlen;
	assert_int_equal(compression_compress(COMPRESSION_SNAPPY, big, 70000, &z, &zlen, err), 0);
	assert_memory_equal(z, "\x82SNAPPY\0\0\0\0\1\0\0\0\1", 16);
	size_t blocks = 0;
	for (size_t p = 16; p < zlen; blocks++) {
		uint32_t bl = (uint32_t)z[p] << 24 | (uint32_t)z[p + 1] << 16 |
			      (uint32_t)z[p + 2] << 8 | z[p + 3];
		size_t ul;
		assert_int_equal(snappy_uncompressed_length((const char *)z + p + 4, bl, &ul),
				 SNAPPY_OK);
		assert_true(ul <= 32768);
		p += 4 + bl;
	}
	assert_int_equal(blocks, 3);
	free(z);
	free(big);
	free(x);
	free(raw);
	free(d);
}

static void test_xxh32(void **state)
{
	(void)state;
	/* Reference values of the XXH32 specification's implementation. */
	assert_int_equal(compression_xxh32("", 0, 0), 0x02CC5D05u);
	/* Against liblz4: the HC byte it writes is XXH32(descriptor) >> 8. */
	for (int cs = 0; cs < 2; cs++) {
		LZ4F_preferences_t prefs;
		memset(&prefs, 0, sizeof(prefs));
		prefs.frameInfo.contentSize = cs ? 1000 : 0;
		prefs.frameInfo.blockSizeID = cs ? LZ4F_max4MB : LZ4F_max64KB;
		uint8_t *d = make_data(1000, 2, 0);
		size_t bound = LZ4F_compressFrameBound(1000, &prefs);
		uint8_t *z = malloc(bound);
		size_t zlen = LZ4F_compressFrame(z, bound, d, 1000, &prefs);
		assert_false(LZ4F_isError(zlen));
		size_t desc = cs ? 10 : 2;
		assert_int_equal(z[4 + desc], (uint8_t)(compression_xxh32(z + 4, desc, 0) >> 8));
		free(z);
		free(d);
	}
	/* Long input exercises the 16-byte stripes; seed matters. */
	uint8_t *d = make_data(1000, 5, 50);
	assert_int_not_equal(compression_xxh32(d, 1000, 0), compression_xxh32(d, 1000, 1));
	assert_int_not_equal(compression_xxh32(d, 1000, 0), compression_xxh32(d, 999, 0));
	free(d);
}

/* Kafka < 0.10 (magic 0) wrote the lz4 header checksum over the magic number
 * too: accepted only when the caller says the data is magic 0. */
static void test_lz4_kafka3160(void **state)
{
	(void)state;
	size_t n = 2000;
	uint8_t *d = make_data(n, 4, 5), *z, *out;
	size_t zlen, olen;
	char err[ERRMSG_SIZE];
	assert_int_equal(compression_compress(COMPRESSION_LZ4, d, n, &z, &zlen, err), 0);
	/* Our frames: FLG version 01, independent blocks, no content size or
	 * checksum; BD 64 KiB. */
	assert_int_equal(z[4], 0x60);
	assert_int_equal(z[5], 0x40);
	assert_int_equal(z[6], (uint8_t)(compression_xxh32(z + 4, 2, 0) >> 8));
	uint8_t broken = (uint8_t)(compression_xxh32(z, 6, 0) >> 8);
	assert_int_not_equal(broken, z[6]);
	/* Correct HC: accepted with and without the flag. */
	assert_int_equal(compression_decompress_ex(COMPRESSION_LZ4, COMPRESSION_F_LZ4_KAFKA3160, z,
						   zlen, n, &out, &olen, err),
			 0);
	assert_memory_equal(out, d, n);
	free(out);
	z[6] = broken;
	assert_int_equal(compression_decompress(COMPRESSION_LZ4, z, zlen, n, &out, &olen, err),
			 -SAMSA_ECORRUPT);
	assert_non_null(strstr(err, "lz4"));
	assert_int_equal(compression_decompress_ex(COMPRESSION_LZ4, COMPRESSION_F_LZ4_KAFKA3160, z,
						   zlen, n, &out, &olen, err),
			 0);
	assert_int_equal(olen, n);
	assert_memory_equal(out, d, n);
	free(out);
	/* Neither checksum: corrupt even with the flag. */
	z[6] = (uint8_t)(broken ^ 0x5a) == (uint8_t)(compression_xxh32(z + 4, 2, 0) >> 8)
		       ? (uint8_t)(broken ^ 0xa5)
		       : (uint8_t)(broken ^ 0x5a);
	assert_int_equal(compression_decompress_ex(COMPRESSION_LZ4, COMPRESSION_F_LZ4_KAFKA3160, z,
						   zlen, n, &out, &olen, err),
			 -SAMSA_ECORRUPT);
	free(z);

	/* A frame with a content size and block checksums (kafka-python writes
	 * the content size), split in several frames back to back. */
	LZ4F_preferences_t prefs;
	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.contentSize = 1000;
	prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	size_t bound = LZ4F_compressFrameBound(1000, &prefs);
	z = malloc(2 * bound);
	size_t a = LZ4F_compressFrame(z, bound, d, 1000, &prefs);
	size_t b = LZ4F_compressFrame(z + a, bound, d + 1000, 1000, &prefs);
	assert_false(LZ4F_isError(a) || LZ4F_isError(b));
	assert_int_equal(compression_decompress(COMPRESSION_LZ4, z, a + b, n, &out, &olen, err), 0);
	assert_int_equal(olen, n);
	assert_memory_equal(out, d, n);
	free(out);
	/* Content checksum catches a flipped literal. */
	z[a - 10] ^= 1;
	assert_int_equal(compression_decompress(COMPRESSION_LZ4, z, a, n, &out, &olen, err),
			 -SAMSA_ECORRUPT);
	free(z);
	free(d);
}

static void test_gzip_members(void **state)
{
	(void)state;
	uint8_t *d = make_data(3000, 6, 20), *z1, *z2, *out;
	size_t l1, l2, olen;
	char err[ERRMSG_SIZE];
	assert_int_equal(compression_compress(COMPRESSION_GZIP, d, 1000, &z1, &l1, err), 0);
	assert_int_equal(compression_compress(COMPRESSION_GZIP, d + 1000, 2000, &z2, &l2, err), 0);
	assert_int_equal(z1[0], 0x1f);
	assert_int_equal(z1[1], 0x8b);
	uint8_t *cat = malloc(l1 + l2);
	memcpy(cat, z1, l1);
	memcpy(cat + l1, z2, l2);
	assert_int_equal(compression_decompress(COMPRESSION_GZIP, cat, l1 + l2, 3000, &out, &olen,
						err),
			 0);
	assert_int_equal(olen, 3000);
	assert_memory_equal(out, d, 3000);
	free(out);
	/* Second member cut short. */
	assert_int_equal(compression_decompress(COMPRESSION_GZIP, cat, l1 + l2 - 3, 3000, &out,
						&olen, err),
			 -SAMSA_ECORRUPT);
	/* zlib (not gzip) framing is not Kafka's gzip. */
	uLongf zl = compressBound(1000);
	uint8_t *zz = malloc(zl);
	assert_int_equal(compress(zz, &zl, d, 1000), Z_OK);
	assert_int_equal(compression_decompress(COMPRESSION_GZIP, zz, zl, 3000, &out, &olen, err),
			 -SAMSA_ECORRUPT);
	/* CRC in the trailer is checked. */
	cat[l1 - 6] ^= 1;
	assert_int_equal(compression_decompress(COMPRESSION_GZIP, cat, l1, 3000, &out, &olen, err),
			 -SAMSA_ECORRUPT);
	free(zz);
	free(cat);
	free(z1);
	free(z2);
	free(d);
}

static void test_zstd_streamed(void **state)
{
	(void)state;
	size_t n = 200000;
	uint8_t *d = make_data(n, 8, 10), *out;
	size_t olen;
	char err[ERRMSG_SIZE];
	/* Streaming compression without a pledged size: no content size in
	 * the frame header (what zstd-jni's output stream writes). Two frames. */
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	size_t cap = 2 * ZSTD_compressBound(n);
	uint8_t *z = malloc(cap);
	size_t zlen = 0;
	for (int f = 0; f < 2; f++) {
		ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
		ZSTD_inBuffer ib = {d + f * (n / 2), n / 2, 0};
		ZSTD_outBuffer ob = {z, cap, zlen};
		size_t first = zlen;
		/* Feeding first, then ending, as a stream writer does (ending
		 * on the first call would tell zstd the size). */
		assert_false(ZSTD_isError(ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_continue)));
		assert_int_equal(ib.pos, ib.size);
		size_t r;
		do {
			r = ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end);
			assert_false(ZSTD_isError(r));
		} while (r != 0);
		if (f == 0)
			assert_int_equal(ZSTD_getFrameContentSize(z + first, ob.pos - first),
					 ZSTD_CONTENTSIZE_UNKNOWN);
		zlen = ob.pos;
	}
	assert_int_equal(compression_decompress(COMPRESSION_ZSTD, z, zlen, n, &out, &olen, err), 0);
	assert_int_equal(olen, n);
	assert_memory_equal(out, d, n);
	free(out);
	assert_int_equal(compression_decompress(COMPRESSION_ZSTD, z, zlen, n - 1, &out, &olen, err),
			 -SAMSA_ETOOLARGE);

	/* A frame asking for a 128 MiB window is refused when the output may
	 * only be 1 MiB (the library would allocate the window). */
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 27);
	ZSTD_inBuffer ib = {d, 1000, 0};
	ZSTD_outBuffer ob = {z, cap, 0};
	ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_continue);
	while (ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end) != 0)
		;
	assert_int_equal(ZSTD_getFrameContentSize(z, ob.pos), ZSTD_CONTENTSIZE_UNKNOWN);
	assert_int_equal(compression_decompress(COMPRESSION_ZSTD, z, ob.pos, (size_t)1 << 20, &out,
						&olen, err),
			 -SAMSA_ECORRUPT);
	/* A frame whose header claims more content than max_out is refused up
	 * front. */
	uint8_t *z2;
	size_t z2len;
	assert_int_equal(compression_compress(COMPRESSION_ZSTD, d, n, &z2, &z2len, err), 0);
	assert_int_equal(ZSTD_getFrameContentSize(z2, z2len), n);
	assert_int_equal(compression_decompress(COMPRESSION_ZSTD, z2, z2len, 1000, &out, &olen, err),
			 -SAMSA_ETOOLARGE);
	free(z2);
	ZSTD_freeCCtx(cctx);
	free(z);
	free(d);
}

/* Random byte flips in compressed streams: never a crash, a leak, or an output
 * over the limit. */
static void test_flips(void **state)
{
	(void)state;
	size_t n = 20000;
	uint8_t *d = make_data(n, 11, 25);
	uint32_t x = 99;
	for (size_t c = 1; c < NCODECS; c++) {
		uint8_t *z;
		size_t zlen;
		char err[ERRMSG_SIZE];
		assert_int_equal(compression_compress(codecs[c], d, n, &z, &zlen, err), 0);
		for (int i = 0; i < 300; i++) {
			uint8_t *m = malloc(zlen);
			memcpy(m, z, zlen);
			for (int k = 0; k < 1 + i % 3; k++) {
				x = x * 1103515245u + 12345u;
				m[(x >> 8) % zlen] ^= (uint8_t)(1u << ((x >> 4) % 8));
			}
			uint8_t *out;
			size_t olen;
			int rc = compression_decompress_ex(codecs[c], COMPRESSION_F_LZ4_KAFKA3160, m,
							   zlen, n, &out, &olen, err);
			if (rc == 0) {
				assert_true(olen <= n);
				free(out);
			} else {
				assert_null(out);
				assert_true(rc == -SAMSA_ECORRUPT || rc == -SAMSA_ETOOLARGE);
			}
			free(m);
		}
		free(z);
	}
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_names_and_unknown),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_truncated_and_garbage),
		cmocka_unit_test(test_snappy_formats),
		cmocka_unit_test(test_xxh32),
		cmocka_unit_test(test_lz4_kafka3160),
		cmocka_unit_test(test_gzip_members),
		cmocka_unit_test(test_zstd_streamed),
		cmocka_unit_test(test_flips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
