/* Record batch v2 validation and CRC-32C.
 *
 * Produced record sets are validated here before the log appends them byte for
 * byte: every batch header is checked (magic, sizes, count), the CRC-32C over
 * attributes..end is recomputed, and for uncompressed batches every record is
 * walked structurally (its varint length, then each field inside it) so that a
 * batch the log stores is one a consumer can parse. Compressed batches are
 * checked at the header and CRC level only; their payload is opaque until the
 * codecs land.
 *
 * CRC-32C runs over every produced byte, so it has three implementations:
 * the SSE4.2 crc32 instruction (picked at start-up with cpuid) run as three
 * independent streams whose results are combined with precomputed "shift by N
 * zero bytes" tables, so the instruction's 3-cycle latency is hidden; the ARMv8
 * CRC instructions when the compiler targets them; and a portable
 * slicing-by-8 table fallback. */
#include "proto/records.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#include <nmmintrin.h>
#define RECORDS_HAVE_X86_CRC 1
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#define RECORDS_HAVE_ARM_CRC 1
#endif

/* ---------------------------------------------------------------- CRC-32C */

#define CRC32C_POLY 0x82F63B78u /* Castagnoli, reflected */

/* Block sizes of the three-stream hardware path. */
#define CRC32C_LONG 8192
#define CRC32C_SHORT 256

static uint32_t crc32c_table[8][256];
/* crc32c_shift_long[k][b]: the raw CRC register b << 8k advanced over
 * CRC32C_LONG zero bytes (the operator is linear, so four lookups advance any
 * register). */
static uint32_t crc32c_shift_long[4][256];
static uint32_t crc32c_shift_short[4][256];
#ifdef RECORDS_HAVE_X86_CRC
static int crc32c_hw; /* SSE4.2 available */
static int crc32c_fold; /* AVX-512F and VPCLMULQDQ available: crc32c_x86_fold */
/* crc32c_fold_k[i]: the two multipliers that move a 128-bit lane forward by
 * 128 << i bits (16 << i bytes), see crc32c_fold_init. */
static uint64_t crc32c_fold_k[5][2];
#endif

/* Raw register update over n zero bytes, one byte at a time (init only). */
static uint32_t crc32c_zeros_slow(uint32_t crc, size_t n)
{
	while (n--)
		crc = crc32c_table[0][crc & 0xff] ^ (crc >> 8);
	return crc;
}

static void crc32c_shift_table(uint32_t table[4][256], size_t n)
{
	uint32_t bit_image[32];
	for (int b = 0; b < 32; b++)
		bit_image[b] = crc32c_zeros_slow(1u << b, n);
	for (int k = 0; k < 4; k++) {
		for (int v = 0; v < 256; v++) {
			uint32_t img = 0;
			for (int b = 0; b < 8; b++)
				if (v & (1 << b))
					img ^= bit_image[8 * k + b];
			table[k][v] = img;
		}
	}
}

static inline uint32_t crc32c_shift(uint32_t table[4][256], uint32_t crc)
{
	return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^
	       table[3][crc >> 24];
}

#ifdef RECORDS_HAVE_X86_CRC
/* Folding with carry-less multiplication (the method of Intel's "Fast CRC
 * Computation for Generic Polynomials Using PCLMULQDQ"), written here for
 * CRC-32C with AVX-512: sixteen 128-bit lanes (four zmm registers) each take
 * every sixteenth 16-byte chunk, and move forward by multiplying instead of
 * going through the crc32 instruction, whose throughput (8 bytes a cycle)
 * was the limit of the three-stream path.
 *
 * The algebra. Data loaded little-endian puts message bit i (bit i of the
 * 128 bits) at the coefficient of x^(127-i): the first bit is the highest
 * power, as the reflected CRC reads it. A lane A = Ah * x^64 + Al holds Ah in
 * its low quadword and Al in its high one, each reflected over 64 bits. Moving
 * A forward by D bits modulo P is Ah * (x^(D+64) mod P) + Al * (x^D mod P).
 * A carry-less product of two 64-bit reflected values a and b comes out as
 * x * a * b in the 128-bit lane layout (its bit k is the coefficient of
 * x^(126-k) of a * b), so the multipliers are x^(D+63) mod P and x^(D-1)
 * mod P, each a 32-bit remainder bit-reversed into the top half of a
 * quadword. At the end one lane is left congruent to the whole message so
 * far, and the crc32 instruction over its 16 bytes from a zero register gives
 * the CRC register. The incoming register is XORed into the first 4 bytes
 * (crc(r, M) = crc(0, M ^ r) for messages of 4 bytes or more). */
