/* Kafka's compression codecs over whole buffers (see compression.h).
 *
 * Decompression writes into a buffer that grows by doubling as the codec
 * produces bytes, capped at max_out + 1: a stream that fills the last byte has
 * more output than the caller allows, so the cap doubles as the bomb detector
 * and a stream of exactly max_out bytes still succeeds. Snappy states its
 * uncompressed length up front; that claim is checked against max_out and the
 * whole buffer validated (which costs CPU, no memory) before anything is
 * allocated for it. zstd's window is bounded with ZSTD_d_windowLogMax so a
 * frame cannot make the library allocate more than the output it may produce
 * (with a floor of 8 MiB, what low-level frames of unknown size ask for).
 *
 * zlib takes 32-bit lengths, so its input and output are fed in pieces of at
 * most UINT_MAX bytes.
 *
 * The lz4 KAFKA-3160 repair: Kafka's Java client before 0.10 (and librdkafka
 * when it writes magic 0) computed the frame descriptor's header checksum
 * (HC, the second byte of XXH32 of the descriptor) over the 4-byte magic
 * number as well. liblz4 rejects such frames, so when the caller allows it
 * and the HC matches the broken computation instead of the correct one, the
 * header is copied with the correct HC and fed to liblz4 first, followed by
 * the rest of the input. XXH32 is written out here (liblz4 does not export
 * it); the unit test checks it against the HC liblz4 writes. */
#include "proto/compression.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "base/xalloc.h"

#define SET_ERR(errmsg, ...)                                                                   \
	do {                                                                                   \
		if (errmsg)                                                                    \
			err_printf(errmsg, __VA_ARGS__);                                       \
	} while (0)

const char *compression_name(int codec)
{
	switch (codec) {
	case COMPRESSION_NONE:
		return "none";
	case COMPRESSION_GZIP:
		return "gzip";
	case COMPRESSION_SNAPPY:
		return "snappy";
	case COMPRESSION_LZ4:
		return "lz4";
	case COMPRESSION_ZSTD:
		return "zstd";
	default:
		return "unknown";
	}
}

static inline size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* ------------------------------------------------------------ output buffer */

struct obuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t limit; /* max_out + 1: reaching it means "too large" */
};

static void obuf_init(struct obuf *o, size_t hint, size_t max_out)
{
	o->limit = max_out < SIZE_MAX ? max_out + 1 : SIZE_MAX;
	size_t cap = hint < 1024 ? 1024 : hint;
	if (cap > o->limit)
		cap = o->limit;
	o->p = xmalloc(cap);
	o->cap = cap;
	o->len = 0;
}

/* Makes room for need more bytes, doubling; -SAMSA_ETOOLARGE past the limit. */
static int obuf_reserve(struct obuf *o, size_t need)
{
	if (need > o->limit - o->len)
		return -SAMSA_ETOOLARGE;
	size_t want = o->len + need;
	if (want <= o->cap)
		return 0;
	size_t cap = o->cap;
	while (cap < want)
		cap = cap > o->limit / 2 ? o->limit : cap * 2;
	o->p = xrealloc(o->p, cap);
	o->cap = cap;
	return 0;
}

/* Initial capacity for a stream codec: a few times the input, at most 8 MiB
 * (more is reached by doubling, so a bogus input commits little). */
#define STREAM_HINT_MAX ((size_t)8 << 20)
static size_t stream_hint(size_t in_len)
{
	return in_len > STREAM_HINT_MAX / 4 ? STREAM_HINT_MAX : in_len * 4;
}

/* ------------------------------------------------------------------ XXH32 */

#define XXH_P1 2654435761u
#define XXH_P2 2246822519u
#define XXH_P3 3266489917u
#define XXH_P4 668265263u
#define XXH_P5 374761393u

static inline uint32_t rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static inline uint32_t xxh32_round(uint32_t acc, uint32_t in)
{
	acc += in * XXH_P2;
	return rotl32(acc, 13) * XXH_P1;
}

