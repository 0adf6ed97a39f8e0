// json_loadb through simdjson's DOM (see jsonfast.h). jansson reads a character at a time through a stream and
// a string buffer; simdjson validates the text (UTF-8, numbers, literals, structure) in bulk, and the tree is then
// built with jansson's unchecked constructors (the text is already known to be valid UTF-8). Anything on which the
// two could disagree makes build() give up, and the text goes to json_loadb, which then accepts or reports it as
// it always did.
#include "model/jsonfast.h"
#include "model/svarray.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <strings.h>
#include <memory>
#include <pthread.h>
#include <simdjson.h>

using namespace simdjson;

static_assert(JSONFAST_PADDING >= SIMDJSON_PADDING, "JSONFAST_PADDING is simdjson's padding");

namespace {

// Documents up to this size reuse one parser per thread (its buffers stay allocated); larger ones get their own.
constexpr size_t KEEP_PARSER_BYTES = 4u << 20;

// An allocation of this thread's build() or check() failed: the text is not given to json_loadb, whose lexer
// drops a character it has no memory to save and then reads past the end of what it saved (jansson 2.14's lex_save
// leaves strbuffer_append_byte unchecked: a SIGSEGV under an address-space limit). A plain thread_local (nothing
// to destroy, nothing registered).
thread_local bool short_of_memory;

json_t *no_memory()
{
	short_of_memory = true;
	return nullptr;
}

bool has_nul(std::string_view s)
{
	return memchr(s.data(), 0, s.size()) != nullptr;
}

// Would json_loadb read e as it is, with nothing of it kept? (A left-out subtree, see jsonfast_prune.)
bool check(dom::element e)
{
	switch (e.type()) {
	case dom::element_type::ARRAY: {
		dom::array arr;
		if (e.get_array().get(arr))
			return false;
		for (dom::element x : arr)
			if (!check(x))
				return false;
		return true;
	}
	case dom::element_type::OBJECT: {
		dom::object obj;
		if (e.get_object().get(obj))
			return false;
		// repeated keys: pairs compared for an object of a usual size (on the stack), sorted for a larger one
		constexpr size_t FEW = 32;
		std::string_view few[FEW];
		sv_array many;
		size_t n = 0;
		for (dom::key_value_pair kv : obj) {
			if (has_nul(kv.key) || !check(kv.value))
				return false;
			if (n == FEW)
				for (std::string_view s : few)
					if (!many.push(s))
						return short_of_memory = true, false;
			if (n < FEW)
				few[n] = kv.key;
			else if (!many.push(kv.key))
				return short_of_memory = true, false;
			n++;
		}
		if (n <= FEW) { // each pair, lengths first: cheaper than sorting a few dozen keys, which mostly differ in length
			for (size_t i = 1; i < n; i++)
				for (size_t j = 0; j < i; j++)
					if (few[i].size() == few[j].size() && few[i] == few[j])
						return false;
			return true;
		}
		std::sort(many.begin(), many.end());
		return std::adjacent_find(many.begin(), many.end()) == many.end();
	}
	case dom::element_type::UINT64:
		return false;
	case dom::element_type::STRING:
		return !has_nul(e.get_string().value_unsafe());
	default:
		return true;
	}
}

// The paths being followed down the tree: each points at its next segment (nullptr: the path ends here), with its
// rule.
constexpr size_t MAX_FOLLOWED = 16;
struct followed {
	const char *const *seg[MAX_FOLLOWED];
	const struct jsonfast_prune *rule[MAX_FOLLOWED];
	size_t n = 0;
};

// The paths of f that go on into the member (key) or array element (nullptr) below. One that ends there: the child
// is left out (*leave), or, for a rule with stub_key, may become null (*stub, that rule).
followed step(const followed &f, const std::string_view *key, bool *leave, const struct jsonfast_prune **stub)
{
	followed c;
	*leave = false;
	*stub = nullptr;
	for (size_t i = 0; i < f.n; i++) {
		const char *s = *f.seg[i];
		bool any = !strcmp(s, "*"); // array elements only: a member named "*" is not one
		if (key ? any || *key != s : !any)
			continue;
		if (f.seg[i][1]) {
			c.rule[c.n] = f.rule[i];
			c.seg[c.n++] = f.seg[i] + 1;
		} else if (f.rule[i]->stub_key) {
			*stub = f.rule[i];
		} else {
			*leave = true;
		}
	}
	return c;
}

// Does the rule make x null: an object whose stub_key is a string beginning with none of keep_prefixes, with none
// of keep_keys?
bool stubbed(dom::element x, const struct jsonfast_prune *rule)
{
	dom::object obj;
	std::string_view t;
	dom::element v;
	if (x.get_object().get(obj) || obj.at_key(rule->stub_key).get(v) || v.get_string().get(t))
		return false;
	for (const char *const *k = rule->keep_prefixes; k && *k; k++)
		if (t.size() >= strlen(*k) && !strncasecmp(t.data(), *k, strlen(*k)))
			return false;
	for (const char *const *k = rule->keep_keys; k && *k; k++)
		if (!obj.at_key(*k).error())
			return false;
	return true;
}

// The tree for e, or NULL: give up (or out of memory). f: the left-out paths that lead into e.
json_t *build(dom::element e, const followed &f)
{
	bool leave = false;
	const struct jsonfast_prune *stub = nullptr;
	switch (e.type()) {
	case dom::element_type::ARRAY: {
		dom::array arr;
		if (e.get_array().get(arr))
			return nullptr;
		json_t *a = json_array();
		if (!a)
			return no_memory();
		followed c = f.n ? step(f, nullptr, &leave, &stub) : followed();
		for (dom::element x : arr) {
			bool to_null = f.n && !leave && stub && stubbed(x, stub);
			if (f.n && (leave || to_null) && !check(x)) {
				json_decref(a);
				return nullptr;
			}
			if (f.n && leave)
				continue;
			json_t *v = to_null ? json_null() : build(x, c);
			if (!v || json_array_append_new(a, v) < 0) {
				json_decref(a);
				return v ? no_memory() : nullptr;
			}
		}
		return a;
	}
	case dom::element_type::OBJECT: {
		dom::object obj;
		if (e.get_object().get(obj))
			return nullptr;
		json_t *o = json_object();
		std::string_view left[MAX_FOLLOWED]; // the keys left out here, for repeats of them
		size_t nleft = 0;
		if (!o)
			return no_memory();
		for (dom::key_value_pair kv : obj) {
			size_t before = json_object_size(o);
			followed c = f.n ? step(f, &kv.key, &leave, &stub) : followed(); // members are never stubs
			if (f.n && leave) {
				bool again = false;
				for (size_t i = 0; i < nleft; i++)
					again |= left[i] == kv.key;
				if (again || nleft == MAX_FOLLOWED || json_object_getn(o, kv.key.data(), kv.key.size()) ||
				    has_nul(kv.key) || !check(kv.value)) {
					json_decref(o);
					return nullptr;
				}
				left[nleft++] = kv.key;
				continue;
			}
			for (size_t i = 0; i < nleft; i++)
				if (left[i] == kv.key) {
					json_decref(o);
					return nullptr;
				}
			json_t *v = has_nul(kv.key) ? nullptr : build(kv.value, c); // jansson refuses NUL in keys
			/* a repeated key replaces the value: the size tells (jansson refuses it, JSON_REJECT_DUPLICATES) */
			if (!v) {
				json_decref(o);
				return nullptr;
			}
			if (json_object_setn_new_nocheck(o, kv.key.data(), kv.key.size(), v) < 0) { // the key has no NUL
				json_decref(o);
				return no_memory();
			}
			if (json_object_size(o) == before) {
				json_decref(o);
				return nullptr;
			}
		}
		return o;
	}
	case dom::element_type::INT64: {
		json_t *v = json_integer(e.get_int64().value_unsafe());
		return v ? v : no_memory();
	}
	case dom::element_type::UINT64:
		return nullptr; // above INT64_MAX: jansson's "too big integer"
	case dom::element_type::DOUBLE: {
		// only a number written with '.' or an exponent is a double in both; simdjson refuses infinities
		json_t *v = json_real(e.get_double().value_unsafe());
		return v ? v : no_memory();
	}
	case dom::element_type::STRING: {
		std::string_view s = e.get_string().value_unsafe();
		if (has_nul(s)) // "\u0000": jansson refuses it without JSON_ALLOW_NUL
			return nullptr;
		json_t *v = json_stringn_nocheck(s.data(), s.size());
		return v ? v : no_memory();
	}
	case dom::element_type::BOOL:
		return json_boolean(e.get_bool().value_unsafe());
	case dom::element_type::NULL_VALUE:
		return json_null();
	}
	return nullptr;
}

// The paths of the rules whose conditions the root meets.
followed rules_met(dom::element root, const struct jsonfast_prune *rules, size_t nrules)
{
	followed f;
	dom::object obj;
	if (root.get_object().get(obj))
		return f;
	for (size_t r = 0; r < nrules; r++) {
		bool met = true;
		dom::element v;
		for (const char *const *k = rules[r].has; k && *k && met; k++)
			met = !obj.at_key(*k).get(v) && !v.is_null();
		for (const char *const *k = rules[r].objects; k && *k && met; k++)
			met = !obj.at_key(*k).get(v) && v.is_object();
		for (const char *const *const *p = rules[r].paths; met && *p; p++)
			if (**p && f.n < MAX_FOLLOWED) {
				f.rule[f.n] = &rules[r];
				f.seg[f.n++] = *p;
			}
	}
	return f;
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

extern "C" json_t *jsonfast_loadb(const char *buf, size_t len, size_t padding, json_error_t *err)
{
	return jsonfast_loadb_pruned(buf, len, padding, nullptr, 0, err);
}

// This thread's parser for documents up to KEEP_PARSER_BYTES (its buffers stay allocated), freed when the thread
// ends. Held by a pthread key, not a thread_local object: a thread_local with a destructor registers it
// (__cxa_thread_atexit) at its first use in a thread, and when that allocation fails glibc aborts the program; a
// key's destructor runs at the end of every thread without one.
pthread_key_t kept_key;
pthread_once_t kept_once = PTHREAD_ONCE_INIT;

void free_kept(void *p)
{
	delete static_cast<dom::parser *>(p);
}

void make_kept_key()
{
	if (pthread_key_create(&kept_key, free_kept))
		kept_key = (pthread_key_t)-1;
}

// NULL when there is none and no memory for one (the caller makes its own).
dom::parser *kept_parser()
{
	pthread_once(&kept_once, make_kept_key);
	if (kept_key == (pthread_key_t)-1)
		return nullptr;
	auto *p = static_cast<dom::parser *>(pthread_getspecific(kept_key));
	if (!p && (p = new (std::nothrow) dom::parser()) && pthread_setspecific(kept_key, p)) {
		delete p;
		p = nullptr;
	}
	return p;
}

void drop_kept(dom::parser *p)
{
	pthread_setspecific(kept_key, nullptr);
	delete p;
}

} // namespace

extern "C" void jsonfast_init(void)
{
	(void)get_active_implementation()->name(); // the CPU's implementation, chosen on first use (it may throw)
}

extern "C" json_t *jsonfast_loadb_pruned(const char *buf, size_t len, size_t padding,
					 const struct jsonfast_prune *rules, size_t nrules, json_error_t *err)
{
	std::unique_ptr<dom::parser> own;
	dom::parser *kept = len <= KEEP_PARSER_BYTES ? kept_parser() : nullptr, *parser = kept;
	if (!parser) {
		own.reset(new (std::nothrow) dom::parser());
		parser = own.get();
	}
	dom::element root;
	json_t *t = nullptr;
	short_of_memory = !parser;
	if (parser && !has_escaped_surrogate(buf, len)) {
		error_code e = parser->parse(buf, len, padding < SIMDJSON_PADDING).get(root);
		if (e) {
			// A parse that failed may leave the parser unfit for the next one: in simdjson 3.0.1, when its depth
			// stacks cannot be allocated it keeps its capacity with null stacks, which the next parse writes
			// through. A new one is made next time.
			if (kept)
				drop_kept(kept);
			short_of_memory = e == MEMALLOC;
		} else if (root.is_object() || root.is_array()) {
			t = build(root, rules_met(root, rules, nrules));
		}
	}
	if (t)
		return t;
	if (short_of_memory) { // not to json_loadb (see short_of_memory): out of memory, as jsonin_load_error tells
		if (err) { // NULL as json_loadb allows
			*err = json_error_t{};
			err->line = err->column = -1;
			snprintf(err->text, sizeof(err->text), "out of memory");
			err->text[JSON_ERROR_TEXT_LENGTH - 1] = json_error_out_of_memory; // where json_error_code() reads it
		}
		errno = ENOMEM;
		return nullptr;
	}
	errno = 0; // set by a failed allocation above; the caller asks it whether json_loadb ran out of memory
	return json_loadb(buf, len, JSON_REJECT_DUPLICATES, err);
}
