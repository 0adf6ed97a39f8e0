// simdjson On-Demand scan of a Service Tags file; see tagscan.h. No DOM is built: stage 1 validates the whole
// text (UTF-8, control characters, the string/structure boundaries), then one pass visits every value, the
// ones we use and the ones we do not, so that every number, literal and nesting is checked as jansson would.
// Strings are taken in place (no unescaping, no copy): a string with a backslash escape gives the file to the
// jansson reader. Exceptions are off: every access checks. To agree with the jansson reader on every file it
// accepts, the scan gives up (returns -1) on anything that reader would reject or might read differently: a
// repeated key (in any object), a missing or mistyped field, an escape, an integer outside int64, a trailing
// value.
#include "model/tagscan.h"
#include "model/svarray.h"

#include <cstring>
#include <simdjson.h>

using namespace simdjson;

namespace {

struct scanner {
	const char *end; // the end of the text (stage 1 guarantees every string closes before it)
	sv_array prefixes; // the current entry's, reused
};

// The text of a string token at p (just after its opening quote), when it holds no escape.
bool plain_text(const scanner &sc, const char *p, std::string_view *out)
{
	const char *q = static_cast<const char *>(memchr(p, '"', (size_t)(sc.end - p)));
	if (!q || memchr(p, '\\', (size_t)(q - p)))
		return false;
	*out = std::string_view(p, (size_t)(q - p));
	return true;
}

bool string_of(const scanner &sc, ondemand::value v, std::string_view *out)
{
	ondemand::raw_json_string r;
	return !v.get_raw_json_string().get(r) && plain_text(sc, r.raw(), out);
}

// A prefix string, the hot path: its text from the token's extent (up to the next structural character, less
// whitespace), without looking for the end again. An escape is left in: no escaped text is a prefix that
// cidr_parse accepts, so such a file goes to the jansson reader, which unescapes.
bool prefix_text(ondemand::value v, std::string_view *out)
{
	std::string_view tok = v.raw_json_token();
	size_t n = tok.size();
	while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == '\t'))
		n--;
	if (n < 2 || tok[0] != '"' || tok[n - 1] != '"')
		return false;
	*out = tok.substr(1, n - 2);
	return true;
}

// Keys seen in one object, to refuse a repeated one (jansson: JSON_REJECT_DUPLICATES).
struct keyset {
	std::string_view k[32];
	size_t n = 0;
	bool add(std::string_view key)
	{
		for (size_t i = 0; i < n; i++)
			if (k[i] == key)
				return false;
		if (n == sizeof(k) / sizeof(k[0]))
			return false;
		k[n++] = key;
		return true;
	}
};

// The next field of an object: its key (unique so far) and value.
bool field_of(const scanner &sc, simdjson_result<ondemand::field> &&fr, keyset &keys, std::string_view *key,
	      ondemand::value *v)
{
	ondemand::field f;
	if (std::move(fr).get(f) || !plain_text(sc, f.key().raw(), key) || !keys.add(*key))
		return false;
	*v = f.value();
	return true;
}

// A number as jansson reads it: an integer literal within int64, or a finite real.
bool valid_number(ondemand::value v)
{
	std::string_view tok = v.raw_json_token();
	bool real = tok.find_first_of(".eE") != std::string_view::npos;
	if (real) {
		double d;
		return !v.get_double().get(d) && d - d == 0;
	}
	int64_t i;
	return !v.get_int64().get(i);
}

bool valid_any(const scanner &sc, ondemand::value v);

bool valid_object(const scanner &sc, ondemand::object o)
{
	keyset keys;
	for (auto fr : o) {
		std::string_view k;
		ondemand::value v;
		if (!field_of(sc, std::move(fr), keys, &k, &v) || !valid_any(sc, v))
			return false;
	}
	return true;
}

// Visit a value we do not use, checking it all the same.
bool valid_any(const scanner &sc, ondemand::value v)
{
	ondemand::json_type t;
	if (v.type().get(t))
		return false;
	switch (t) {
	case ondemand::json_type::object: {
		ondemand::object o;
		return !v.get_object().get(o) && valid_object(sc, o);
	}
	case ondemand::json_type::array: {
		ondemand::array a;
		if (v.get_array().get(a))
			return false;
		for (auto er : a) {
			ondemand::value e;
			if (er.get(e) || !valid_any(sc, e))
				return false;
		}
		return true;
	}
	case ondemand::json_type::string: {
		std::string_view s;
		return string_of(sc, v, &s);
	}
	case ondemand::json_type::number:
		return valid_number(v);
	case ondemand::json_type::boolean: {
		bool b;
		return !v.get_bool().get(b);
	}
	case ondemand::json_type::null: {
		bool n;
		return !v.is_null().get(n) && n;
	}
	}
	return false;
}

// A string member that may be null (read as ""); false when of another type or escaped.
bool opt_string(const scanner &sc, ondemand::value v, std::string_view *out)
{
	bool n;
	*out = "";
	if (!v.is_null().get(n) && n)
		return true;
	return string_of(sc, v, out);
}

// changeNumber: an integer as jansson reads it (json_is_integer), else -1; checked like any value.
bool change_number(const scanner &sc, ondemand::value v, long long *out)
{
	ondemand::json_type t;
	int64_t i;
	*out = -1;
	if (v.type().get(t))
		return false;
	if (t != ondemand::json_type::number)
		return valid_any(sc, v);
	if (!valid_number(v))
		return false;
	std::string_view tok = v.raw_json_token();
	if (tok.find_first_of(".eE") == std::string_view::npos && !v.get_int64().get(i))
		*out = i;
	return true;
}