/* XXH32 (the hash lz4 frames use). Exported for the unit test only. */
uint32_t compression_xxh32(const void *data, size_t len, uint32_t seed);
uint32_t compression_xxh32(const void *data, size_t len, uint32_t seed)
{
	const uint8_t *p = data, *end = p + len;
	uint32_t h;
	if (len >= 16) {
		uint32_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2, v3 = seed,
			 v4 = seed - XXH_P1;
		while ((size_t)(end - p) >= 16) {
			v1 = xxh32_round(v1, le32(p));
			v2 = xxh32_round(v2, le32(p + 4));
			v3 = xxh32_round(v3, le32(p + 8));
			v4 = xxh32_round(v4, le32(p + 12));
			p += 16;
		}
		h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
	} else {
		h = seed + XXH_P5;
	}
	h += (uint32_t)len;
	while ((size_t)(end - p) >= 4) {
		h += le32(p) * XXH_P3;
		h = rotl32(h, 17) * XXH_P4;
		p += 4;
	}
	while (p < end) {
		h += *p++ * XXH_P5;
		h = rotl32(h, 11) * XXH_P1;
	}
	h ^= h >> 15;
	h *= XXH_P2;
	h ^= h >> 13;
	h *= XXH_P3;
	h ^= h >> 16;
	return h;
}

/* ------------------------------------------------------------------- gzip */

static int gzip_decompress(const uint8_t *in, size_t in_len, struct obuf *o, char *errmsg)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK) {
		SET_ERR(errmsg, "gzip: inflateInit2 failed");
		return -ENOMEM;
	}
	size_t pos = 0;
	int rc = 0;
	for (;;) {
		if (o->len == o->cap && (rc = obuf_reserve(o, 1)) < 0)
			break;
		size_t in_chunk = min_size(in_len - pos, UINT_MAX);
		size_t out_chunk = min_size(o->cap - o->len, UINT_MAX);
		zs.next_in = (Bytef *)(uintptr_t)(in + pos);
		zs.avail_in = (uInt)in_chunk;
		zs.next_out = o->p + o->len;
		zs.avail_out = (uInt)out_chunk;
		int zr = inflate(&zs, Z_NO_FLUSH);
		pos += in_chunk - zs.avail_in;
		o->len += out_chunk - zs.avail_out;
		if (zr == Z_STREAM_END) {
			if (pos == in_len)
				break;
			/* Another gzip member follows (as gzip(1) and Java's
			 * GZIPInputStream read them); anything else is garbage. */
			if (in_len - pos >= 2 && in[pos] == 0x1f && in[pos + 1] == 0x8b) {
				inflateReset(&zs);
				continue;
			}
			SET_ERR(errmsg, "gzip: %zu trailing bytes after the stream", in_len - pos);
			rc = -SAMSA_ECORRUPT;
			break;
		}
		if (zr == Z_OK || zr == Z_BUF_ERROR) {
			if (zs.avail_out == 0)
				continue; /* output full: grow */
			if (pos == in_len) {
				SET_ERR(errmsg, in_len ? "gzip: truncated stream" : "gzip: empty input");
				rc = -SAMSA_ECORRUPT;
				break;
			}
			if (zr == Z_BUF_ERROR) { /* no progress with room on both sides */
				SET_ERR(errmsg, "gzip: stream stalled");
				rc = -SAMSA_ECORRUPT;
				break;
			}
			continue;
		}
		if (zr == Z_MEM_ERROR) {
			SET_ERR(errmsg, "gzip: out of memory");
			rc = -ENOMEM;
			break;
		}
		SET_ERR(errmsg, "gzip: %s", zs.msg ? zs.msg : "invalid data");
		rc = -SAMSA_ECORRUPT;
		break;
	}
	inflateEnd(&zs);
	return rc;
}

