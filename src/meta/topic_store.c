/* Topic definitions as small properties files, one per topic. */
#include "meta/topic_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/xalloc.h"

#define TOPIC_STORE_DIR "__samsa_meta"
#define TOPIC_STORE_SUFFIX ".properties"

static char *store_path(const char *data_dir, const char *name, const char *suffix)
{
	char *path;
	if (asprintf(&path, "%s/" TOPIC_STORE_DIR "%s%s%s", data_dir, name ? "/" : "", name ? name : "",
		     suffix) < 0)
		abort();
	return path;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_record(FILE *f, const char *name, struct topic_record *rec, char errmsg[ERRMSG_SIZE])
{
	char line[4096];
	bool have_id = false;
	memset(rec, 0, sizeof(*rec));
	rec->name = xstrdup(name);
	rec->partition_count = -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char *key = line, *value = eq + 1;
		if (strcmp(key, "topic.id") == 0 && strlen(value) == 32) {
			have_id = true;
			for (int i = 0; i < 16; i++) {
				int hi = hex_digit(value[2 * i]), lo = hex_digit(value[2 * i + 1]);
				if (hi < 0 || lo < 0)
					have_id = false;
				rec->id[i] = (uint8_t)(hi << 4 | lo);
			}
		} else if (strcmp(key, "partitions") == 0) {
			rec->partition_count = atoi(value);
		} else if (strncmp(key, "config.", 7) == 0) {
			rec->config_keys = xrealloc(rec->config_keys, (size_t)(rec->config_count + 1) * sizeof(char *));
			rec->config_values = xrealloc(rec->config_values, (size_t)(rec->config_count + 1) * sizeof(char *));
			rec->config_keys[rec->config_count] = xstrdup(key + 7);
			rec->config_values[rec->config_count] = xstrdup(value);
			rec->config_count++;
		}
	}
	if (!have_id || rec->partition_count < 1) {
		err_printf(errmsg, "topic definition for %s is missing topic.id or partitions", name);
		return -SAMSA_ECORRUPT;
	}
	return 0;
}

int topic_store_load_all(const char *data_dir, struct topic_record **out, char errmsg[ERRMSG_SIZE])
{
	*out = NULL;
	char *dir_path = store_path(data_dir, NULL, "");
	DIR *dir = opendir(dir_path);
	if (!dir) {
		int rc = errno == ENOENT ? 0 : -errno;
		if (rc)
			err_printf(errmsg, "cannot read %s: %s", dir_path, strerror(errno));
		free(dir_path);
		return rc;
	}
	struct topic_record *recs = NULL;
	int count = 0, rc = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name), slen = strlen(TOPIC_STORE_SUFFIX);
		if (len <= slen || strcmp(de->d_name + len - slen, TOPIC_STORE_SUFFIX) != 0)
			continue;
		char *name = xstrndup(de->d_name, len - slen);
		char *path = store_path(data_dir, name, TOPIC_STORE_SUFFIX);
		FILE *f = fopen(path, "r");
		if (!f) {
			err_printf(errmsg, "cannot read %s: %s", path, strerror(errno));
			rc = -errno;
		} else {
			recs = xrealloc(recs, (size_t)(count + 1) * sizeof(*recs));
			rc = parse_record(f, name, &recs[count], errmsg);
			count++;
			fclose(f);
		}
		free(path);
		free(name);
		if (rc < 0)
			break;
	}
	closedir(dir);
	free(dir_path);
	if (rc < 0) {
		topic_store_records_free(recs, count);
		return rc;
	}
	*out = recs;
	return count;
}

void topic_store_records_free(struct topic_record *recs, int count)
{
	for (int i = 0; i < count; i++) {
		for (int j = 0; j < recs[i].config_count; j++) {
			free(recs[i].config_keys[j]);
			free(recs[i].config_values[j]);
		}
		free(recs[i].config_keys);
		free(recs[i].config_values);
		free(recs[i].name);
	}
	free(recs);
}

/* Writes content to __samsa_meta/<file> atomically: tmp + fsync + rename +
 * directory fsync. what names it in errmsg. */
