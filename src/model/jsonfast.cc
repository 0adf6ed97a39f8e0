// json_loadb through simdjson's DOM (see jsonfast.h). jansson reads a character at a time through a stream and
// a string buffer; simdjson validates the text (UTF-8, numbers, literals, structure) in bulk, and the tree is then
// built with jansson's unchecked constructors (the text is already known to be valid UTF-8). Anything on which the
// two could disagree makes build() give up, and the text goes to json_loadb, which then accepts or reports it as
// it always did.
#include "model/jsonfast.h"

#include <cstring>
#include <memory>
#include <simdjson.h>

using namespace simdjson;

static_assert(JSONFAST_PADDING >= SIMDJSON_PADDING, "JSONFAST_PADDING is simdjson's padding");

namespace {

// Documents up to this size reuse one parser per thread (its buffers stay allocated); larger ones get their own.
constexpr size_t KEEP_PARSER_BYTES = 4u << 20;

bool has_nul(std::string_view s)
{
	return memchr(s.data(), 0, s.size()) != nullptr;
}

// The tree for e, or NULL: give up (or out of memory).
json_t *build(dom::element e)
{
	switch (e.type()) {
	case dom::element_type::ARRAY: {
		dom::array arr;
		json_t *a = e.get_array().get(arr) ? nullptr : json_array();
		if (!a)
			return nullptr;
		for (dom::element x : arr) {
			json_t *v = build(x);
			if (!v || json_array_append_new(a, v) < 0) {
				json_decref(a);
				return nullptr;
			}
		}
		return a;
	}
	case dom::element_type::OBJECT: {
		dom::object obj;
		json_t *o = e.get_object().get(obj) ? nullptr : json_object();
		if (!o)
			return nullptr;
		for (dom::key_value_pair kv : obj) {
			size_t before = json_object_size(o);
			json_t *v = has_nul(kv.key) ? nullptr : build(kv.value); // jansson refuses NUL in keys
			/* a repeated key replaces the value: the size tells (jansson refuses it, JSON_REJECT_DUPLICATES) */
			if (!v || json_object_setn_new_nocheck(o, kv.key.data(), kv.key.size(), v) < 0 ||
			    json_object_size(o) == before) {
				json_decref(o);
				return nullptr;
			}
		}
		return o;
	}
	case dom::element_type::INT64:
		return json_integer(e.get_int64().value_unsafe());
	case dom::element_type::UINT64:
		return nullptr; // above INT64_MAX: jansson's "too big integer"
	case dom::element_type::DOUBLE:
		// only a number written with '.' or an exponent is a double in both; simdjson refuses infinities
		return json_real(e.get_double().value_unsafe());
	case dom::element_type::STRING: {
		std::string_view s = e.get_string().value_unsafe();
		if (has_nul(s)) // "\u0000": jansson refuses it without JSON_ALLOW_NUL
			return nullptr;
		return json_stringn_nocheck(s.data(), s.size());
	}
	case dom::element_type::BOOL:
		return json_boolean(e.get_bool().value_unsafe());
	case dom::element_type::NULL_VALUE:
		return json_null();
	}
	return nullptr;
}

// An escaped UTF-16 surrogate (\uD800-\uDFFF) anywhere: jansson's pairing rules decide, not simdjson's.
bool has_escaped_surrogate(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	while ((p = static_cast<const char *>(memchr(p, '\\', size_t(end - p)))) && end - p >= 4) {
		if (p[1] == 'u' && (p[2] == 'd' || p[2] == 'D') && p[3] && strchr("89abcdefABCDEF", p[3]))
			return true;
		p += p[1] == '\\' ? 2 : 1;
	}
	return false;
}

} // namespace

extern "C" json_t *jsonfast_loadb(const char *buf, size_t len, size_t padding, json_error_t *err)
{
	static thread_local std::unique_ptr<dom::parser> kept;
	std::unique_ptr<dom::parser> own;
	dom::parser *parser;
	if (len <= KEEP_PARSER_BYTES) {
		if (!kept)
			kept.reset(new (std::nothrow) dom::parser());
		parser = kept.get();
	} else {
		own.reset(new (std::nothrow) dom::parser());
		parser = own.get();
	}
	dom::element root;
	json_t *t = nullptr;
	if (parser && !has_escaped_surrogate(buf, len) &&
	    !parser->parse(buf, len, padding < SIMDJSON_PADDING).get(root) && (root.is_object() || root.is_array()))
		t = build(root);
	return t ? t : json_loadb(buf, len, JSON_REJECT_DUPLICATES, err);
}
