/* libFuzzer: reading a Service Tags file from disk, the whole way (tagdb_load_file: the mapped or inflated
 * quick reader of bigfile.c, the simdjson scan, the arena) against the reader that reports every error
 * (jsonin_read_file + jsonin_load_buf + tagdb_load_json). The input is the file's bytes, plain or gzip: the quick
 * reader must give jsonin's bytes whenever it takes a file, and the loaded tags must be the same, or both must
 * fail. abort() when they disagree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/bigfile.h"
#include "model/jsonin.h"
#include "model/tags.h"
#include "model/tagscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("fuzz-tags", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();

	/* 1. the bytes: the quick reader's are jsonin's, followed by zeros */
	struct diag d = { .out = NULL, .file = "fuzz" };
	size_t len = 0;
	char *buf = jsonin_read_file(path, TAGS_MAX_BYTES, TAGSCAN_PADDING, &len, &d);
	struct bigfile tf;
	if (bigfile_open(&tf, path, TAGS_MAX_BYTES, TAGSCAN_PADDING) == 0) {
		if (!buf || tf.len != len || memcmp(tf.text, buf, len))
			abort();
		for (size_t i = 0; i < TAGSCAN_PADDING; i++)
			if (tf.text[len + i])
				abort();
		bigfile_close(&tf);
	}

	/* 2. the tags: tagdb_load_file against the jansson reader on jsonin's bytes */
	struct tagdb fast = { 0 }, slow = { 0 };
	struct diag df = { .out = NULL, .file = "fuzz" }, ds = { .out = NULL, .file = "fuzz" };
	int okf = tagdb_load_file(&fast, path, &df) == 0;
	json_t *root = buf ? jsonin_load_buf(buf, len, &ds) : NULL;
	int oks = root && tagdb_load_json(&slow, root, path, &ds) == 0;
	json_decref(root);
	if (okf != oks || okf != (df.errors == 0) || (!buf && df.errors == 0))
		abort();
	if (okf) {
		if (fast.n != slow.n)
			abort();
		for (size_t i = 0; i < fast.n; i++) {
			const struct service_tag *a = &fast.v[i], *b = &slow.v[i];
			if (strcmp(a->name, b->name) || strcmp(a->region, b->region) ||
			    strcmp(a->system_service, b->system_service) || a->change_number != b->change_number ||
			    a->nprefixes != b->nprefixes || !ipset_equal(&a->set, &b->set) ||
			    tagdb_find(&fast, a->name) != a)
				abort();
			for (size_t k = 0; k < a->nprefixes; k++)
				if (a->prefixes[k].lo != b->prefixes[k].lo || a->prefixes[k].hi != b->prefixes[k].hi ||
				    a->prefixes[k].len != b->prefixes[k].len || a->prefixes[k].v4 != b->prefixes[k].v4)
					abort();
		}
		if (tagdb_file_change(&fast, path) != tagdb_file_change(&slow, path))
			abort();
	}
	tagdb_free(&fast);
	tagdb_free(&slow);
	free(buf);
	return 0;
}
