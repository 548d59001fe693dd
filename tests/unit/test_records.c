/* Record batch v2 validation and CRC-32C: known vectors, hardware vs portable
 * paths, acceptance of well-formed batches and rejection of each corruption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/records.h"
#include "unit/testutil_batch.h"

/* Portable slicing-by-8 path, exported by records.c for this test. */
uint32_t records_crc32c_portable(uint32_t crc, const void *data, size_t len);

static void test_crc32c_vectors(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283);
	assert_int_equal(records_crc32c_portable(0, "123456789", 9), 0xE3069283);
	assert_int_equal(crc32c(0, "", 0), 0);
	uint8_t buf[32];
	memset(buf, 0, sizeof(buf));
	assert_int_equal(crc32c(0, buf, 32), 0x8A9136AA); /* RFC 3720 B.4 */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(crc32c(0, buf, 32), 0x62A8AB43);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(crc32c(0, buf, 32), 0x46DD794E);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(crc32c(0, buf, 32), 0x113FDB5C);
	/* Continuation: crc(a|b) == crc(crc(a), b). */
	assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283);
}

static void test_crc32c_paths_agree(void **state)
{
	(void)state;
	size_t n = 3 * 8192 * 2 + 3 * 256 * 3 + 77;
	uint8_t *buf = malloc(n + 16);
	uint32_t x = 12345;
	for (size_t i = 0; i < n + 16; i++) {
		x = x * 1103515245 + 12345;
		buf[i] = (uint8_t)(x >> 16);
	}
	static const size_t lens[] = {0, 1, 7, 8, 9, 63, 64, 255, 256, 767, 768, 769, 1000, 4096,
				      24575, 24576, 24577, 50000};
	for (size_t a = 0; a < 8; a++) {
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			size_t len = lens[l];
			uint32_t hw = crc32c(0, buf + a, len);
			uint32_t sw = records_crc32c_portable(0, buf + a, len);
			assert_int_equal(hw, sw);
			/* Split anywhere gives the same. */
			size_t cut = len / 3;
			assert_int_equal(crc32c(crc32c(0, buf + a, cut), buf + a + cut, len - cut), hw);
		}
	}
	assert_int_equal(crc32c(0, buf, n), records_crc32c_portable(0, buf, n));
	free(buf);
}

static void test_validate_accepts(void **state)
{
	(void)state;
	struct tb_buf b = {0};
	struct tb_opts o;
	tb_opts_default(&o);
	o.count = 5;
	o.key = "key";
	o.headers = 2;
	o.value_size = 100;
	tb_batch(&b, &o);
	size_t second = tb_simple(&b, 1, 0, 1700000000500LL);
	tb_simple(&b, 200, 1024, 1700000000100LL);
	struct records_info info;
	char errmsg[ERRMSG_SIZE];
	int rc = records_validate(b.data, b.len, 1048588, &info, errmsg);
	assert_int_equal(rc, 0);
	assert_int_equal(info.batch_count, 3);
	assert_int_equal(info.record_count, 206);
	assert_int_equal(info.magic, 2);
	assert_int_equal(info.max_timestamp, 1700000000500LL);
	assert_true(info.largest_batch > 200 * 1024);

	struct records_batch_header hdr;
	records_header_parse(b.data, &hdr);
	assert_int_equal(hdr.magic, 2);
	assert_int_equal(hdr.record_count, 5);
	assert_int_equal(hdr.last_offset_delta, 4);
	assert_int_equal(hdr.producer_id, -1);
	assert_int_equal(hdr.base_timestamp, 1700000000000LL);
	assert_int_equal(hdr.batch_length + 12, (int32_t)second);
	tb_free(&b);
}