int scan_props(scanner &sc, ondemand::object props, std::string_view *region, std::string_view *svc,
	       long long *change, bool *have_prefixes)
{
	keyset keys;
	for (auto fr : props) {
		std::string_view k;
		ondemand::value v;
		if (!field_of(sc, std::move(fr), keys, &k, &v))
			return -1;
		if (k == "region") {
			if (!opt_string(sc, v, region))
				return -1;
		} else if (k == "systemService") {
			if (!opt_string(sc, v, svc))
				return -1;
		} else if (k == "changeNumber") {
			if (!change_number(sc, v, change))
				return -1;
		} else if (k == "addressPrefixes") {
			ondemand::array a;
			if (v.get_array().get(a))
				return -1;
			for (auto er : a) {
				ondemand::value e;
				std::string_view s;
				if (er.get(e) || !prefix_text(e, &s))
					return -1;
				if (!sc.prefixes.push(s))
					return -1; // read again by jsonin, which reports it (tags.c)
			}
			*have_prefixes = true;
		} else if (!valid_any(sc, v)) {
			return -1;
		}
	}
	return 0;
}

int scan_entry(scanner &sc, ondemand::value item, const struct tagscan_ops *ops, void *ctx)
{
	ondemand::object e;
	std::string_view name, region = "", svc = ""; // absent: "" (never a null pointer)
	long long change = -1;
	bool have_name = false, have_props = false, have_prefixes = false;
	keyset keys;
	sc.prefixes.clear();
	if (item.get_object().get(e))
		return -1;
	for (auto fr : e) {
		std::string_view k;
		ondemand::value v;
		if (!field_of(sc, std::move(fr), keys, &k, &v))
			return -1;
		if (k == "name") {
			if (!string_of(sc, v, &name) || name.empty())
				return -1;
			have_name = true;
		} else if (k == "properties") {
			ondemand::object props;
			if (v.get_object().get(props) || scan_props(sc, props, &region, &svc, &change, &have_prefixes))
				return -1;
			have_props = true;
		} else if (!valid_any(sc, v)) {
			return -1;
		}
	}
	if (!have_name || !have_props || !have_prefixes)
		return -1;
	if (ops->begin(ctx, name.data(), name.size(), region.data(), region.size(), svc.data(), svc.size(), change,
		       sc.prefixes.size()))
		return -1;
	for (std::string_view s : sc.prefixes)
		if (ops->prefix(ctx, s.data(), s.size()))
			return -1;
	return ops->end(ctx);
}

} // namespace

extern "C" int tagscan(const char *buf, size_t len, const struct tagscan_ops *ops, void *ctx)
{
	ondemand::parser parser;
	ondemand::document doc;
	ondemand::object root;
	scanner sc = { buf + len, {} };
	long long change = -1;
	bool have_values = false;
	keyset keys;
	if (len == 0 || parser.iterate(buf, len, len + TAGSCAN_PADDING).get(doc) || doc.get_object().get(root))
		return -1;
	for (auto fr : root) {
		std::string_view k;
		ondemand::value v;
		if (!field_of(sc, std::move(fr), keys, &k, &v))
			return -1;
		if (k == "values") {
			ondemand::array values;
			if (v.get_array().get(values))
				return -1;
			for (auto er : values) {
				ondemand::value item;
				if (er.get(item) || scan_entry(sc, item, ops, ctx))
					return -1;
			}
			have_values = true;
		} else if (k == "changeNumber") {
			if (!change_number(sc, v, &change))
				return -1;
		} else if (!valid_any(sc, v)) {
			return -1;
		}
	}
	// Nothing may follow the object (current_location is out of bounds only at the end).
	const char *after;
	if (!have_values || !doc.current_location().get(after))
		return -1;
	if (ops->file_change && ops->file_change(ctx, change))
		return -1;
	return 0;
}

// ---- page faults: simdjson's index buffer on huge pages ----
// simdjson allocates its buffers with new (std::nothrow) T[capacity]: for the 4 MB tags file, a 16 MB array
// of structural indexes of which it writes about 1 MB, one 4 KiB page fault at a time (some 270 faults,
// about 10 us each on the VMs we measure). The program's array new/delete are replaced (a replaceable
// allocation function, [new.delete]) so that such large arrays come from bigfile_anon: 2 MiB-aligned,
// huge pages, one fault per 2 MiB. Every other array is malloc'd and freed as libstdc++ does.
#include <mutex>
#include <new>
#include <sys/mman.h>

#include "model/bigfile.h"

namespace {

const size_t big_array = (size_t)8 << 20;

struct big_block {
	void *p;
	size_t maplen;
};
big_block big[16];
std::mutex big_lock;

void *new_array(size_t n)
{
	if (n >= big_array) {
		std::lock_guard<std::mutex> g(big_lock);
		for (big_block &b : big)
			if (!b.p) {
				size_t maplen;
				void *p = bigfile_anon(n, &maplen);
				if (!p)
					break;
				b = { p, maplen };
				return p;
			}
	}
	return malloc(n ? n : 1);
}

void delete_array(void *p) noexcept
{
	if (!p)
		return;
	{
		std::lock_guard<std::mutex> g(big_lock);
		for (big_block &b : big)
			if (b.p == p) {
				munmap(b.p, b.maplen);
				b = { nullptr, 0 };
				return;
			}
	}
	free(p);
}

} // namespace

void *operator new[](size_t n, const std::nothrow_t &) noexcept
{
	return new_array(n);
}

void *operator new[](size_t n)
{
	void *p = new_array(n);
	if (!p)
		abort(); // exceptions are off: as std::bad_alloc would end the program
	return p;
}

void operator delete[](void *p) noexcept
{
	delete_array(p);
}

void operator delete[](void *p, size_t) noexcept
{
	delete_array(p);
}

void operator delete[](void *p, const std::nothrow_t &) noexcept
{
	delete_array(p);
}