static uint32_t crc32c_xpow_mod(uint32_t n)
{
	uint32_t r = 1; /* normal (not reflected) form: bit k is x^k */
	while (n--)
		r = (r << 1) ^ ((r & 0x80000000u) ? 0x1EDC6F41u : 0);
	return r;
}

static uint64_t crc32c_fold_const(uint32_t n)
{
	uint32_t r = crc32c_xpow_mod(n), rev = 0;
	for (int b = 0; b < 32; b++)
		if (r & (1u << b))
			rev |= 1u << (31 - b);
	return (uint64_t)rev << 32;
}

static void crc32c_fold_init(void)
{
	for (int i = 0; i < 5; i++) {
		uint32_t d = 128u << i;
		crc32c_fold_k[i][0] = crc32c_fold_const(d + 63); /* for Ah, the low quadword */
		crc32c_fold_k[i][1] = crc32c_fold_const(d - 1);  /* for Al */
	}
	crc32c_fold = crc32c_hw && __builtin_cpu_supports("avx512f") &&
		      __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul");
}
#endif

__attribute__((constructor)) static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc32c_table[0][i] = c;
	}
	for (int i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc32c_table[t][i] = crc32c_table[0][crc32c_table[t - 1][i] & 0xff] ^
					     (crc32c_table[t - 1][i] >> 8);
	crc32c_shift_table(crc32c_shift_long, CRC32C_LONG);
	crc32c_shift_table(crc32c_shift_short, CRC32C_SHORT);
#ifdef RECORDS_HAVE_X86_CRC
	__builtin_cpu_init();
	crc32c_hw = __builtin_cpu_supports("sse4.2");
	crc32c_fold_init();
#endif
}

static inline uint64_t load64le(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* Slicing-by-8 on the raw (non-inverted) register. */
static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		uint64_t v = load64le(p) ^ crc;
		crc = crc32c_table[7][v & 0xff] ^ crc32c_table[6][(v >> 8) & 0xff] ^
		      crc32c_table[5][(v >> 16) & 0xff] ^ crc32c_table[4][(v >> 24) & 0xff] ^
		      crc32c_table[3][(v >> 32) & 0xff] ^ crc32c_table[2][(v >> 40) & 0xff] ^
		      crc32c_table[1][(v >> 48) & 0xff] ^ crc32c_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#ifdef RECORDS_HAVE_X86_CRC
/* Three independent streams over blocks of n bytes each (n a multiple of 8),
 * then crc(A|B|C) = shift(shift(cA) ^ cB) ^ cC. */
__attribute__((target("sse4.2"))) static inline uint32_t crc32c_hw_3way(
	uint32_t crc, const uint8_t **pp, size_t *lenp, size_t n, uint32_t table[4][256])
{
	const uint8_t *p = *pp;
	size_t len = *lenp;
	while (len >= 3 * n) {
		uint64_t c0 = crc, c1 = 0, c2 = 0;
		for (size_t i = 0; i < n; i += 8) {
			c0 = _mm_crc32_u64(c0, load64le(p + i));
			c1 = _mm_crc32_u64(c1, load64le(p + n + i));
			c2 = _mm_crc32_u64(c2, load64le(p + 2 * n + i));
		}
		crc = crc32c_shift(table, (uint32_t)c0) ^ (uint32_t)c1;
		crc = crc32c_shift(table, crc) ^ (uint32_t)c2;
		p += 3 * n;
		len -= 3 * n;
	}
	*pp = p;
	*lenp = len;
	return crc;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_x86(uint32_t crc, const uint8_t *p,
							    size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = _mm_crc32_u8(crc, *p++);
		len--;
	}
	crc = crc32c_hw_3way(crc, &p, &len, CRC32C_LONG, crc32c_shift_long);
	crc = crc32c_hw_3way(crc, &p, &len, CRC32C_SHORT, crc32c_shift_short);
	uint64_t c = crc;
	while (len >= 8) {
		c = _mm_crc32_u64(c, load64le(p));
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len >= 4) {
		uint32_t v;
		memcpy(&v, p, 4);
		crc = _mm_crc32_u32(crc, v);
		p += 4;
		len -= 4;
	}
	while (len--)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}
#endif

#ifdef RECORDS_HAVE_X86_CRC
#define CRC32C_FOLD_MIN 256 /* below this the three-stream path is as fast */

#define CRC32C_FOLD_TARGET __attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.2")))

/* x moved forward by the distance of k (a 128-bit lane multiplier pair
 * broadcast to every lane), XORed with data. */
CRC32C_FOLD_TARGET static inline __m512i crc32c_fold512(__m512i x, __m512i k, __m512i data)
{
	return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
					 _mm512_clmulepi64_epi128(x, k, 0x11), data, 0x96);
}