static void test_validate_compressed_opaque(void **state)
{
	(void)state;
	/* A "gzip" batch: the payload is not parsed, only header + CRC. */
	struct tb_buf b = {0};
	struct tb_opts o;
	tb_opts_default(&o);
	o.count = 3;
	o.attributes = 1;
	size_t at = tb_batch(&b, &o);
	b.data[at + 61] ^= 0x55; /* garble the payload, keep the CRC right */
	tb_fix_crc(b.data + at);
	assert_int_equal(records_validate(b.data, b.len, 0, NULL, NULL), 0);
	/* An uncompressed batch with the same garbling is rejected. */
	b.data[at + 22] = 0;
	b.data[at + 61] = 0x7f; /* record length 63: past the batch */
	tb_fix_crc(b.data + at);
	assert_int_equal(records_validate(b.data, b.len, 0, NULL, NULL), -SAMSA_ECORRUPT);
	/* Unknown codec 7. */
	b.data[at + 22] = 7;
	tb_fix_crc(b.data + at);
	assert_int_equal(records_validate(b.data, b.len, 0, NULL, NULL), -SAMSA_ECORRUPT);
	tb_free(&b);
}

/* Three good batches; corrupt the second via fn and expect rc and "batch 1". */
static void expect_reject(void (*fn)(uint8_t *batch, size_t len), int want_rc,
			  const char *want_text)
{
	struct tb_buf b = {0};
	tb_simple(&b, 2, 10, 1000);
	size_t at = tb_simple(&b, 4, 30, 2000);
	size_t second_len = b.len - at;
	tb_simple(&b, 1, 5, 3000);
	fn(b.data + at, second_len);
	char errmsg[ERRMSG_SIZE];
	struct records_info info;
	int rc = records_validate(b.data, b.len, 1048588, &info, errmsg);
	if (rc != want_rc || !strstr(errmsg, want_text) || !strstr(errmsg, "batch 1"))
		fail_msg("rc %d (want %d), errmsg \"%s\" (want \"%s\")", rc, want_rc, errmsg,
			 want_text);
	tb_free(&b);
}

static void corrupt_crc(uint8_t *p, size_t len)
{
	p[len - 1] ^= 1;
}

static void corrupt_magic(uint8_t *p, size_t len)
{
	(void)len;
	p[16] = 3;
}

static void corrupt_legacy_magic_later(uint8_t *p, size_t len)
{
	(void)len;
	p[16] = 1; /* only the first batch's magic decides "legacy" */
}

static void corrupt_length_small(uint8_t *p, size_t len)
{
	(void)len;
	tb_set_be(p + 8, 48, 4);
}

static void corrupt_length_large(uint8_t *p, size_t len)
{
	(void)len;
	tb_set_be(p + 8, 1000000, 4);
}

static void corrupt_count(uint8_t *p, size_t len)
{
	(void)len;
	tb_set_be(p + 57, 5, 4); /* 4 records, lastOffsetDelta 3 */
	tb_fix_crc(p);
}

static void corrupt_count_more_records(uint8_t *p, size_t len)
{
	(void)len;
	tb_set_be(p + 57, 5, 4);
	tb_set_be(p + 23, 4, 4); /* consistent header, but only 4 records */
	tb_fix_crc(p);
}

static void corrupt_count_fewer_records(uint8_t *p, size_t len)
{
	(void)len;
	tb_set_be(p + 57, 3, 4);
	tb_set_be(p + 23, 2, 4); /* 3 declared, 4 present: bytes left over */
	tb_fix_crc(p);
}

static void corrupt_record_length(uint8_t *p, size_t len)
{
	(void)len;
	p[61] += 2; /* first record's length varint (zigzag): one byte longer */
	tb_fix_crc(p);
}

static void corrupt_record_key_length(uint8_t *p, size_t len)
{
	(void)len;
	/* record: len, attributes, tsDelta(0), offsetDelta(0), keyLen(-1 = 0x01) */
	p[61 + 4] = 0x7e; /* key length 63 > record */
	tb_fix_crc(p);
}

static void test_validate_rejects(void **state)
{
	(void)state;
	expect_reject(corrupt_crc, -SAMSA_ECORRUPT, "CRC");
	expect_reject(corrupt_magic, -SAMSA_ECORRUPT, "magic");
	expect_reject(corrupt_legacy_magic_later, -SAMSA_ECORRUPT, "magic");
	expect_reject(corrupt_length_small, -SAMSA_ECORRUPT, "minimum");
	expect_reject(corrupt_length_large, -SAMSA_ECORRUPT, "exceeds");
	expect_reject(corrupt_count, -SAMSA_ECORRUPT, "count");
	expect_reject(corrupt_count_more_records, -SAMSA_ECORRUPT, "record 4");
	expect_reject(corrupt_count_fewer_records, -SAMSA_ECORRUPT, "add up");
	expect_reject(corrupt_record_length, -SAMSA_ECORRUPT, "record 0");
	expect_reject(corrupt_record_key_length, -SAMSA_ECORRUPT, "key");
}