static int gzip_compress(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len,
			 char *errmsg)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		SET_ERR(errmsg, "gzip: deflateInit2 failed");
		return -EIO;
	}
	/* deflateBound() works on uLong; chunked input below UINT_MAX each
	 * adds no more than the bound of the whole (stored blocks). */
	size_t bound = (size_t)deflateBound(&zs, (uLong)in_len) + 64;
	uint8_t *buf = xmalloc(bound);
	size_t pos = 0, opos = 0;
	int rc = 0;
	for (;;) {
		size_t in_chunk = min_size(in_len - pos, UINT_MAX);
		size_t out_chunk = min_size(bound - opos, UINT_MAX);
		zs.next_in = (Bytef *)(uintptr_t)(in + pos);
		zs.avail_in = (uInt)in_chunk;
		zs.next_out = buf + opos;
		zs.avail_out = (uInt)out_chunk;
		int flush = pos + in_chunk == in_len ? Z_FINISH : Z_NO_FLUSH;
		int zr = deflate(&zs, flush);
		size_t used = in_chunk - zs.avail_in, made = out_chunk - zs.avail_out;
		pos += used;
		opos += made;
		if (zr == Z_STREAM_END)
			break;
		if ((zr != Z_OK && zr != Z_BUF_ERROR) || (used == 0 && made == 0)) {
			SET_ERR(errmsg, "gzip: deflate failed (%d)", zr);
			rc = -EIO;
			break;
		}
	}
	deflateEnd(&zs);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = opos;
	return 0;
}

/* ----------------------------------------------------------------- snappy */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_SIZE 16
#define XERIAL_BLOCK_SIZE (32 * 1024)

/* One raw snappy buffer appended to o. */
static int snappy_block(const uint8_t *in, size_t len, struct obuf *o, size_t max_out,
			const char *what, char *errmsg)
{
	size_t ulen;
	if (snappy_uncompressed_length((const char *)in, len, &ulen) != SNAPPY_OK) {
		SET_ERR(errmsg, "snappy: %s: bad length header", what);
		return -SAMSA_ECORRUPT;
	}
	if (ulen > max_out - o->len) {
		SET_ERR(errmsg, "snappy: %s: uncompressed size %zu exceeds the limit of %zu bytes",
			what, ulen, max_out);
		return -SAMSA_ETOOLARGE;
	}
	if (snappy_validate_compressed_buffer((const char *)in, len) != SNAPPY_OK) {
		SET_ERR(errmsg, "snappy: %s: invalid compressed data", what);
		return -SAMSA_ECORRUPT;
	}
	int rc = obuf_reserve(o, ulen);
	if (rc < 0)
		return rc;
	size_t n = ulen;
	if (snappy_uncompress((const char *)in, len, (char *)o->p + o->len, &n) != SNAPPY_OK ||
	    n != ulen) {
		SET_ERR(errmsg, "snappy: %s: decompression failed", what);
		return -SAMSA_ECORRUPT;
	}
	o->len += ulen;
	return 0;
}

static int snappy_decompress(const uint8_t *in, size_t in_len, size_t max_out, struct obuf *o,
			     char *errmsg)
{
	if (in_len < XERIAL_HEADER_SIZE || memcmp(in, xerial_magic, sizeof(xerial_magic)) != 0)
		return snappy_block(in, in_len, o, max_out, "raw", errmsg);
	/* xerial framing: magic, int32 version, int32 compatible version (both
	 * 1 in practice, not checked), then [int32 length][snappy] blocks. */
	size_t pos = XERIAL_HEADER_SIZE;
	for (int blk = 0; pos < in_len; blk++) {
		if (in_len - pos < 4) {
			SET_ERR(errmsg, "snappy: xerial block %d: truncated length", blk);
			return -SAMSA_ECORRUPT;
		}
		uint32_t blen = be32(in + pos);
		pos += 4;
		if (blen > in_len - pos) {
			SET_ERR(errmsg, "snappy: xerial block %d: length %u exceeds the %zu bytes left",
				blk, blen, in_len - pos);
			return -SAMSA_ECORRUPT;
		}
		char what[32];
		snprintf(what, sizeof(what), "xerial block %d", blk);
		int rc = snappy_block(in + pos, blen, o, max_out, what, errmsg);
		if (rc < 0)
			return rc;
		pos += blen;
	}
	return 0;
}

