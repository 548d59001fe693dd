/* The internal-error -> wire-error mapping every handler relies on. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/err.h"
#include "kafka/errors.h"
#include "proto/gen/errors.h"

static void test_mapping(void **state)
{
	(void)state;
	assert_int_equal(kafka_error_from_err(0), KERR_NONE);
	assert_int_equal(kafka_error_from_err(-SAMSA_ECORRUPT), KERR_CORRUPT_MESSAGE);
	assert_int_equal(kafka_error_from_err(-SAMSA_ETOOLARGE), KERR_MESSAGE_TOO_LARGE);
	assert_int_equal(kafka_error_from_err(-SAMSA_ENOTFOUND), KERR_UNKNOWN_TOPIC_OR_PARTITION);
	assert_int_equal(kafka_error_from_err(-SAMSA_ERANGE), KERR_OFFSET_OUT_OF_RANGE);
	assert_int_equal(kafka_error_from_err(-SAMSA_EEXIST), KERR_TOPIC_ALREADY_EXISTS);
	assert_int_equal(kafka_error_from_err(-SAMSA_EINVAL_CONFIG), KERR_INVALID_CONFIG);
	assert_int_equal(kafka_error_from_err(-ENOTSUP), KERR_UNSUPPORTED_COMPRESSION_TYPE);
	assert_int_equal(kafka_error_from_err(-ENOSPC), KERR_KAFKA_STORAGE_ERROR);
	assert_int_equal(kafka_error_from_err(-EIO), KERR_KAFKA_STORAGE_ERROR);
	assert_int_equal(kafka_error_from_err(-EROFS), KERR_KAFKA_STORAGE_ERROR);
	assert_int_equal(kafka_error_from_err(-ENOMEM), KERR_UNKNOWN_SERVER_ERROR);
	/* The wire codes are Kafka's numbers. */
	assert_int_equal(KERR_CORRUPT_MESSAGE, 2);
	assert_int_equal(KERR_OFFSET_OUT_OF_RANGE, 1);
	assert_int_equal(KERR_KAFKA_STORAGE_ERROR, 56);
	assert_int_equal(KERR_TOPIC_ALREADY_EXISTS, 36);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