CRC32C_FOLD_TARGET static inline __m128i crc32c_fold128(__m128i x, int i, __m128i data)
{
	__m128i k = _mm_loadu_si128((const __m128i *)crc32c_fold_k[i]);
	return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
					   _mm_clmulepi64_si128(x, k, 0x11)), data);
}

/* len >= CRC32C_FOLD_MIN. Returns the raw register, like crc32c_x86. */
CRC32C_FOLD_TARGET static uint32_t crc32c_x86_fold(uint32_t crc, const uint8_t *p, size_t len)
{
	__m512i x0 = _mm512_loadu_si512(p), x1 = _mm512_loadu_si512(p + 64);
	__m512i x2 = _mm512_loadu_si512(p + 128), x3 = _mm512_loadu_si512(p + 192);
	x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)crc)));
	p += 256;
	len -= 256;
	/* Sixteen lanes, 256 bytes apart. */
	__m512i k = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)crc32c_fold_k[4]));
	while (len >= 256) {
		x0 = crc32c_fold512(x0, k, _mm512_loadu_si512(p));
		x1 = crc32c_fold512(x1, k, _mm512_loadu_si512(p + 64));
		x2 = crc32c_fold512(x2, k, _mm512_loadu_si512(p + 128));
		x3 = crc32c_fold512(x3, k, _mm512_loadu_si512(p + 192));
		p += 256;
		len -= 256;
	}
	/* Into x3: x2 moves 64 bytes, x1 128, x0 192 (as 128 then 64). */
	__m512i k64 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)crc32c_fold_k[2]));
	__m512i k128 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)crc32c_fold_k[3]));
	x1 = crc32c_fold512(x0, k64, x1); /* x0 + 64 bytes, with x1 */
	x1 = crc32c_fold512(x1, k128, x3); /* (x0, x1) + 128 bytes, with x3 */
	x3 = crc32c_fold512(x2, k64, x1);
	/* Then 64 bytes at a time. */
	while (len >= 64) {
		x3 = crc32c_fold512(x3, k64, _mm512_loadu_si512(p));
		p += 64;
		len -= 64;
	}
	/* The four lanes of x3 into one, then 16 bytes at a time. */
	__m128i a = _mm512_extracti32x4_epi32(x3, 0);
	a = crc32c_fold128(a, 0, _mm512_extracti32x4_epi32(x3, 1));
	a = crc32c_fold128(a, 0, _mm512_extracti32x4_epi32(x3, 2));
	a = crc32c_fold128(a, 0, _mm512_extracti32x4_epi32(x3, 3));
	while (len >= 16) {
		a = crc32c_fold128(a, 0, _mm_loadu_si128((const __m128i *)p));
		p += 16;
		len -= 16;
	}
	uint64_t c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(a));
	c = _mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(a, 1));
	crc = (uint32_t)c;
	while (len--)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}