static int snappy_compress_xerial(const uint8_t *in, size_t in_len, uint8_t **out,
				  size_t *out_len)
{
	size_t nblocks = in_len / XERIAL_BLOCK_SIZE + (in_len % XERIAL_BLOCK_SIZE != 0);
	size_t cap = XERIAL_HEADER_SIZE +
		     nblocks * (4 + snappy_max_compressed_length(XERIAL_BLOCK_SIZE));
	uint8_t *buf = xmalloc(cap);
	memcpy(buf, xerial_magic, sizeof(xerial_magic));
	put_be32(buf + 8, 1);  /* version */
	put_be32(buf + 12, 1); /* compatible version */
	size_t opos = XERIAL_HEADER_SIZE;
	for (size_t pos = 0; pos < in_len;) {
		size_t n = min_size(in_len - pos, XERIAL_BLOCK_SIZE);
		size_t clen = cap - opos - 4;
		if (snappy_compress((const char *)in + pos, n, (char *)buf + opos + 4, &clen) !=
		    SNAPPY_OK) {
			free(buf);
			return -EIO;
		}
		put_be32(buf + opos, (uint32_t)clen);
		opos += 4 + clen;
		pos += n;
	}
	*out = buf;
	*out_len = opos;
	return 0;
}

/* -------------------------------------------------------------------- lz4 */

#define LZ4_FRAME_MAGIC 0x184D2204u

/* If in starts with an LZ4 frame header whose HC is the KAFKA-3160 one (over
 * magic + descriptor) rather than the correct one (descriptor only), copies the
 * header into hdr with the correct HC and returns its length; else 0. */
static size_t lz4_kafka3160_header(const uint8_t *in, size_t len,
				   uint8_t hdr[LZ4F_HEADER_SIZE_MAX])
{
	if (len < 7 || le32(in) != LZ4_FRAME_MAGIC)
		return 0;
	uint8_t flg = in[4];
	size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
	if (len < 4 + desc + 1)
		return 0;
	uint8_t hc = in[4 + desc];
	uint8_t good = (uint8_t)(compression_xxh32(in + 4, desc, 0) >> 8);
	if (hc == good)
		return 0;
	uint8_t broken = (uint8_t)(compression_xxh32(in, 4 + desc, 0) >> 8);
	if (hc != broken)
		return 0;
	memcpy(hdr, in, 4 + desc);
	hdr[4 + desc] = good;
	return 5 + desc;
}

static int lz4_decompress(const uint8_t *in, size_t in_len, unsigned flags, struct obuf *o,
			  char *errmsg)
{
	uint8_t hdr[LZ4F_HEADER_SIZE_MAX];
	size_t hdr_len = 0;
	if (flags & COMPRESSION_F_LZ4_KAFKA3160)
		hdr_len = lz4_kafka3160_header(in, in_len, hdr);
	/* Input as two pieces: the repaired header (if any), then the rest. */
	const uint8_t *piece[2] = {hdr, in + hdr_len};
	size_t piece_len[2] = {hdr_len, in_len - hdr_len};
	int cur = hdr_len ? 0 : 1;
	size_t ppos = 0;

	LZ4F_dctx *dctx;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
		SET_ERR(errmsg, "lz4: cannot create a decompression context");
		return -ENOMEM;
	}
	size_t hint = 1; /* nonzero: a frame is not finished */
	int rc = 0;
	for (;;) {
		if (cur == 0 && ppos == piece_len[0]) {
			cur = 1;
			ppos = 0;
		}
		bool input_done = cur == 1 && ppos == piece_len[1];
		if (input_done && hint == 0)
			break;
		if (o->len == o->cap && (rc = obuf_reserve(o, 1)) < 0)
			break;
		size_t dst = o->cap - o->len, src = piece_len[cur] - ppos;
		hint = LZ4F_decompress(dctx, o->p + o->len, &dst, piece[cur] + ppos, &src, NULL);
		if (LZ4F_isError(hint)) {
			SET_ERR(errmsg, "lz4: %s", LZ4F_getErrorName(hint));
			rc = -SAMSA_ECORRUPT;
			break;
		}
		ppos += src;
		o->len += dst;
		if (input_done && hint != 0 && o->len < o->cap) {
			SET_ERR(errmsg, in_len ? "lz4: truncated frame" : "lz4: empty input");
			rc = -SAMSA_ECORRUPT;
			break;
		}
		/* hint == 0 with input left: another frame follows. */
	}
	LZ4F_freeDecompressionContext(dctx);
	return rc;
}