static void test_validate_limits(void **state)
{
	(void)state;
	struct tb_buf b = {0};
	tb_simple(&b, 10, 1000, 1000);
	char errmsg[ERRMSG_SIZE];
	struct records_info info;
	assert_int_equal(records_validate(b.data, b.len, 5000, &info, errmsg), -SAMSA_ETOOLARGE);
	assert_non_null(strstr(errmsg, "batch 0"));
	assert_int_equal(records_validate(b.data, b.len, (int32_t)b.len, &info, errmsg), 0);
	assert_int_equal(records_validate(b.data, b.len, (int32_t)b.len - 1, &info, errmsg),
			 -SAMSA_ETOOLARGE);

	/* Truncated sets. */
	assert_int_equal(records_validate(b.data, 10, 0, &info, errmsg), -SAMSA_ECORRUPT);
	assert_int_equal(records_validate(b.data, b.len - 1, 0, &info, errmsg), -SAMSA_ECORRUPT);
	assert_int_equal(records_validate(b.data, 0, 0, &info, errmsg), -SAMSA_ECORRUPT);
	/* Trailing garbage after a whole batch. */
	tb_put(&b, "xyz", 3);
	assert_int_equal(records_validate(b.data, b.len, 0, &info, errmsg), -SAMSA_ECORRUPT);
	assert_non_null(strstr(errmsg, "batch 1"));
	tb_free(&b);
}

static void test_validate_legacy(void **state)
{
	(void)state;
	struct tb_buf b = {0};
	tb_simple(&b, 1, 10, 1000);
	char errmsg[ERRMSG_SIZE];
	struct records_info info;
	for (int m = 0; m <= 1; m++) {
		b.data[16] = (uint8_t)m;
		assert_int_equal(records_validate(b.data, b.len, 0, &info, errmsg), -EPROTONOSUPPORT);
		assert_int_equal(info.magic, m);
	}
	tb_free(&b);
}

static void test_validate_zero_count(void **state)
{
	(void)state;
	struct tb_buf b = {0};
	tb_simple(&b, 1, 10, 1000);
	tb_set_be(b.data + 57, 0, 4);
	tb_set_be(b.data + 23, (uint32_t)-1, 4);
	tb_fix_crc(b.data);
	assert_int_equal(records_validate(b.data, b.len, 0, NULL, NULL), -SAMSA_ECORRUPT);
	tb_free(&b);
}

/* Every single-byte flip of a batch is caught (the CRC or a bounds check). */
static void test_validate_every_flip(void **state)
{
	(void)state;
	struct tb_buf b = {0};
	struct tb_opts o;
	tb_opts_default(&o);
	o.count = 3;
	o.key = "k";
	o.headers = 1;
	tb_batch(&b, &o);
	for (size_t i = 8; i < b.len; i++) {
		if (i >= 12 && i < 16)
			continue; /* partitionLeaderEpoch is not covered, by design */
		b.data[i] ^= 0x10;
		int rc = records_validate(b.data, b.len, 0, NULL, NULL);
		if (rc == 0)
			fail_msg("flip at byte %zu accepted", i);
		b.data[i] ^= 0x10;
	}
	assert_int_equal(records_validate(b.data, b.len, 0, NULL, NULL), 0);
	tb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_crc32c_paths_agree),
		cmocka_unit_test(test_validate_accepts),
		cmocka_unit_test(test_validate_compressed_opaque),
		cmocka_unit_test(test_validate_rejects),
		cmocka_unit_test(test_validate_limits),
		cmocka_unit_test(test_validate_legacy),
		cmocka_unit_test(test_validate_zero_count),
		cmocka_unit_test(test_validate_every_flip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
