#include "model/jsonin.h"

#include <errno.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "model/jsonfast.h"

bool jsonin_out_of_memory(const json_error_t *err)
{
	return errno == ENOMEM || json_error_code(err) == json_error_out_of_memory;
}

void jsonin_load_error(struct diag *d, const json_error_t *err)
{
	if (jsonin_out_of_memory(err))
		diag_oom(d, NULL);
	else
		diag_err(d, NULL, "line %d, column %d: %s", err->line, err->column, err->text);
}

/* buf is readable up to len + padding (jsonfast.h: with JSONFAST_PADDING it is not copied). */
static json_t *parse(const char *buf, size_t len, size_t padding, struct diag *d)
{
	json_error_t err;
	if (len == 0) {
		diag_err(d, NULL, "empty file, expected a JSON object");
		return NULL;
	}
	json_t *root = jsonfast_loadb(buf, len, padding, &err); /* json_loadb's tree and errors, faster */
	if (!root) {
		jsonin_load_error(d, &err);
		return NULL;
	}
	if (!json_is_object(root)) {
		diag_err(d, NULL, "expected a JSON object at the top level, found %s", jsonin_typename(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

json_t *jsonin_load_buf(const char *buf, size_t len, struct diag *d)
{
	return parse(buf, len, 0, d);
}

/* A read that failed for want of memory says so as every reader does (diag_oom); another names its cause. */
static void read_error(struct diag *d, int err)
{
	if (err == ENOMEM)
		diag_oom(d, NULL);
	else
		diag_err(d, NULL, "cannot read: %s", strerror(err));
}

/* A gzip file (RFC 1952 magic 1f 8b), inflated whole: at most max_bytes of JSON however small the file.
 * gzread keeps the reading bounded; concatenated members are read as one stream, as gunzip does. */
static char *read_gzip(FILE *f, size_t max_bytes, size_t padding, size_t *len, struct diag *d)
{
	int fd = dup(fileno(f));
	gzFile z = fd >= 0 ? gzdopen(fd, "rb") : NULL;
	size_t cap = 1u << 20, n = 0;
	char *buf = NULL;
	if (!z) {
		int err = errno; /* gzdopen leaves it ENOMEM when zlib cannot allocate its state */
		if (fd >= 0)
			close(fd);
		read_error(d, err);
		return NULL;
	}
	for (;;) {
		if (n == cap || !buf) {
			char *nb = n == cap ? realloc(buf, (cap *= 2) + padding + 1) : malloc(cap + padding + 1);
			if (!nb) {
				diag_oom(d, NULL);
				goto fail;
			}
			buf = nb;
		}
		size_t want = cap - n;
		int got = gzread(z, buf + n, want > INT_MAX ? INT_MAX : (unsigned)want);
		if (got < 0) {
			int zerr;
			const char *msg = gzerror(z, &zerr);
			if (zerr == Z_MEM_ERROR || (zerr == Z_ERRNO && errno == ENOMEM))
				diag_oom(d, NULL);
			else
				diag_err(d, NULL, "not a valid gzip file: %s", zerr == Z_ERRNO ? strerror(errno) : msg);
			goto fail;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max_bytes) {
			diag_err(d, NULL, "inflates to more than %zu MiB; at most that is accepted for this kind of file",
				 max_bytes >> 20);
			goto fail;
		}
	}
	gzclose(z);
	memset(buf + n, 0, padding + 1);
	*len = n;
	return buf;
fail:
	gzclose(z);
	free(buf);
	return NULL;
}

char *jsonin_read_file(const char *path, size_t max_bytes, size_t padding, size_t *len, struct diag *d)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	unsigned char magic[2];
	char *buf = NULL;
	if (!f) {
		if (errno == ENOMEM) /* fopen's own allocation */
			diag_oom(d, NULL);
		else
			diag_err(d, NULL, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		diag_err(d, NULL, "not a regular file");
		goto out;
	}
	if (fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		rewind(f);
		buf = read_gzip(f, max_bytes, padding, len, d);
		goto out;
	}
	rewind(f);
	if ((size_t)st.st_size > max_bytes) {
		diag_err(d, NULL, "file is %lld bytes; at most %zu MiB are accepted for this kind of file",
			 (long long)st.st_size, max_bytes >> 20);
		goto out;
	}
	*len = (size_t)st.st_size;
	buf = calloc(1, *len + padding + 1);
	if (!buf || fread(buf, 1, *len, f) != *len) {
		read_error(d, buf ? errno : ENOMEM);
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	return buf;
}

json_t *jsonin_load_file(const char *path, size_t max_bytes, struct diag *d)
{
	size_t len;
	char *buf = jsonin_read_file(path, max_bytes, JSONFAST_PADDING, &len, d);
	json_t *root = buf ? parse(buf, len, JSONFAST_PADDING, d) : NULL;
	free(buf);
	return root;
}

const char *jsonin_typename(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Both build a path for every field read: plain copies rather than snprintf, the same text, cut to n - 1 bytes as
 * snprintf cuts it. */
static size_t put(char *buf, size_t n, size_t at, const char *s, size_t len)
{
	if (at + 1 >= n)
		return at;
	if (len > n - 1 - at)
		len = n - 1 - at;
	memcpy(buf + at, s, len);
	return at + len;
}

const char *jsonin_path(char *buf, size_t n, const char *path, const char *key)
{
	size_t lp = strlen(path), at;
	if (!n)
		return buf;
	at = put(buf, n, 0, path, lp);
	if (lp)
		at = put(buf, n, at, ".", 1);
	at = put(buf, n, at, key, strlen(key));
	buf[at] = 0;
	return buf;
}

const char *jsonin_index(char *buf, size_t n, const char *path, size_t i)
{
	char num[24], *d = num + sizeof(num);
	size_t at;
	if (!n)
		return buf;
	*--d = ']';
	do
		*--d = (char)('0' + i % 10);
	while (i /= 10);
	*--d = '[';
	at = put(buf, n, 0, path, strlen(path));
	at = put(buf, n, at, d, (size_t)(num + sizeof(num) - d));
	buf[at] = 0;
	return buf;
}

static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return v && !json_is_null(v) ? v : NULL;
}

static int wrong(json_t *v, const char *path, const char *key, const char *want, struct diag *d)
{
	char p[512];
	diag_err(d, jsonin_path(p, sizeof(p), path, key), "expected %s, found %s", want, jsonin_typename(v));
	return -1;
}

int jsonin_str(json_t *obj, const char *path, const char *key, const char **out, struct diag *d)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return wrong(v, path, key, "a string", d);
	*out = json_string_value(v);
	return 1;
}

int jsonin_int(json_t *obj, const char *path, const char *key, long long *out, struct diag *d)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return wrong(v, path, key, "an integer", d);
	*out = json_integer_value(v);
	return 1;
}

int jsonin_arr(json_t *obj, const char *path, const char *key, json_t **out, struct diag *d)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_array(v))
		return wrong(v, path, key, "an array", d);
	*out = v;
	return 1;
}

void jsonin_free(void *p)
{
	json_malloc_t m;
	json_free_t f;
	json_get_alloc_funcs(&m, &f);
	f(p);
}

static bool keep_trees;

void jsonin_keep_trees(bool on)
{
	keep_trees = on;
}

void jsonin_drop(json_t *t)
{
	if (!keep_trees)
		json_decref(t);
}

static _Atomic unsigned long alloc_failures;

void *jsonin_malloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		jsonin_alloc_failed();
	return p;
}

void jsonin_watch_allocs(void)
{
	json_set_alloc_funcs(jsonin_malloc, free);
}

void jsonin_alloc_failed(void)
{
	atomic_fetch_add_explicit(&alloc_failures, 1, memory_order_relaxed);
}

unsigned long jsonin_alloc_failures(void)
{
	return atomic_load_explicit(&alloc_failures, memory_order_relaxed);
}

char *jsonin_dumps(const json_t *j, size_t flags)
{
	unsigned long before = jsonin_alloc_failures();
	char *s = json_dumps(j, flags);
	if (s && jsonin_alloc_failures() != before) {
		jsonin_free(s);
		return NULL;
	}
	return s;
}