static int lz4_compress(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len,
			char *errmsg)
{
	LZ4F_preferences_t prefs;
	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	prefs.frameInfo.blockMode = LZ4F_blockIndependent;
	prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
	prefs.frameInfo.contentSize = 0; /* not written */
	size_t bound = LZ4F_compressFrameBound(in_len, &prefs);
	uint8_t *buf = xmalloc(bound);
	size_t n = LZ4F_compressFrame(buf, bound, in, in_len, &prefs);
	if (LZ4F_isError(n)) {
		SET_ERR(errmsg, "lz4: %s", LZ4F_getErrorName(n));
		free(buf);
		return -EIO;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

/* ------------------------------------------------------------------- zstd */

#define ZSTD_KAFKA_LEVEL 3
#define ZSTD_WINDOW_LOG_FLOOR 23 /* 8 MiB */
#define ZSTD_WINDOW_LOG_CEIL 27  /* zstd's own default limit */

static int zstd_decompress(const uint8_t *in, size_t in_len, size_t max_out, struct obuf *o,
			   char *errmsg)
{
	if (in_len == 0) {
		SET_ERR(errmsg, "zstd: empty input");
		return -SAMSA_ECORRUPT;
	}
	int wlog = ZSTD_WINDOW_LOG_FLOOR;
	while (wlog < ZSTD_WINDOW_LOG_CEIL && ((size_t)1 << wlog) < max_out)
		wlog++;
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	if (!dctx) {
		SET_ERR(errmsg, "zstd: cannot create a decompression context");
		return -ENOMEM;
	}
	ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, wlog);
	ZSTD_inBuffer ib = {in, in_len, 0};
	int rc = 0;
	for (;;) {
		if (o->len == o->cap && (rc = obuf_reserve(o, 1)) < 0)
			break;
		ZSTD_outBuffer ob = {o->p, o->cap, o->len};
		size_t in_before = ib.pos, out_before = ob.pos;
		size_t r = ZSTD_decompressStream(dctx, &ob, &ib);
		o->len = ob.pos;
		if (ZSTD_isError(r)) {
			SET_ERR(errmsg, "zstd: %s", ZSTD_getErrorName(r));
			rc = ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? -ENOMEM
										  : -SAMSA_ECORRUPT;
			break;
		}
		if (r == 0) { /* a frame ended and is flushed */
			if (ib.pos == ib.size)
				break;
			continue;
		}
		if (ob.pos < ob.size &&
		    (ib.pos == ib.size || (ib.pos == in_before && ob.pos == out_before))) {
			SET_ERR(errmsg, "zstd: truncated frame");
			rc = -SAMSA_ECORRUPT;
			break;
		}
	}
	ZSTD_freeDCtx(dctx);
	return rc;
}

static int zstd_compress(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len,
			 char *errmsg)
{
	size_t bound = ZSTD_compressBound(in_len);
	uint8_t *buf = xmalloc(bound ? bound : 1);
	size_t n = ZSTD_compress(buf, bound, in, in_len, ZSTD_KAFKA_LEVEL);
	if (ZSTD_isError(n)) {
		SET_ERR(errmsg, "zstd: %s", ZSTD_getErrorName(n));
		free(buf);
		return -EIO;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

/* ------------------------------------------------------------- public API */

int compression_decompress_ex(int codec, unsigned flags, const uint8_t *in, size_t in_len,
			      size_t max_out, uint8_t **out, size_t *out_len,
			      char errmsg[ERRMSG_SIZE])
{
	*out = NULL;
	*out_len = 0;
	if (errmsg)
		errmsg[0] = '\0';
	if (codec < COMPRESSION_NONE || codec > COMPRESSION_MAX) {
		SET_ERR(errmsg, "unknown compression codec %d", codec);
		return -EINVAL;
	}
	struct obuf o;
	int rc;
	switch (codec) {
	case COMPRESSION_NONE:
		if (in_len > max_out) {
			SET_ERR(errmsg, "%zu bytes exceed the limit of %zu", in_len, max_out);
			return -SAMSA_ETOOLARGE;
		}
		obuf_init(&o, in_len, max_out);
		if (in_len)
			memcpy(o.p, in, in_len);
		o.len = in_len;
		rc = 0;
		break;
	case COMPRESSION_GZIP:
		obuf_init(&o, stream_hint(in_len), max_out);
		rc = gzip_decompress(in, in_len, &o, errmsg);
		break;
	case COMPRESSION_SNAPPY:
		obuf_init(&o, 0, max_out);
		rc = snappy_decompress(in, in_len, max_out, &o, errmsg);
		break;
	case COMPRESSION_LZ4:
		obuf_init(&o, stream_hint(in_len), max_out);
		rc = lz4_decompress(in, in_len, flags, &o, errmsg);
		break;
	default: {
		unsigned long long csize = ZSTD_getFrameContentSize(in, in_len);
		size_t hint = stream_hint(in_len);
		if (csize != ZSTD_CONTENTSIZE_UNKNOWN && csize != ZSTD_CONTENTSIZE_ERROR) {
			if (csize > max_out) {
				SET_ERR(errmsg,
					"zstd: frame content size %llu exceeds the limit of %zu bytes",
					csize, max_out);
				return -SAMSA_ETOOLARGE;
			}
			hint = (size_t)csize;
		}
		obuf_init(&o, hint, max_out);
		rc = zstd_decompress(in, in_len, max_out, &o, errmsg);
		break;
	}
	}
	if (rc == 0 && o.len > max_out)
		rc = -SAMSA_ETOOLARGE;
	if (rc == -SAMSA_ETOOLARGE && errmsg && !errmsg[0])
		err_printf(errmsg, "%s: decompressed size exceeds the limit of %zu bytes",
			   compression_name(codec), max_out);
	if (rc < 0) {
		free(o.p);
		return rc;
	}
	*out = o.p;
	*out_len = o.len;
	return 0;
}

int compression_decompress(int codec, const uint8_t *in, size_t in_len, size_t max_out,
			   uint8_t **out, size_t *out_len, char errmsg[ERRMSG_SIZE])
{
	return compression_decompress_ex(codec, 0, in, in_len, max_out, out, out_len, errmsg);
}

int compression_compress(int codec, const uint8_t *in, size_t in_len, uint8_t **out,
			 size_t *out_len, char errmsg[ERRMSG_SIZE])
{
	*out = NULL;
	*out_len = 0;
	if (errmsg)
		errmsg[0] = '\0';
	switch (codec) {
	case COMPRESSION_NONE:
		*out = xmalloc(in_len ? in_len : 1);
		if (in_len)
			memcpy(*out, in, in_len);
		*out_len = in_len;
		return 0;
	case COMPRESSION_GZIP:
		return gzip_compress(in, in_len, out, out_len, errmsg);
	case COMPRESSION_SNAPPY: {
		int rc = snappy_compress_xerial(in, in_len, out, out_len);
		if (rc < 0)
			SET_ERR(errmsg, "snappy: compression failed");
		return rc;
	}
	case COMPRESSION_LZ4:
		return lz4_compress(in, in_len, out, out_len, errmsg);
	case COMPRESSION_ZSTD:
		return zstd_compress(in, in_len, out, out_len, errmsg);
	default:
		SET_ERR(errmsg, "unknown compression codec %d", codec);
		return -EINVAL;
	}
}