#endif

#ifdef RECORDS_HAVE_ARM_CRC
static uint32_t crc32c_arm(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = __crc32cb(crc, *p++);
		len--;
	}
	while (len >= 8) {
		crc = __crc32cd(crc, load64le(p));
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = __crc32cb(crc, *p++);
	return crc;
}
#endif

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	crc = ~crc;
#if defined(RECORDS_HAVE_X86_CRC)
	if (crc32c_fold && len >= CRC32C_FOLD_MIN)
		return ~crc32c_x86_fold(crc, p, len);
	if (crc32c_hw)
		return ~crc32c_x86(crc, p, len);
#elif defined(RECORDS_HAVE_ARM_CRC)
	return ~crc32c_arm(crc, p, len);
#endif
	return ~crc32c_sw(crc, p, len);
}

/* Exposed to tests through an extern declaration: the portable path, so it can
 * be checked against the hardware one on the same machine. */
uint32_t records_crc32c_portable(uint32_t crc, const void *data, size_t len);
uint32_t records_crc32c_portable(uint32_t crc, const void *data, size_t len)
{
	return ~crc32c_sw(~crc, data, len);
}

/* ------------------------------------------------------------ batch header */

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

void records_header_parse(const uint8_t *p, struct records_batch_header *hdr)
{
	hdr->base_offset = (int64_t)be64(p);
	hdr->batch_length = (int32_t)be32(p + 8);
	hdr->partition_leader_epoch = (int32_t)be32(p + 12);
	hdr->magic = (int8_t)p[16];
	hdr->crc = be32(p + 17);
	hdr->attributes = (int16_t)be16(p + 21);
	hdr->last_offset_delta = (int32_t)be32(p + 23);
	hdr->base_timestamp = (int64_t)be64(p + 27);
	hdr->max_timestamp = (int64_t)be64(p + 35);
	hdr->producer_id = (int64_t)be64(p + 43);
	hdr->producer_epoch = (int16_t)be16(p + 51);
	hdr->base_sequence = (int32_t)be32(p + 53);
	hdr->record_count = (int32_t)be32(p + 57);
}

/* ------------------------------------------------------------ record walk */

size_t records_read_varlong(const uint8_t *p, const uint8_t *end, int max_bytes, int64_t *out)
{
	uint64_t v = 0;
	for (int i = 0; i < max_bytes && p + i < end; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
			return (size_t)i + 1;
		}
	}
	return 0;
}

static size_t read_varint_slow(const uint8_t *p, const uint8_t *end, int32_t *out)
{
	int64_t v;
	size_t n = records_read_varlong(p, end, 5, &v);
	if (n == 0 || v < INT32_MIN || v > INT32_MAX)
		return 0;
	*out = (int32_t)v;
	return n;
}

/* The record walk reads six or more varints per record, nearly all of them
 * one or two bytes long (lengths below 8 KiB, small deltas, -1 for a null
 * key): those forms are decoded inline, the rest by the general reader. */
static inline size_t read_varint(const uint8_t *p, const uint8_t *end, int32_t *out)
{
	if (p < end && !(p[0] & 0x80)) {
		*out = (int32_t)(p[0] >> 1) ^ -(int32_t)(p[0] & 1);
		return 1;
	}
	if (end - p >= 2 && !(p[1] & 0x80)) {
		uint32_t v = (uint32_t)(p[0] & 0x7f) | (uint32_t)p[1] << 7;
		*out = (int32_t)(v >> 1) ^ -(int32_t)(v & 1);
		return 2;
	}
	return read_varint_slow(p, end, out);
}

