// The position of a value in a JSON text (see jsonloc.h), with simdjson On Demand: the JSON path becomes an
// RFC 6901 pointer, and the value found there reports where it starts in the original buffer.
#include "model/jsonloc.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <simdjson.h>

using namespace simdjson;

// "a.b[3].c" → "/a/b/3/c" (keys with '~' or '/' are escaped as RFC 6901 asks), into p of at least
// 2 * strlen(path) + 2 bytes (each character gives at most two, and the first segment a '/' more). No std::string: its
// std::bad_alloc would end the program (-fno-exceptions).
static void pointer(const char *path, char *p)
{
	for (const char *s = path; *s;) {
		if (*s == '.') {
			s++;
			continue;
		}
		*p++ = '/';
		if (*s == '[') {
			for (s++; *s && *s != ']'; s++)
				*p++ = *s;
			if (*s)
				s++;
			continue;
		}
		for (; *s && *s != '.' && *s != '['; s++) {
			if (*s == '~' || *s == '/')
				*p++ = '~';
			*p++ = *s == '~' ? '0' : *s == '/' ? '1' : *s;
		}
	}
	*p = 0;
}

static void line_col(const char *buf, const char *at, int *line, int *col)
{
	*line = *col = 1;
	for (const char *p = buf; p < at; p++) {
		if (*p == '\n') {
			++*line;
			*col = 1;
		} else {
			++*col;
		}
	}
}

extern "C" int jsonloc(const char *buf, size_t len, const char *path, struct jsonloc_region *r)
{
	*r = { 1, 1, 1, 1 };
	ondemand::parser parser;
	ondemand::document doc;
	ondemand::value v;
	ondemand::json_type t;
	std::string_view raw;
	char *ptr = static_cast<char *>(malloc(2 * strlen(path) + 2));
	if (!ptr)
		return -2;
	pointer(path, ptr);
	error_code e = parser.iterate(buf, len, len + JSONLOC_PADDING).get(doc);
	if (!e)
		e = doc.at_pointer(ptr).get(v);
	free(ptr);
	if (e == MEMALLOC)
		return -2;
	if (e || v.type().get(t))
		return -1;
	/* objects and arrays know their whole text; a scalar, its token */
	bool bad = false;
	if (t == ondemand::json_type::object) {
		ondemand::object o;
		bad = v.get_object().get(o) || o.raw_json().get(raw);
	} else if (t == ondemand::json_type::array) {
		ondemand::array a;
		bad = v.get_array().get(a) || a.raw_json().get(raw);
	} else {
		raw = v.raw_json_token();
	}
	if (bad || raw.empty() || raw.data() < buf || raw.data() + raw.size() > buf + len)
		return -1;
	while (raw.size() > 1 && isspace((unsigned char)raw.back()))
		raw.remove_suffix(1);
	line_col(buf, raw.data(), &r->start_line, &r->start_column);
	line_col(buf, raw.data() + raw.size() - 1, &r->end_line, &r->end_column);
	return 0;
}
