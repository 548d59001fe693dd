/* The coordinators' internal topics; see internal_topics.h. */
#include "meta/internal_topics.h"

#include <stdio.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "meta/topics.h"

int meta_internal_topic_open(struct meta_topics *topics, const char *name, int32_t partitions, int64_t segment_bytes,
			     const char *compression, const char *log_module, struct meta_topic **out)
{
	struct meta_topic *topic = meta_topic_get(topics, name);
	if (!topic) {
		char segment[32];
		snprintf(segment, sizeof(segment), "%lld", (long long)segment_bytes);
		const char *keys[] = {"cleanup.policy", "segment.bytes", "compression.type"};
		const char *values[] = {"compact", segment, compression};
		char errmsg[ERRMSG_SIZE];
		int64_t t0 = clock_mono_ms();
		int rc = meta_topic_create(topics, name, partitions, 1, compression ? 3 : 2, keys, values, false,
					   errmsg);
		if (rc < 0 && rc != -SAMSA_EEXIST) {
			log_error(log_module, "cannot create %s: %s", name, errmsg);
			return rc;
		}
		topic = meta_topic_get(topics, name);
		if (!topic)
			return -SAMSA_ENOTFOUND;
		if (rc == 0)
			log_info(log_module, "created %s with %d partitions in %lld ms", name, topic->partition_count,
				 (long long)(clock_mono_ms() - t0));
	}
	*out = topic;
	return 0;
}

int32_t meta_internal_partition_for(const char *id, int32_t partitions)
{
	uint32_t h = 0;
	const uint8_t *s = (const uint8_t *)id;
	while (*s) {
		uint32_t cp;
		int extra;
		if (s[0] < 0x80) {
			cp = s[0];
			extra = 0;
		} else if ((s[0] & 0xe0) == 0xc0) {
			cp = s[0] & 0x1f;
			extra = 1;
		} else if ((s[0] & 0xf0) == 0xe0) {
			cp = s[0] & 0x0f;
			extra = 2;
		} else if ((s[0] & 0xf8) == 0xf0) {
			cp = s[0] & 0x07;
			extra = 3;
		} else {
			cp = 0xfffd;
			extra = -1;
		}
		int i = 1;
		for (; i <= extra; i++) {
			if ((s[i] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (extra < 0 || i <= extra) { /* malformed: one replacement char per byte, as Java decodes */
			cp = 0xfffd;
			i = 1;
		}
		s += i;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			h = 31 * h + (0xd800 + (cp >> 10));
			h = 31 * h + (0xdc00 + (cp & 0x3ff));
		} else {
			h = 31 * h + cp;
		}
	}
	int32_t v = (int32_t)h;
	int32_t a = v == INT32_MIN ? 0 : (v < 0 ? -v : v);
	return partitions > 0 ? a % partitions : 0;
}