static int store_write(const char *data_dir, const char *file, const char *what, const char *content, size_t len,
		       char errmsg[ERRMSG_SIZE])
{
	char *dir = store_path(data_dir, NULL, "");
	char *tmp = store_path(data_dir, file, ".tmp");
	char *path = store_path(data_dir, file, "");
	int rc = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		err_printf(errmsg, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		err_printf(errmsg, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	size_t done = 0;
	while (done < len && rc == 0) {
		ssize_t w = write(fd, content + done, len - done);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			done += (size_t)w;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		err_printf(errmsg, "cannot store %s: %s", what, strerror(-rc));
		unlink(tmp);
		goto out;
	}
	rc = fs_fsync_dir(dir);
	if (rc < 0)
		err_printf(errmsg, "cannot sync %s: %s", dir, strerror(-rc));
out:
	free(dir);
	free(tmp);
	free(path);
	return rc;
}

int topic_store_save(const char *data_dir, const struct topic_record *rec, char errmsg[ERRMSG_SIZE])
{
	char *content = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&content, &len);
	if (!f)
		abort();
	fprintf(f, "topic.id=");
	for (int i = 0; i < 16; i++)
		fprintf(f, "%02x", rec->id[i]);
	fprintf(f, "\npartitions=%d\n", rec->partition_count);
	for (int i = 0; i < rec->config_count; i++)
		fprintf(f, "config.%s=%s\n", rec->config_keys[i], rec->config_values[i]);
	fclose(f);
	char file[300], what[300];
	snprintf(file, sizeof(file), "%s" TOPIC_STORE_SUFFIX, rec->name);
	snprintf(what, sizeof(what), "topic %s", rec->name);
	int rc = store_write(data_dir, file, what, content, len, errmsg);
	free(content);
	return rc;
}

#define BROKER_STORE_FILE "broker.config"
static const char *const broker_layer_prefix[] = {"default.", "broker."};

int topic_store_load_broker(const char *data_dir, struct broker_config_entry **out, char errmsg[ERRMSG_SIZE])
{
	*out = NULL;
	char *path = store_path(data_dir, BROKER_STORE_FILE, "");
	FILE *f = fopen(path, "r");
	if (!f) {
		int rc = errno == ENOENT ? 0 : -errno;
		if (rc)
			err_printf(errmsg, "cannot read %s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	struct broker_config_entry *entries = NULL;
	int count = 0;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) >= 0) {
		line[strcspn(line, "\r\n")] = '\0';
		char *eq = strchr(line, '=');
		if (!line[0] || line[0] == '#' || !eq)
			continue;
		*eq = '\0';
		for (int layer = 0; layer < 2; layer++) {
			size_t plen = strlen(broker_layer_prefix[layer]);
			if (strncmp(line, broker_layer_prefix[layer], plen) != 0 || !line[plen])
				continue;
			entries = xrealloc(entries, (size_t)(count + 1) * sizeof(*entries));
			entries[count].layer = (enum config_layer)layer;
			entries[count].key = xstrdup(line + plen);
			entries[count].value = xstrdup(eq + 1);
			count++;
			break;
		}
	}
	free(line);
	fclose(f);
	free(path);
	*out = entries;
	return count;
}

void topic_store_broker_free(struct broker_config_entry *entries, int count)
{
	for (int i = 0; i < count; i++) {
		free(entries[i].key);
		free(entries[i].value);
	}
	free(entries);
}

int topic_store_save_broker(const char *data_dir, const struct broker_config_entry *entries, int count,
			    char errmsg[ERRMSG_SIZE])
{
	char *content = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&content, &len);
	if (!f)
		abort();
	fprintf(f, "# Dynamic broker configs (AlterConfigs, IncrementalAlterConfigs); samsa rewrites this file.\n");
	for (int i = 0; i < count; i++)
		fprintf(f, "%s%s=%s\n", broker_layer_prefix[entries[i].layer == CONFIG_LAYER_BROKER],
			entries[i].key, entries[i].value);
	fclose(f);
	int rc = store_write(data_dir, BROKER_STORE_FILE, "dynamic broker configs", content, len, errmsg);
	free(content);
	return rc;
}

int topic_store_remove(const char *data_dir, const char *name)
{
	char *path = store_path(data_dir, name, TOPIC_STORE_SUFFIX);
	int rc = unlink(path) < 0 ? -errno : 0;
	free(path);
	if (rc == 0) {
		char *dir = store_path(data_dir, NULL, "");
		rc = fs_fsync_dir(dir);
		free(dir);
	}
	if (rc < 0)
		log_error("meta", "cannot remove definition of topic %s: %s", name, strerror(-rc));
	return rc;
}