static inline size_t read_varlong(const uint8_t *p, const uint8_t *end, int64_t *out)
{
	if (p < end && !(p[0] & 0x80)) {
		*out = (int64_t)(p[0] >> 1) ^ -(int64_t)(p[0] & 1);
		return 1;
	}
	return records_read_varlong(p, end, 10, out);
}

/* Reads a varint length and skips that many bytes (a key, a value, a header
 * key or value); -1 (null) is allowed when nullable. Returns NULL on error. */
static const uint8_t *skip_bytes_field(const uint8_t *p, const uint8_t *end, bool nullable)
{
	int32_t n;
	size_t k = read_varint(p, end, &n);
	if (!k)
		return NULL;
	p += k;
	if (n < 0)
		return (n == -1 && nullable) ? p : NULL;
	if ((size_t)(end - p) < (size_t)n)
		return NULL;
	return p + n;
}

/* Walks the records of an uncompressed batch: count records, each a varint
 * length followed by exactly that many bytes holding attributes,
 * timestampDelta, offsetDelta, key, value and headers. Returns NULL on success
 * or a static description of what failed, with *index the record's index. */
static const char *walk_records(const uint8_t *p, const uint8_t *end, int32_t count,
				int32_t *index)
{
	for (int32_t i = 0; i < count; i++) {
		*index = i;
		int32_t len;
		size_t k = read_varint(p, end, &len);
		if (!k)
			return "record length varint truncated";
		p += k;
		if (len <= 0)
			return "record length not positive";
		if ((size_t)(end - p) < (size_t)len)
			return "record extends past the batch";
		const uint8_t *rend = p + len;
		const uint8_t *q = p + 1; /* attributes */
		int64_t v64;
		int32_t v32;
		if (q > rend || !(k = read_varlong(q, rend, &v64)))
			return "record timestampDelta truncated";
		q += k;
		if (!(k = read_varint(q, rend, &v32)))
			return "record offsetDelta truncated";
		q += k;
		if (!(q = skip_bytes_field(q, rend, true)))
			return "record key truncated";
		if (!(q = skip_bytes_field(q, rend, true)))
			return "record value truncated";
		int32_t nheaders;
		if (!(k = read_varint(q, rend, &nheaders)) || nheaders < 0)
			return "record header count invalid";
		q += k;
		for (int32_t h = 0; h < nheaders; h++) {
			if (!(q = skip_bytes_field(q, rend, false)))
				return "record header key invalid";
			if (!(q = skip_bytes_field(q, rend, true)))
				return "record header value invalid";
		}
		if (q != rend)
			return "record fields do not fill its length";
		p = rend;
	}
	*index = count;
	if (p != end)
		return "records do not add up to the batch length";
	return NULL;
}

/* ------------------------------------------------------------- validation */

int records_validate(const uint8_t *data, size_t len, int32_t max_batch_bytes,
		     struct records_info *info, char errmsg[ERRMSG_SIZE])
{
	struct records_info tmp;
	if (!info)
		info = &tmp;
	memset(info, 0, sizeof(*info));
	info->max_timestamp = -1;
	info->magic = -1;
	if (errmsg)
		errmsg[0] = '\0';
	char scratch[ERRMSG_SIZE];
	if (!errmsg)
		errmsg = scratch;

	if (len == 0) {
		err_printf(errmsg, "empty record set");
		return -SAMSA_ECORRUPT;
	}

	size_t pos = 0;
	int64_t records = 0;
	for (int32_t b = 0; pos < len; b++) {
		const uint8_t *p = data + pos;
		size_t left = len - pos;
		if (left < 17) {
			err_printf(errmsg, "batch %d at byte %zu: truncated header (%zu bytes left)", b,
				   pos, left);
			return -SAMSA_ECORRUPT;
		}
		int8_t magic = (int8_t)p[16];
		if (b == 0)
			info->magic = magic;
		if (magic != 2) {
			if (b == 0 && (magic == 0 || magic == 1)) {
				err_printf(errmsg, "batch 0: legacy message format (magic %d)", magic);
				return -EPROTONOSUPPORT;
			}
			err_printf(errmsg, "batch %d at byte %zu: bad magic %d", b, pos, magic);
			return -SAMSA_ECORRUPT;
		}
		int32_t blen = (int32_t)be32(p + 8);
		if (blen < RECORDS_BATCH_HEADER_SIZE - RECORDS_LOG_OVERHEAD) {
			err_printf(errmsg, "batch %d at byte %zu: batchLength %d below the minimum %d",
				   b, pos, blen, RECORDS_BATCH_HEADER_SIZE - RECORDS_LOG_OVERHEAD);
			return -SAMSA_ECORRUPT;
		}
		int64_t total = (int64_t)blen + RECORDS_LOG_OVERHEAD;
		if (max_batch_bytes > 0 && total > max_batch_bytes) {
			err_printf(errmsg, "batch %d at byte %zu: %lld bytes exceed the limit of %d", b,
				   pos, (long long)total, max_batch_bytes);
			return -SAMSA_ETOOLARGE;
		}
		if ((uint64_t)total > left) {
			err_printf(errmsg,
				   "batch %d at byte %zu: batchLength %d exceeds the %zu bytes left",
				   b, pos, blen, left - RECORDS_LOG_OVERHEAD);
			return -SAMSA_ECORRUPT;
		}
		struct records_batch_header hdr;
		records_header_parse(p, &hdr);
		uint32_t crc = crc32c(0, p + 21, (size_t)total - 21);
		if (crc != hdr.crc) {
			err_printf(errmsg, "batch %d at byte %zu: CRC mismatch (stored 0x%08x, computed 0x%08x)",
				   b, pos, hdr.crc, crc);
			return -SAMSA_ECORRUPT;
		}
		if (hdr.last_offset_delta < 0 || hdr.record_count <= 0 ||
		    (int64_t)hdr.record_count != (int64_t)hdr.last_offset_delta + 1) {
			err_printf(errmsg,
				   "batch %d at byte %zu: record count %d does not match lastOffsetDelta %d",
				   b, pos, hdr.record_count, hdr.last_offset_delta);
			return -SAMSA_ECORRUPT;
		}
		int codec = hdr.attributes & RECORDS_ATTR_COMPRESSION_MASK;
		if (codec > 4) {
			err_printf(errmsg, "batch %d at byte %zu: unknown compression codec %d", b, pos,
				   codec);
			return -SAMSA_ECORRUPT;
		}
		if (codec == 0) {
			/* Each record takes at least 7 bytes; reject absurd counts
			 * before walking. */
			if ((int64_t)hdr.record_count * 7 > total - RECORDS_BATCH_HEADER_SIZE) {
				err_printf(errmsg,
					   "batch %d at byte %zu: %d records cannot fit in %lld bytes",
					   b, pos, hdr.record_count,
					   (long long)(total - RECORDS_BATCH_HEADER_SIZE));
				return -SAMSA_ECORRUPT;
			}
			int32_t ri = 0;
			const char *why = walk_records(p + RECORDS_BATCH_HEADER_SIZE, p + total,
						       hdr.record_count, &ri);
			if (why) {
				err_printf(errmsg, "batch %d at byte %zu, record %d: %s", b, pos, ri,
					   why);
				return -SAMSA_ECORRUPT;
			}
		}
		records += hdr.record_count;
		if (records > INT32_MAX) {
			err_printf(errmsg, "batch %d: more than %d records in one set", b, INT32_MAX);
			return -SAMSA_ECORRUPT;
		}
		info->batch_count = b + 1;
		info->record_count = (int32_t)records;
		if (hdr.max_timestamp > info->max_timestamp)
			info->max_timestamp = hdr.max_timestamp;
		if (total > info->largest_batch)
			info->largest_batch = (int32_t)total;
		pos += (size_t)total;
	}
	return 0;
}

size_t records_write_varlong(uint8_t *p, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 0;
	while (u >= 0x80) {
		p[n++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	p[n++] = (uint8_t)u;
	return n;
}
